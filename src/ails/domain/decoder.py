"""Bytes of a chat-completion response in, answer tokens out: parser plus interpreter."""

from __future__ import annotations

import re

from ails.domain.chunks import DEFAULT_NOTICE_PATTERN, ChunkInterpreter, JsonLoads
from ails.domain.completion import StreamEvent
from ails.domain.errors import IncompleteStreamError, ProtocolError
from ails.domain.sse import DEFAULT_MAX_EVENT_SIZE, SSEParser

__all__ = ["TokenDecoder"]


class TokenDecoder:
    """Decodes one response body incrementally.

    :meth:`feed` returns the tokens completed by a chunk of bytes
    (:meth:`feed_events` the typed deltas too); once
    :attr:`complete` is true the rest of the body is irrelevant.
    :meth:`close` raises ``IncompleteStreamError`` if the body ended early.
    :attr:`events` counts dispatched events, so callers can tell a real event
    from keep-alive comments. ``json_loads`` decodes each event's data (see
    :data:`~ails.domain.chunks.JsonLoads`); by default the standard library.
    ``expect_usage`` waits for the usage chunk after a finish reason (see
    :class:`~ails.domain.chunks.ChunkInterpreter`), whose :attr:`chunks` tells
    the answer's ``id``, ``model`` and ``usage``.
    """

    def __init__(
        self,
        *,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        notice_pattern: re.Pattern[str] | None = DEFAULT_NOTICE_PATTERN,
        json_loads: JsonLoads | None = None,
        expect_usage: bool = False,
    ) -> None:
        self._parser = SSEParser(max_event_size=max_event_size)
        self._chunks = ChunkInterpreter(
            notice_pattern=notice_pattern, json_loads=json_loads, expect_usage=expect_usage
        )
        self.events = 0

    @property
    def complete(self) -> bool:
        """True once ``[DONE]`` or a finish reason arrived, or a fault waits for :meth:`close`."""
        chunks = self._chunks
        return chunks.complete or chunks.failure is not None or self._parser.failed

    @property
    def finish_reason(self) -> str | None:
        """The finish reason the server gave, if any."""
        return self._chunks.finish_reason

    @property
    def chunks(self) -> ChunkInterpreter:
        """The interpreter, for what the answer told about itself (id, model, usage)."""
        return self._chunks

    def feed(self, data: bytes) -> list[str]:
        """Parse ``data``; return the tokens it completes, in order.

        Bytes after the answer are ignored, whichever chunk they come in. A
        fault after tokens is held back (see ``SSEParser.feed`` and
        ``ChunkInterpreter.feed``): :attr:`complete` turns true and
        :meth:`close` raises it.
        """
        chunks = self._chunks
        if chunks.complete:
            return []
        if chunks.failure is not None:
            raise chunks.failure
        events = self._parser.feed(data)
        self.events += len(events)
        return chunks.feed(events)

    def feed_events(self, data: bytes) -> tuple[list[str], list[StreamEvent]]:
        """Parse ``data``; return the tokens it completes and every typed delta, in order.

        The same rules as :meth:`feed`; see ``ChunkInterpreter.feed_events``.
        """
        chunks = self._chunks
        if chunks.complete:
            return [], []
        if chunks.failure is not None:
            raise chunks.failure
        events = self._parser.feed(data)
        self.events += len(events)
        return chunks.feed_events(events)

    def close(self, partial_text: str = "") -> None:
        """Mark the end of the body; raise if the answer never completed.

        A fault :meth:`feed` held back is raised here, unless the answer had
        completed before it (what follows a complete answer is ignored).
        """
        failure = self._chunks.failure
        try:
            self._parser.close()
        except ProtocolError as error:
            failure = failure or error
        if self._chunks.complete:
            return
        if failure is not None:
            raise failure
        # Not complete and no fault: the body simply ended too soon.
        raise IncompleteStreamError(
            "the stream ended before [DONE] or a finish reason; the answer is "
            f"truncated after {len(partial_text)} characters (see .partial_text); "
            "the connection probably dropped, so try again",
            partial_text=partial_text,
        )
