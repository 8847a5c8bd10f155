"""A real terminal for the CLI's tests: a pty, and pyte reading the screen the user would see.

The CLI runs as a process whose controlling terminal is a pseudo-terminal
(so Ctrl-C is SIGINT and prompt_toolkit sees a tty); everything it writes is
fed to a pyte screen, which answers the cursor-position requests a real
terminal answers. Tests type bytes, paste with bracketed paste, and wait
(with a timeout, never a sleep) for the screen to show something.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

import pyte

PROMPT = "you> "
# setsid, then opening the tty makes it the controlling terminal, so the
# terminal's Ctrl-C reaches the CLI as SIGINT (no fork in this threaded process).
LAUNCH = (
    "import os, sys\n"
    "os.close(os.open(os.ttyname(1), os.O_RDWR))\n"
    "from ails.cli.main import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)
PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"
#: The line the session writes under each answer (model, tokens, time).
CLOSING_LINE = re.compile(
    rb"\xe2\x94\x80\xe2\x94\x80 [^\r\n]*? tokens? [^\r\n]*\xe2\x94\x80\xe2\x94\x80"
)


def environment(home: Path, **extra: str) -> dict[str, str]:
    """The CLI's environment: its own AILS_HOME, a colour terminal, UTF-8, no NO_COLOR."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AILS_", "PROMPT_TOOLKIT_")) and k not in ("NO_COLOR", "COLUMNS")
    }
    env.update(
        AILS_HOME=str(home), TERM="xterm-256color", PYTHONUTF8="1", LC_ALL="C.UTF-8", **extra
    )
    return env


class _Screen(pyte.Screen):
    """A pyte screen that answers the terminal's reports (cursor position) as a terminal does."""

    def __init__(self, columns: int, lines: int, reply: Callable[[str], None]) -> None:
        super().__init__(columns, lines)
        self._reply = reply

    def write_process_input(self, data: str) -> None:
        self._reply(data)


class Screen:
    """A CLI process on a pseudo-terminal of ``columns`` x ``lines``, and what it shows."""

    def __init__(
        self,
        argv: list[str],
        env: dict[str, str],
        *,
        columns: int = 100,
        lines: int = 60,
        stdin: int | None = None,
    ) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        self.screen = _Screen(columns, lines, self._reply)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = b""
        self.process = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, *argv],
            stdin=slave if stdin is None else stdin,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        self.exited = False
        self.answers = 0

    def _reply(self, data: str) -> None:
        os.write(self.master, data.encode())

    def type(self, keys: str) -> None:
        """Keys as a terminal sends them (``\\r`` is Enter, ``\\x03`` Ctrl-C, ``\\t`` Tab)."""
        os.write(self.master, keys.encode())

    def paste(self, text: str) -> None:
        """``text`` as a terminal in bracketed-paste mode sends a paste."""
        self.type(PASTE_START + text.replace("\n", "\r") + PASTE_END)

    @property
    def text(self) -> str:
        """What the screen shows, one line per row, trailing spaces dropped."""
        return "\n".join(line.rstrip() for line in self.screen.display).rstrip("\n")

    @property
    def cursor_line(self) -> str:
        return self.screen.display[self.screen.cursor.y]

    def _read(self, timeout: float) -> None:
        assert not self.exited, f"the CLI exited; the screen:\n{self.text}"
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the process exited and the pty closed
            data = b""
        if not data:
            self.exited = True
            return
        self.raw += data
        self.stream.feed(data)

    def wait_until(self, check: Callable[[], object], what: str, timeout: float = 20.0) -> None:
        """Read the terminal until ``check()`` is true, or fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not check():
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"never saw {what}; the screen:\n{self.text}"
            # Short reads: ``check`` may watch something else too (the fake server).
            self._read(min(remaining, 0.05))

    def expect(self, pattern: str, timeout: float = 20.0) -> re.Match[str]:
        """Wait until the screen shows ``pattern`` (a regex); the match."""
        regex = re.compile(pattern)
        found: list[re.Match[str]] = []

        def seen() -> bool:
            match = regex.search(self.text)
            if match:
                found.append(match)
            return match is not None

        self.wait_until(seen, repr(pattern), timeout)
        return found[-1]

    def expect_answer(self, timeout: float = 20.0) -> None:
        """Wait for the closing line of one more answer than the last call saw."""
        wanted = self.answers + 1
        self.wait_until(
            lambda: len(CLOSING_LINE.findall(self.raw)) >= wanted, "the line under an answer"
        )
        self.answers = wanted

    def expect_prompt(self, timeout: float = 20.0) -> None:
        """Wait until an empty prompt waits for input at the cursor."""

        def ready() -> bool:
            return self.cursor_line.rstrip() == PROMPT.rstrip() and self.screen.cursor.x == len(
                PROMPT
            )

        self.wait_until(ready, "an empty prompt at the cursor", timeout)

    def wait(self, timeout: float = 20.0) -> int:
        """Read until the process exits; its status."""
        deadline = time.monotonic() + timeout
        while not self.exited and time.monotonic() < deadline:
            self._read(deadline - time.monotonic())
        return self.process.wait(max(deadline - time.monotonic(), 1.0))

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
        os.close(self.master)
