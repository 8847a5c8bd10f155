"""Reading what the user types in ``ails chat``: line editing, input history, blocks.

On a terminal :class:`PromptReader` (prompt_toolkit) reads: a pasted block
is one question (bracketed paste), so are several lines that arrive at once
(a terminal without bracketed paste, or lines typed while an answer
streamed); Tab completes ``/commands``; wide characters and emoji sequences
take the columns the terminal gives them; Alt-Enter starts a new line; a
``\"\"\"`` block is one question and one history entry. :class:`LineReader`
(the standard library's ``readline``, or plain ``input()`` on Windows) is
the fallback when prompt_toolkit is not installed.

What was typed is kept across sessions in ``$AILS_HOME/input_history``
(0600), unless the session does not log.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

__all__ = ["BLOCK", "PROMPT", "LineReader", "PromptReader", "Reader", "reader_for"]

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


class Reader(Protocol):
    """What the session reads questions with."""

    def read(self) -> str:
        """The next question or command; ``EOFError`` on Ctrl-D, ``KeyboardInterrupt`` on Ctrl-C."""
        ...

    def save(self) -> None:
        """Keep the input history for the next session."""
        ...


def unblock(text: str) -> str:
    """A ``\"\"\"`` block's text without its quotes; other text as typed."""
    stripped = text.strip()
    if stripped.startswith(BLOCK):
        inner = stripped[len(BLOCK) :]
        if inner.rstrip().endswith(BLOCK):
            inner = inner.rstrip()[: -len(BLOCK)]
        return inner.strip("\n")
    return text


def _open_block(text: str) -> bool:
    stripped = text.strip()
    return stripped.startswith(BLOCK) and (
        len(stripped) < 2 * len(BLOCK) or not stripped.endswith(BLOCK)
    )


def _private_file(path: Path) -> None:
    """Create ``path`` (and its folder) 0600 before anything writes to it."""
    path.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def _key_bindings() -> KeyBindings:
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.keys import Keys

    bindings = KeyBindings()

    def more_keys_waiting(event: KeyPressEvent) -> bool:
        # Keys that came in the same read as this Enter (a paste without
        # bracketed paste, or lines typed while an answer streamed) are
        # still queued: the Enter was not the end of the question.
        queue = event.app.key_processor.input_queue
        return any(press.key != Keys.CPRResponse for press in queue)

    @bindings.add("enter")
    def _enter(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        if _open_block(buffer.text) or more_keys_waiting(event):
            buffer.insert_text("\n")
        else:
            buffer.validate_and_handle()

    @bindings.add("escape", "enter")
    def _new_line(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    return bindings


class PromptReader:
    """Reads questions with prompt_toolkit; ``EOFError`` on Ctrl-D, ``KeyboardInterrupt`` on Ctrl-C.

    ``commands`` are the ``/command`` names Tab completes.
    """

    def __init__(self, history_file: Path | None, commands: Iterable[str] = ()) -> None:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.completion import WordCompleter
        from prompt_toolkit.history import FileHistory, InMemoryHistory

        history: Any = InMemoryHistory()
        if history_file is not None:
            with contextlib.suppress(OSError):  # an unwritable history is not worth failing for
                _private_file(history_file)
                history = FileHistory(str(history_file))
        self._session: PromptSession[str] = PromptSession(
            history=history,
            # The whole line is the word: only a /command at its start completes.
            completer=WordCompleter(sorted(commands), sentence=True),
            complete_while_typing=False,
            key_bindings=_key_bindings(),
            multiline=True,
            prompt_continuation=lambda width, line, wrap: MORE.rjust(width),
            enable_history_search=False,
        )

    def read(self) -> str:
        """The next question: a paste, a ``\"\"\"`` block or lines typed at once are one."""
        return unblock(self._session.prompt(PROMPT))

    def save(self) -> None:
        """Nothing to do: each question was appended to the history file as it was asked."""


def reader_for(history_file: Path | None, commands: Iterable[str]) -> Reader:
    """The best reader this installation has: prompt_toolkit's, else readline's."""
    try:
        import prompt_toolkit  # noqa: F401 - only whether it is installed
    except ImportError:  # pragma: no cover - prompt_toolkit is a dependency of ails
        return LineReader(history_file)
    return PromptReader(history_file, commands)


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
