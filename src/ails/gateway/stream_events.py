"""The typed deltas of an upstream stream, for the answers that need more than its text.

Tool calls and reasoning reach the gateway only through ``stream.events()``;
plain chat answers keep reading text tokens, the cheaper path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from ails.client.settings import CallOptions
from ails.client.streams import AsyncTokenStream
from ails.domain.completion import StreamEvent

__all__ = ["client_call", "typed_deltas"]


def client_call(call: Mapping[str, Any]) -> dict[str, Any]:
    """``call`` as keyword arguments for ``AsyncClient.stream``.

    An option the client does not take by name (``tools`` and the like, until
    it does) goes into ``extra_body``, whose keys join the JSON body as sent.
    """
    known = CallOptions.__annotations__
    kwargs = {name: value for name, value in call.items() if name in known}
    extra = {name: value for name, value in call.items() if name not in known}
    if extra:
        kwargs["extra_body"] = {**extra, **(call.get("extra_body") or {})}
    return kwargs


def typed_deltas(stream: AsyncTokenStream) -> AsyncIterator[StreamEvent]:
    """``stream.events()`` as an async iterator, so its first delta can be awaited alone."""
    return stream.events().__aiter__()
