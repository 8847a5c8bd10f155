"""Answers on a terminal as rendered Markdown, while they stream (rich).

An answer is cut into Markdown blocks: a block ends at a blank line outside a
code fence, or at the fence that closes it. A finished block is printed once,
above the screen's live part, and never drawn again; only the last, growing
block is redrawn as tokens arrive (``rich.live``), so a long answer costs the
same per token as a short one. A block taller than the screen is settled at
its last whole line (a code fence is closed there and opened again below),
because a live region taller than the screen cannot be redrawn in place.

Used only when stdout is a terminal and ``--raw`` was not given; rich reads
``NO_COLOR`` (no colours, still bold and layout) and the width at each redraw.
Server text is stripped of control characters before rich sees it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, TextIO

from ails.cli.terminal import CUT_NOTE, TextOutput, is_terminal, sanitize_for_terminal

if TYPE_CHECKING:
    from rich.console import Console
    from rich.live import Live

    from ails.domain.completion import Completion

__all__ = ["MarkdownOutput", "MarkdownStream", "answer_output", "split_blocks"]

#: At most this many redraws of the open block a second: a fast server sends
#: hundreds of tokens a second, and the eye sees no more than this.
REDRAWS_PER_SECOND = 20
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
#: Lines kept below a screen's height for the prompt and the notes.
_SPARE_LINES = 3


def _fence_of(line: str) -> str | None:
    found = _FENCE.match(line)
    return found.group(1) if found else None


def _closes(line: str, fence: str) -> bool:
    """Whether ``line`` closes a code block opened with ``fence`` (nothing after its marks)."""
    marker = _fence_of(line)
    closes = marker is not None and marker[0] == fence[0] and len(marker) >= len(fence)
    return closes and not line.strip().lstrip(fence[0]).strip()


def split_blocks(text: str) -> tuple[list[str], str, str | None]:
    """Cut ``text`` (whole lines and a last partial one) into finished blocks and the rest.

    Returns the finished blocks, the unfinished rest, and the fence (```` ``` ````
    or ``~~~``) the rest leaves open, if any. The rest starts where a block
    may start, so the next call is given the rest and what came after it.
    """
    blocks: list[str] = []
    start = 0
    fence: str | None = None
    position = 0
    while True:
        end = text.find("\n", position)
        if end < 0:
            break
        line = text[position:end]
        position = end + 1
        marker = _fence_of(line)
        if fence is not None:
            if _closes(line, fence):
                fence = None
                blocks.append(text[start:position])
                start = position
        elif marker is not None:
            fence = marker
        elif not line.strip():
            if text[start:position].strip():
                blocks.append(text[start:position])
            start = position
    return blocks, text[start:], fence


def _settle_tall(rest: str, fence: str | None) -> tuple[list[str], str]:
    """A block taller than the screen, settled at its last whole line.

    An open code fence is closed there and opened again (same fence, same
    info string) at the start of what is left.
    """
    cut = rest.rstrip("\n").rfind("\n") + 1
    if fence is None:
        return [rest[:cut]], rest[cut:]
    opener = next(line for line in rest.splitlines() if _fence_of(line) == fence)
    return [rest[:cut] + fence + "\n"], opener + "\n" + rest[cut:]


class MarkdownStream:
    """Tokens shown as Markdown on a terminal: finished blocks once, the last one live.

    ``stream`` is the terminal; ``console`` may be given (tests, a fixed width).
    Call :meth:`finish` once at the end (also after an error or Ctrl-C): it
    draws the last block a final time and leaves the cursor below it.
    """

    def __init__(self, stream: TextIO, *, console: Console | None = None) -> None:
        from rich.console import Console

        self._console = console or Console(file=stream, highlight=False, emoji=False)
        self._live: Live | None = None
        # The open block and the fence it leaves open, replaced as one value:
        # the redrawing thread reads it while tokens arrive.
        self._state: tuple[str, str | None] = ("", None)
        self._drawn: tuple[tuple[str, str | None, bool], Any] | None = None
        self._printed = 0
        self.shown = False

    def _markdown(self, text: str) -> Any:
        from rich.markdown import Markdown

        return Markdown(text, code_theme="monokai", hyperlinks=False)

    def _start(self) -> Live:
        from rich.live import Live

        # rich's own thread redraws the open block at most REDRAWS_PER_SECOND
        # times a second, whatever the token rate, and draws the last token
        # before a pause too.
        live = Live(
            console=self._console,
            get_renderable=self._tail,
            auto_refresh=True,
            refresh_per_second=REDRAWS_PER_SECOND,
            vertical_overflow="visible",
            redirect_stdout=False,
            redirect_stderr=False,
        )
        live.start()
        self._live = live
        return live

    def token(self, text: str) -> None:
        """Add one token; print the blocks it finished (the open one is redrawn by rich)."""
        if not text:
            return
        self.shown = True
        live = self._live or self._start()
        blocks, rest, fence = split_blocks(self._state[0] + sanitize_for_terminal(text))
        if not blocks and rest.count("\n") > self._room():
            blocks, rest = _settle_tall(rest, fence)
        if not blocks:
            self._state = (rest, fence)
            return
        # rich's redrawing thread and a print from this one would each erase
        # the live part once (rich renders it outside its lock), erasing a
        # block printed above it: hold Live's own lock around the print.
        with live._lock:
            self._state = (rest, fence)
            for block in blocks:
                if self._printed:
                    live.console.print()
                self._printed += 1
                live.console.print(self._markdown(block))

    def _room(self) -> int:
        return max(self._console.height - _SPARE_LINES, 4)

    def _tail(self) -> Any:
        from rich.console import Group
        from rich.text import Text

        rest, fence = self._state
        key = (rest, fence, self._printed > 0)
        if self._drawn is not None and self._drawn[0] == key:
            return self._drawn[1]  # unchanged since the last redraw: not parsed again
        if not rest.strip():
            rendered: Any = Text("")
        else:
            text = rest
            if fence is not None and not _closes(rest.rpartition("\n")[2], fence):
                # Drawn closed while it streams, so it looks as it will at the end.
                text += "\n" + fence
            rendered = self._markdown(text)
            if self._printed:
                rendered = Group(Text(""), rendered)
        self._drawn = (key, rendered)
        return rendered

    def finish(self) -> None:
        """Draw the last block a final time and stop the live region (idempotent)."""
        live = self._live
        if live is None:
            return
        self._live = None
        live.refresh()
        live.stop()


class MarkdownOutput:
    """The answer rendered as Markdown on a terminal (the one-shot and the session's output).

    The same calls as :class:`~ails.cli.terminal.TextOutput`; ``notes`` gets
    one-line remarks (a cut answer).
    """

    def __init__(self, stream: TextIO, *, notes: TextIO | None = None) -> None:
        self._markdown = MarkdownStream(stream)
        self._notes = notes
        self.tokens = 0

    def token(self, text: str) -> None:
        """Show one token (its block is redrawn, or printed once finished)."""
        self._markdown.token(text)
        self.tokens += 1

    def done(self, done: Completion, conversation_id: str | None = None) -> None:
        """Draw the last block; note it if the answer was cut at the token limit."""
        self._markdown.finish()
        if done.finish_reason == "length" and self._notes is not None:
            print(CUT_NOTE, file=self._notes, flush=True)

    def error(self, error: BaseException) -> None:
        """Draw what arrived; the caller reports the error."""
        self._markdown.finish()


def answer_output(
    stream: TextIO, *, notes: TextIO | None, raw: bool
) -> TextOutput | MarkdownOutput:
    """Rendered Markdown on a terminal; the exact text when piped or with ``raw``."""
    if raw or not is_terminal(stream):
        return TextOutput(stream, notes=notes)
    try:
        import rich  # noqa: F401 - only whether it is installed
    except ImportError:  # pragma: no cover - rich is a dependency of ails
        return TextOutput(stream, notes=notes)
    return MarkdownOutput(stream, notes=notes)
