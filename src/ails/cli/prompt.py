"""Reading what the user types in ``ails chat``: line editing, input history, blocks.

The standard library's ``readline`` gives line editing and the arrow keys
(and is absent on Windows, where plain ``input()`` is used). What was typed
is kept across sessions in ``$AILS_HOME/input_history`` (0600), unless the
session does not log. A block of several lines starts with ``\"\"\"`` and ends
at a line ending with ``\"\"\"``.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from types import ModuleType

__all__ = ["BLOCK", "PROMPT", "LineReader"]

PROMPT = "you> "
MORE = "...> "
BLOCK = '"""'
#: Lines of input history kept across sessions.
HISTORY_LENGTH = 1000


def _readline() -> ModuleType | None:
    try:
        import readline
    except ImportError:  # pragma: no cover - Windows
        return None
    return readline


class LineReader:
    """Reads one question (or command) at a time; ``EOFError`` on Ctrl-D."""

    def __init__(self, history_file: Path | None) -> None:
        self._history_file = history_file
        self._readline = _readline()
        if self._readline is not None and history_file is not None and history_file.exists():
            with contextlib.suppress(OSError):  # an unreadable history is not worth failing for
                self._readline.read_history_file(history_file)
        if self._readline is not None:
            self._readline.set_history_length(HISTORY_LENGTH)

    def read(self) -> str:
        """The next input; a ``\"\"\"`` block is returned as one text."""
        line = input(PROMPT)
        if not line.lstrip().startswith(BLOCK):
            return line
        rest = line.lstrip()[len(BLOCK) :]
        lines: list[str] = []
        while not rest.rstrip().endswith(BLOCK):
            lines.append(rest)
            rest = input(MORE)
        lines.append(rest.rstrip()[: -len(BLOCK)])
        return "\n".join(lines).strip("\n")

    def save(self) -> None:
        """Keep the input history for the next session (mode 0600)."""
        if self._readline is None or self._history_file is None:
            return
        with contextlib.suppress(OSError):
            self._history_file.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
            # Created (or narrowed) to 0600 before readline writes a line of
            # it: readline would create it 0644 and leave it so for a moment.
            fd = os.open(self._history_file, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                os.fchmod(fd, 0o600)
            finally:
                os.close(fd)
            self._readline.write_history_file(self._history_file)
