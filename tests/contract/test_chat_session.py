"""The interactive ``ails chat`` in a pseudo-terminal, as a person would use it.

The CLI runs as a real process whose controlling terminal is a pty: keys go
in as bytes (``\\x03`` is Ctrl-C, ``\\x04`` Ctrl-D), a terminal emulator (pyte)
shows what the user would see, and the test waits for it; FakeServer's
records show what went over the wire and whether the client hung up.
Nothing sleeps.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from ails.testing.fixtures import builtin_fixtures
from ails.testing.server import FakeServer

from .screen_support import Screen, environment

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    stall = builtin_fixtures()["stall-mid-body"]  # two tokens, then silence
    fixtures = {"stall": attrs.evolve(stall, name="stall", match=re.compile(r"\bstall\b"))}
    with FakeServer(delay_scale=0.0, fixtures=fixtures) as running:
        yield running


def text_of(server: FakeServer, fixture: str) -> str:
    return str(server.fixtures[fixture].expect["text"])


def test_a_session_from_start_to_end(server: FakeServer, tmp_path: Path) -> None:
    env = environment(tmp_path / "home")
    start = len(server.requests)
    term = Screen(["chat", "--base-url", server.url], env)
    try:
        first_short = term.expect(r"conversation ([0-9a-f]{12}) · server http://127")[1]
        term.expect_prompt()

        # Two turns: the second request carries the first exchange.
        term.type("hello there\r")
        term.expect(re.escape(text_of(server, "en-greeting")))
        term.expect_prompt()
        term.type("show me code\r")
        term.expect(r"print\(i\)")
        term.expect_prompt()
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
        term.expect(r"interrupted: the partial answer is kept")
        term.expect_prompt()
        stalled = server.requests[-1]
        assert stalled.fixture == "stall"
        assert stalled.disconnected.wait(10), "the server did not see the client hang up"

        # Ctrl-C at the prompt clears the line and sends nothing.
        term.type("never sent")
        term.expect("you> never sent")
        term.type("\x03")
        term.expect_prompt()

        # A block of several lines, sent as one question.
        term.type('"""\rline one\rline two"""\r')
        term.expect(r"\.\.\.> line two\"\"\"")
        term.expect_prompt()
        assert server.requests[-1].json["messages"][-1]["content"] == "line one\nline two"
        # The interrupted exchange was not sent as context.
        contents = [m["content"] for m in server.requests[-1].json["messages"]]
        assert "please stall now" not in contents
        assert "never sent" not in contents
        assert len(contents) == 5

        term.type("/history\r")
        term.expect(r"please stall now \[incomplete: interrupted\]")
        term.expect_prompt()

        # /new starts afresh: no history on the wire.
        term.type("/new\r")
        second_id = term.expect(r"new conversation ([0-9a-f]{32})")[1]
        assert not second_id.startswith(first_short)
        term.expect_prompt()
        term.type("hello again\r")
        term.expect(r"you> hello again\n(.*\n)*Hello!")
        term.expect_prompt()
        assert server.requests[-1].json["messages"] == [{"role": "user", "content": "hello again"}]

        # Ctrl-D leaves with status 0 and names the conversation in a short line.
        term.type("\x04")
        farewell = term.expect(rf"saved {second_id[:12]}; go on with: ails chat -c")
        assert len(farewell[0]) < 60
        assert term.wait() == 0
        assert b"Traceback" not in term.raw
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
    (first_id,) = [id for id in listed if id.startswith(first_short)]
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
    term = Screen(["chat", "--base-url", server.url_for("not-found")], environment(tmp_path))
    try:
        term.expect_prompt()
        term.type("hi\r")
        term.expect(r"ails: HTTPStatusError: HTTP 404[^\n]*\n")
        term.expect_prompt()
        term.type("/nope\r")
        term.expect("unknown command /nope")
        term.expect_prompt()
        term.type("/exit\r")
        term.expect("saved")
        assert term.wait() == 0
    finally:
        term.close()


def test_no_log_saves_nothing(server: FakeServer, tmp_path: Path) -> None:
    env = environment(tmp_path)
    term = Screen(["chat", "--base-url", server.url, "--no-log"], env)
    try:
        term.expect_prompt()
        term.type("hello\r")
        term.expect("Hello!")
        term.expect_prompt()
        term.type("\x04")
        term.expect("was not saved")
        assert term.wait() == 0
    finally:
        term.close()
    assert not (tmp_path / "history.db").exists()
    assert not (tmp_path / "input_history").exists()


def test_an_empty_session_says_nothing_was_saved(server: FakeServer, tmp_path: Path) -> None:
    term = Screen(["chat", "--base-url", server.url], environment(tmp_path))
    try:
        term.expect_prompt()
        term.type("/exit\r")
        term.expect("nothing was saved: no question was asked")
        assert term.wait() == 0
    finally:
        term.close()


def test_the_environment_switch_is_named(server: FakeServer, tmp_path: Path) -> None:
    env = environment(tmp_path)
    env["AILS_NO_LOG"] = "1"
    term = Screen(["chat", "--base-url", server.url], env)
    try:
        term.expect_prompt()
        term.type("\x04")
        term.expect(r"was not saved \(AILS_NO_LOG\)")
        assert term.wait() == 0
    finally:
        term.close()
    assert not (tmp_path / "history.db").exists()
