"""The text of one answer as it arrives, kept compactly until it is joined once.

A completion's run keeps every token it hands out here: for the error's
``partial_text`` if the answer fails, against ``max_answer_size``, and for
the record's text when it ends.
"""

from __future__ import annotations

__all__ = ["TextSoFar"]

#: Tokens kept as separate strings before they are joined into one block. A
#: token string costs ~50 bytes of object overhead for a few characters;
#: blocks keep a million-token answer near the size of its text.
_BLOCK_TOKENS = 1024


class TextSoFar:
    """Every token of one answer, in order: the latest as they came, older ones in blocks.

    A block is the joined ``str`` of its tokens (no encoding: joining the
    blocks at the end is one copy, and a lone surrogate from a JSON escape
    survives as it came).
    """

    __slots__ = ("_blocks", "_parts", "size", "tokens")

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._blocks: list[str] = []
        #: How many tokens, and characters, were kept.
        self.tokens = 0
        self.size = 0

    def keep(self, tokens: list[str], size: int) -> None:
        """Add ``tokens``, whose characters bring the answer to ``size``."""
        self.tokens += len(tokens)
        self.size = size
        parts = self._parts
        parts += tokens
        if len(parts) >= _BLOCK_TOKENS:
            self._blocks.append("".join(parts))
            parts.clear()

    @property
    def text(self) -> str:
        """Every token kept so far, joined."""
        if not self._blocks:
            return "".join(self._parts)
        return "".join([*self._blocks, *self._parts])
