"""The answer so far, kept compactly for ``partial_text`` and ``log_bodies``."""

from __future__ import annotations

__all__ = ["Answer"]

#: Tokens kept as separate strings before they are joined into one UTF-8
#: block. A token string costs ~50 bytes of object overhead for a few
#: characters; blocks keep a million-token answer near its UTF-8 size.
_BLOCK_TOKENS = 1024


class Answer:
    """Every token of one answer, in order: the latest as they came, older ones in blocks.

    Blocks are UTF-8 with ``"surrogatepass"``, so a lone surrogate from a
    JSON escape survives the round trip exactly.
    """

    __slots__ = ("_blocks", "_parts", "size", "tokens")

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._blocks: list[bytes] = []
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
            self._blocks.append("".join(parts).encode("utf-8", "surrogatepass"))
            parts.clear()

    @property
    def text(self) -> str:
        """Every token kept so far, joined."""
        head = b"".join(self._blocks).decode("utf-8", "surrogatepass")
        return head + "".join(self._parts)
