"""The interactive ``ails chat`` in a pseudo-terminal, as a person would use it.

The CLI runs as a real process whose controlling terminal is a pty: keys go
in as bytes (``\\x03`` is Ctrl-C, ``\\x04`` Ctrl-D) and the test waits for what
appears on the screen; FakeServer's records show what went over the wire and
whether the client hung up. Nothing sleeps.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from ails.testing.fixtures import builtin_fixtures
from ails.testing.server import FakeServer

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")

PROMPT = "you> "
# setsid, then opening the tty makes it the controlling terminal, so the
# terminal's Ctrl-C reaches the CLI as SIGINT (no fork in this threaded process).
LAUNCH = (
    "import os, sys\n"
    "os.close(os.open(os.ttyname(0), os.O_RDWR))\n"
    "from ails.cli.main import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    stall = builtin_fixtures()["stall-mid-body"]  # two tokens, then silence
    fixtures = {"stall": attrs.evolve(stall, name="stall", match=re.compile(r"\bstall\b"))}
    with FakeServer(delay_scale=0.0, fixtures=fixtures) as running:
        yield running


class Terminal:
    """A process on a pseudo-terminal: type into it, wait for what it shows."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.master, slave = os.openpty()
        # A real size: readline misbehaves on a 0x0 terminal.
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 200, 0, 0))
        self.process = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, *argv],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        self.screen = ""
        self.seen = 0

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def expect(self, pattern: str, timeout: float = 20.0) -> re.Match[str]:
        """Wait until ``pattern`` (a regex) shows after what earlier calls matched."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            found = regex.search(self.screen, self.seen)
            if found:
                self.seen = found.end()
                return found
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"never saw {pattern!r}; the screen:\n{self.screen[-2000:]}"
            ready, _, _ = select.select([self.master], [], [], remaining)
            if ready:
                try:
                    data = os.read(self.master, 65536)
                except OSError:  # EIO: the process exited and the pty closed
                    data = b""
                assert data, f"the CLI exited before {pattern!r}:\n{self.screen[-2000:]}"
                self.screen += data.decode("utf-8", "replace").replace("\r\n", "\n")

    def wait(self, timeout: float = 20.0) -> int:
        try:
            while select.select([self.master], [], [], timeout)[0]:
                data = os.read(self.master, 65536)
                if not data:
                    break
                self.screen += data.decode("utf-8", "replace").replace("\r\n", "\n")
        except OSError:
            pass  # EIO once the process is gone
        return self.process.wait(timeout)

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
        os.close(self.master)


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AILS_")}
    env.update(AILS_HOME=str(home), TERM="dumb", PYTHONUTF8="1", LC_ALL="C.UTF-8")
    return env


def text_of(server: FakeServer, fixture: str) -> str:
    return str(server.fixtures[fixture].expect["text"])


def test_a_session_from_start_to_end(server: FakeServer, tmp_path: Path) -> None:
    env = environment(tmp_path / "home")
    start = len(server.requests)
    term = Terminal(["chat", "--base-url", server.url], env)
    try:
        first_id = term.expect(r"conversation ([0-9a-f]{32})\n")[1]
        term.expect(PROMPT)

        # Two turns: the second request carries the first exchange.
        term.type("hello there\r")
        term.expect(re.escape(text_of(server, "en-greeting")) + r"\n")
        term.expect(PROMPT)
        term.type("show me code\r")
        term.expect(re.escape(text_of(server, "code")) + r"\n")
        term.expect(PROMPT)
        second = server.requests[-1]
        assert second.rejection is None
        assert second.json["messages"] == [
            {"role": "user", "content": "hello there"},
            {"role": "assistant", "content": text_of(server, "en-greeting")},
            {"role": "user", "content": "show me code"},
        ]

        # Ctrl-C mid-answer: back at the prompt, and the connection is closed.
        term.type("please stall now\r")
        term.expect("The answer")
        term.type("\x03")
        term.expect(r"interrupted")
        term.expect(PROMPT)
        stalled = server.requests[-1]
        assert stalled.fixture == "stall"
        assert stalled.disconnected.wait(10), "the server did not see the client hang up"

        # (Ctrl-C at the prompt is tested in tests/unit/test_chat_commands.py:
        # CPython's readline notices a SIGINT that lands between two keys
        # only at the next key, a race a test typing at machine speed hits.)

        # A block of several lines, sent as one question.
        term.type('"""\rline one\rline two"""\r')
        term.expect(PROMPT)
        assert server.requests[-1].json["messages"][-1]["content"] == "line one\nline two"
        # The interrupted exchange was not sent as context.
        contents = [m["content"] for m in server.requests[-1].json["messages"]]
        assert "please stall now" not in contents
        assert len(contents) == 5

        term.type("/history\r")
        term.expect(r"please stall now \[incomplete: KeyboardInterrupt\]")
        term.expect(PROMPT)

        # /new starts afresh: no history on the wire.
        term.type("/new\r")
        second_id = term.expect(r"new conversation ([0-9a-f]{32})")[1]
        assert second_id != first_id
        term.expect(PROMPT)
        term.type("hello again\r")
        term.expect(re.escape(text_of(server, "en-greeting")))
        term.expect(PROMPT)
        assert server.requests[-1].json["messages"] == [{"role": "user", "content": "hello again"}]

        # Ctrl-D leaves with status 0 and names the conversation.
        term.type("\x04")
        term.expect(rf"conversation {second_id} saved")
        assert term.wait() == 0
        assert "Traceback" not in term.screen
    finally:
        term.close()
    assert len(server.requests) - start == 5

    # ails logs --json shows both conversations.
    logs = subprocess.run(
        [sys.executable, "-m", "ails", "logs", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    listed = {item["id"]: item for item in json.loads(logs.stdout)}
    assert listed[first_id]["turns"] == 8  # two answers, the interrupted pair, the block
    assert listed[first_id]["title"] == "hello there"
    assert listed[second_id]["turns"] == 2

    # ails chat -c continues the latest conversation, one-shot.
    again = subprocess.run(
        [sys.executable, "-m", "ails", "chat", "--base-url", server.url, "-c", "show me code"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert again.returncode == 0, again.stderr
    assert server.requests[-1].json["messages"] == [
        {"role": "user", "content": "hello again"},
        {"role": "assistant", "content": text_of(server, "en-greeting")},
        {"role": "user", "content": "show me code"},
    ]
    shown = subprocess.run(
        [sys.executable, "-m", "ails", "logs", "show", second_id[:10], "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert len(json.loads(shown.stdout)["messages"]) == 4
    assert (tmp_path / "home" / "input_history").read_text().count("hello") >= 2


def test_errors_are_one_line_and_the_session_goes_on(server: FakeServer, tmp_path: Path) -> None:
    term = Terminal(["chat", "--base-url", server.url_for("not-found")], environment(tmp_path))
    try:
        term.expect(PROMPT)
        term.type("hi\r")
        term.expect(r"ails: HTTPStatusError: HTTP 404[^\n]*\n")
        term.expect(PROMPT)
        term.type("/nope\r")
        term.expect("unknown command /nope")
        term.expect(PROMPT)
        term.type("/exit\r")
        term.expect("saved")
        assert term.wait() == 0
    finally:
        term.close()


def test_no_log_saves_nothing(server: FakeServer, tmp_path: Path) -> None:
    env = environment(tmp_path)
    term = Terminal(["chat", "--base-url", server.url, "--no-log"], env)
    try:
        term.expect(PROMPT)
        term.type("hello\r")
        term.expect(PROMPT)
        term.type("\x04")
        term.expect("was not saved")
        assert term.wait() == 0
    finally:
        term.close()
    assert not (tmp_path / "history.db").exists()
    assert not (tmp_path / "input_history").exists()


def test_an_empty_session_says_nothing_was_saved(server: FakeServer, tmp_path: Path) -> None:
    term = Terminal(["chat", "--base-url", server.url], environment(tmp_path))
    try:
        term.expect(PROMPT)
        term.type("/exit\r")
        term.expect("nothing was saved: no question was asked")
        assert term.wait() == 0
    finally:
        term.close()


def test_the_environment_switch_is_named(server: FakeServer, tmp_path: Path) -> None:
    env = environment(tmp_path)
    env["AILS_NO_LOG"] = "1"
    term = Terminal(["chat", "--base-url", server.url], env)
    try:
        term.expect(PROMPT)
        term.type("\x04")
        term.expect(r"was not saved \(AILS_NO_LOG\)")
        assert term.wait() == 0
    finally:
        term.close()
    assert not (tmp_path / "history.db").exists()
