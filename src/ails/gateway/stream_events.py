"""The typed deltas of an upstream stream, for the answers that need more than its text.

Tool calls and reasoning reach the gateway only through ``stream.events()``;
plain chat answers keep reading text tokens, the cheaper path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from ails.domain.completion import StreamEvent, TextDelta

__all__ = ["typed_deltas"]


def typed_deltas(stream: Any) -> AsyncIterator[StreamEvent]:
    """``stream.events()`` as an async iterator (its text tokens, for a stream without it)."""
    events: Callable[[], AsyncIterator[StreamEvent]] | None = getattr(stream, "events", None)
    if events is not None:
        return events().__aiter__()
    return _texts(stream)


async def _texts(stream: AsyncIterator[str]) -> AsyncIterator[StreamEvent]:
    async for token in stream:
        yield TextDelta(token)
