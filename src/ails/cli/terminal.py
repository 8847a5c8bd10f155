"""What the ``ails`` command shows: tokens or JSON lines, and a spinner until the first token.

Text from the server (tokens, error messages quoting its body) reaches a
terminal only through :func:`sanitize_for_terminal`: an escape sequence in an
answer could otherwise retitle the terminal, rewrite the screen or (OSC 52)
set the clipboard. Piped output and ``--json`` keep the exact text.
"""

from __future__ import annotations

import json
import re
import threading
from types import TracebackType
from typing import Any, TextIO

from ails.domain.completion import Completion
from ails.domain.errors import AilsError

__all__ = [
    "CUT_NOTE",
    "JsonLinesOutput",
    "Spinner",
    "TextOutput",
    "closing_line",
    "completion_of",
    "for_stream",
    "is_terminal",
    "sanitize_for_terminal",
]

# C0 controls but tab and newline, DEL, and the C1 controls (U+0080-U+009F:
# U+009B is CSI and U+009D is OSC to many terminals).
_CONTROLS = {c: None for c in (*range(0x00, 0x20), *range(0x7F, 0xA0)) if c not in (0x09, 0x0A)}
# JSON leaves DEL and C1 unescaped (with ensure_ascii=False): escape them so a
# JSON line shown on a terminal is inert too; the decoded text is unchanged.
_JSON_RAW_CONTROLS = re.compile("[\x7f-\x9f]")


def sanitize_for_terminal(text: str) -> str:
    """``text`` without control characters other than newline and tab (C0, DEL, C1)."""
    return text.translate(_CONTROLS)


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal (a closed or odd stream counts as not)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def for_stream(text: str, stream: TextIO) -> str:
    """``text`` as it may be written to ``stream``: sanitized on a terminal, exact otherwise."""
    return sanitize_for_terminal(text) if is_terminal(stream) else text


def _escape_json_controls(line: str) -> str:
    return _JSON_RAW_CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", line)


#: Shown on a terminal after an answer that hit the token limit.
CUT_NOTE = "ails: the answer was cut: it reached the token limit (finish_reason=length)"


def completion_of(stream: Any) -> Completion:
    """The :class:`~ails.Completion` record of a finished stream (a client's or a conversation's).

    What the run wrote when the stream ended (``stream.completion``); the CLI
    keeps no copy of its own.
    """
    done: Completion | None = stream.completion
    if done is None:  # not ended: only a stream left before its end has none
        return Completion(model=stream.model, outcome="closed")
    return done


def closing_line(done: Completion, tokens: int) -> str:
    """The line under an answer on a terminal: who answered, how much, how fast, how it ended."""
    parts = [done.model or "answer"]
    count = done.usage.completion_tokens if done.usage is not None else tokens
    parts.append(f"{count} token{'s' if count != 1 else ''}")
    if done.time_to_first_token is not None:
        parts.append(f"first token in {done.time_to_first_token:.2f} s")
    if done.duration is not None:
        parts.append(f"{done.duration:.1f} s")
    if done.finish_reason == "length":
        parts.append("cut at the token limit")
    return "── " + " · ".join(parts) + " ──"


class Spinner:
    """A spinner on a terminal stream until :meth:`stop`; silent when it is not a TTY."""

    FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
    CLEAR = "\r\x1b[K"

    def __init__(
        self, stream: TextIO, *, label: str = "waiting for the first token", interval: float = 0.1
    ) -> None:
        self._stream = stream
        self._label = label
        self._interval = interval
        self._enabled = stream.isatty()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Spinner:
        if self._enabled:
            self._frame(0)
            self._thread = threading.Thread(target=self._spin, name="ails-spinner", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop spinning and erase the spinner line (idempotent, cheap once stopped)."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self._enabled:
            # A Ctrl-C may land while the thread starts: it may never have run.
            if self._thread is not None and self._thread.ident is not None:
                self._thread.join()
            self._stream.write(self.CLEAR)
            self._stream.flush()

    def _spin(self) -> None:
        index = 1
        while not self._stopped.wait(self._interval):
            self._frame(index)
            index += 1

    def _frame(self, index: int) -> None:
        frame = self.FRAMES[index % len(self.FRAMES)]
        self._stream.write(f"\r{frame} {self._label}")
        self._stream.flush()


class TextOutput:
    """Tokens as plain text, flushed one by one; control characters stripped on a terminal.

    ``notes`` gets one-line remarks (a cut answer).
    """

    def __init__(self, stream: TextIO, *, notes: TextIO | None = None) -> None:
        self._stream = stream
        self._notes = notes
        self._sanitize = is_terminal(stream)
        self.tokens = 0

    def token(self, text: str) -> None:
        """Show one token now."""
        self._stream.write(sanitize_for_terminal(text) if self._sanitize else text)
        self._stream.flush()
        self.tokens += 1

    def done(self, done: Completion, conversation_id: str | None = None) -> None:
        """End the answer with a newline; note it if it was cut at the token limit."""
        self._stream.write("\n")
        self._stream.flush()
        if done.finish_reason == "length" and self._notes is not None:
            print(CUT_NOTE, file=self._notes, flush=True)

    def error(self, error: BaseException) -> None:
        """End a partly shown answer's line; the caller reports the error on stderr."""
        if self.tokens:
            self._stream.write("\n")
        self._stream.flush()


class JsonLinesOutput:
    """One JSON object per line: ``token`` events, then ``done`` or ``error``.

    Every control character is written as a JSON escape (``json`` leaves DEL
    and C1 raw otherwise), so the lines are safe on a terminal and still
    decode to the exact text.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.tokens = 0

    def _line(self, event: dict[str, Any]) -> None:
        line = json.dumps(event, ensure_ascii=False)
        if _JSON_RAW_CONTROLS.search(line):
            line = _escape_json_controls(line)
        self._stream.write(line + "\n")
        self._stream.flush()

    def token(self, text: str) -> None:
        """``{"event": "token", "text": ...}``."""
        self._line({"event": "token", "text": text})
        self.tokens += 1

    def done(self, done: Completion, conversation_id: str | None = None) -> None:
        """``{"event": "done", "tokens": N, "finish_reason", "usage", "model", "conversation_id"}``.

        ``conversation_id`` is the saved conversation's (``None`` when not saved).
        """
        self._line(
            {
                "event": "done",
                "tokens": self.tokens,
                "finish_reason": done.finish_reason,
                "usage": None if done.usage is None else done.usage.to_dict(),
                "model": done.model,
                "conversation_id": conversation_id,
            }
        )

    def error(self, error: BaseException) -> None:
        """``{"event": "error", "error": <class>, "message": ..., ...}`` with the error's data."""
        if not isinstance(error, AilsError):
            return
        event: dict[str, Any] = {
            "event": "error",
            "error": type(error).__name__,
            "message": str(error),
            "attempts": error.attempts,
            "partial_text": error.partial_text,
        }
        for attribute in ("status", "retry_after", "code"):
            if hasattr(error, attribute):
                event[attribute] = getattr(error, attribute)
        self._line(event)
