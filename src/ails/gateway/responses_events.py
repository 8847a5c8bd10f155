"""The OpenAI Responses API's streamed events, as SSE bytes, from the chat deltas.

A streamed response is the Responses event sequence, each event an SSE
``event: <type>`` and ``data: {...}`` with a ``sequence_number`` that starts
at 0 and grows by one: ``response.created``, ``response.in_progress``, then
per item ``response.output_item.added``, its content events
(``response.content_part.added``, ``response.output_text.delta`` ...
``.done``, ``response.content_part.done``; or
``response.function_call_arguments.delta`` ... ``.done``) and
``response.output_item.done``; last ``response.completed`` (or
``response.incomplete`` when the answer was cut by ``max_output_tokens``), or
``error`` and ``response.failed`` when the upstream failed. The items and the
response object are those of :mod:`~ails.gateway.responses_object`. Pure: no I/O.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from ails.domain.completion import ReasoningDelta, StreamEvent, TextDelta, ToolCallDelta
from ails.gateway.responses_object import new_id, status_of

__all__ = ["ResponseEncoder"]

_quote: Callable[[str], str] = json.encoder.encode_basestring


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _utf8(text: str) -> bytes:
    # A lone surrogate (JSON allows one, escaped) only ever stands inside a JSON
    # string here, where its backslash escape is the JSON escape.
    return text.encode("utf-8", "backslashreplace")


class _Open:
    """An output item being streamed: its index, id, kind and what arrived of it."""

    __slots__ = ("call_id", "id", "index", "json", "kind", "name", "parts", "where")

    def __init__(self, index: int, id: str, kind: str) -> None:
        self.index = index
        self.id = id
        self.kind = kind  # "message", "reasoning" or "function_call"
        self.parts: list[str] = []
        self.call_id = ""
        self.name = ""
        self.json = b""  # the whole item as JSON, once it is done
        self.where = f'"item_id":"{id}","output_index":{index}'.encode()

    @property
    def text(self) -> str:
        return "".join(self.parts)


def _part_json(kind: str, quoted: bytes) -> bytes:
    if kind == "reasoning":
        return b'{"type":"reasoning_text","text":%s}' % quoted
    return b'{"type":"output_text","text":%s,"annotations":[],"logprobs":[]}' % quoted


def _item_json(item: _Open, status: str, quoted: bytes | None) -> bytes:
    """An output item as JSON; ``quoted`` is its text as a JSON string (``None``: not yet)."""
    head = f'{{"id":"{item.id}","type":"{item.kind}","status":"{status}"'
    if item.kind == "function_call":
        names = f'{head},"call_id":{_quote(item.call_id)},"name":{_quote(item.name)}'
        return b'%s,"arguments":%s}' % (_utf8(names), quoted or b'""')
    content = b"" if quoted is None else _part_json(item.kind, quoted)
    if item.kind == "reasoning":
        return b'%s,"summary":[],"content":[%s]}' % (head.encode(), content)
    return b'%s,"role":"assistant","content":[%s]}' % (head.encode(), content)


def _with_output(response: dict[str, Any], items: Iterable[bytes]) -> bytes:
    """``response`` (whose ``output`` is empty) as JSON, with the items' JSON as its output.

    The items are encoded once, as they close: a long answer's text is not
    encoded again for the final event. Nothing before ``output`` in the
    object can hold the marker unescaped (strings escape their quotes).
    """
    head, tail = _utf8(_json(response)).split(b'"output":[]', 1)
    return b'%s"output":[%s]%s' % (head, b",".join(items), tail)


class ResponseEncoder:
    """The Responses events of one streamed answer, as SSE bytes, from the chat deltas.

    ``snapshot`` makes the response object at any point (``status``,
    ``output``, ``usage`` and the rest given); the encoder numbers every event
    and keeps the output items. A text delta in an open message costs one
    ``json`` quote and a few concatenations: the rest of the event is built
    once per item, and each item's text is quoted and encoded once, when it
    is done, for all the events that repeat it (bytes, never copied to a
    ``str`` again).
    """

    def __init__(self, snapshot: Callable[..., dict[str, Any]]) -> None:
        self._snapshot = snapshot
        self._sequence = 0
        self._items: list[_Open] = []  # every item, by output index
        self._open: list[_Open] = []  # items not yet done, in order
        self._message: _Open | None = None  # the open message, text deltas go there
        self._calls: dict[int, _Open] = {}  # the open tool calls, by chat index
        self._text_start = b""

    @property
    def output(self) -> list[dict[str, Any]]:
        """The output items done so far."""
        return [json.loads(item.json) for item in self._items if item.json]

    @property
    def output_text(self) -> str:
        """The text of the answer's messages so far (what a count of its tokens reads)."""
        return "".join(item.text for item in self._items if item.kind == "message")

    @property
    def items(self) -> list[tuple[str, bytes]]:
        """The output items done so far, as ``(id, UTF-8 JSON)``."""
        return [(item.id, item.json) for item in self._items if item.json]

    # -- the events ---------------------------------------------------------------

    def _event(self, kind: bytes, fields: bytes) -> bytes:
        sequence = self._sequence
        self._sequence = sequence + 1
        return b'event: %s\ndata: {"type":"%s",%s,"sequence_number":%d}\n\n' % (
            kind,
            kind,
            fields,
            sequence,
        )

    def _response_event(self, kind: bytes, response: bytes) -> bytes:
        return self._event(kind, b'"response":%s' % response)

    def _response_json(self, **fields: Any) -> bytes:
        return _with_output(self._snapshot(output=[], **fields), self._done_items())

    def _done_items(self) -> list[bytes]:
        return [item.json for item in self._items if item.json]

    def start(self) -> bytes:
        """``response.created`` and ``response.in_progress``."""
        snapshot = _utf8(_json(self._snapshot(status="in_progress", output=[])))
        return self._response_event(b"response.created", snapshot) + self._response_event(
            b"response.in_progress", snapshot
        )

    def feed(self, event: StreamEvent) -> bytes:
        """The events for one chat delta."""
        if type(event) is TextDelta:
            return self.text(event.text)
        if type(event) is ToolCallDelta:
            return self.tool_call(event)
        if type(event) is ReasoningDelta:
            return self.reasoning(event.text)
        raise TypeError(f"not a stream event: {event!r}")  # pragma: no cover

    def feeds(self, events: Iterable[StreamEvent]) -> bytes:
        """The events for several chat deltas (one network read), in one write."""
        return b"".join(map(self.feed, events))

    def texts(self, deltas: Iterable[str]) -> bytes:
        """The ``output_text`` deltas of several text tokens (one network read), in one write."""
        return b"".join(map(self.text, deltas))

    def text(self, delta: str) -> bytes:
        """An ``output_text`` delta (opening a message item first if none is open)."""
        if not delta:
            return b""
        message = self._message
        head = b""
        if message is None:
            head = self._close_all() + self._open_message()
            message = self._message
            assert message is not None
        message.parts.append(delta)
        sequence = self._sequence
        self._sequence = sequence + 1
        tail = f'{_quote(delta)},"logprobs":[],"sequence_number":{sequence}}}\n\n'
        return head + self._text_start + tail.encode("utf-8", "backslashreplace")

    def reasoning(self, delta: str) -> bytes:
        """A ``reasoning_text`` delta (opening a reasoning item first if none is open)."""
        if not delta:
            return b""
        head = b""
        item = self._open[-1] if self._open and self._open[-1].kind == "reasoning" else None
        if item is None:
            head = self._close_all()
            item = self._add("reasoning", new_id("rs"))
            head += self._added(item)
        item.parts.append(delta)
        return head + self._event(
            b"response.reasoning_text.delta",
            b'%s,"content_index":0,"delta":%s' % (item.where, _utf8(_quote(delta))),
        )

    def tool_call(self, delta: ToolCallDelta) -> bytes:
        """A piece of a function call: its item opens with the call's first delta."""
        item = self._calls.get(delta.index)
        head = b""
        if item is None:
            # Text or reasoning before it is done; other calls may still stream.
            head = self._close(kinds=("message", "reasoning"))
            item = self._add("function_call", new_id("fc"))
            item.call_id = delta.id or new_id("call")
            item.name = delta.name or ""
            self._calls[delta.index] = item
            head += self._added(item)
        elif delta.name and not item.name:
            item.name = delta.name
        if not delta.arguments:
            return head
        item.parts.append(delta.arguments)
        return head + self._event(
            b"response.function_call_arguments.delta",
            b'%s,"delta":%s' % (item.where, _utf8(_quote(delta.arguments))),
        )

    def finish(
        self, finish_reason: str | None, usage: dict[str, Any] | None
    ) -> tuple[bytes, bytes]:
        """Close every item and end: ``response.completed`` (or ``.incomplete``).

        Returns the events and the final response object as UTF-8 JSON.
        """
        status, details = status_of(finish_reason)
        # An answer of nothing is still one (empty) message, as OpenAI sends it.
        opening = self._open_message() if not self._items else b""
        closing = opening + self._close_all(status="incomplete" if details else "completed")
        final = self._response_json(
            status=status,
            usage=usage,
            incomplete_details=details,
            completed_at=int(time.time()) if details is None else None,
        )
        kind = b"response.completed" if details is None else b"response.incomplete"
        return closing + self._response_event(kind, final), final

    def fail(self, code: str, message: str, param: str | None = None) -> bytes:
        """``error`` and ``response.failed``: the upstream failed after the stream began."""
        self._close_all(status="incomplete", quiet=True)
        error = _utf8(_json({"code": code, "message": message, "param": param}))
        failed = self._response_json(status="failed", error={"code": code, "message": message})
        return self._event(b"error", error[1:-1]) + self._response_event(b"response.failed", failed)

    # -- items ----------------------------------------------------------------------

    def _add(self, kind: str, id: str) -> _Open:
        item = _Open(len(self._items), id, kind)
        self._items.append(item)
        self._open.append(item)
        return item

    def _open_message(self) -> bytes:
        item = self._message = self._add("message", new_id("msg"))
        self._text_start = (
            b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta",'
            b'%s,"content_index":0,"delta":' % item.where
        )
        return self._added(item)

    def _added(self, item: _Open) -> bytes:
        """``output_item.added`` (and an empty ``content_part.added`` for text)."""
        added = self._event(
            b"response.output_item.added",
            b'"output_index":%d,"item":%s' % (item.index, _item_json(item, "in_progress", None)),
        )
        if item.kind == "function_call":
            return added
        part = _part_json(item.kind, b'""')
        return added + self._event(
            b"response.content_part.added", b'%s,"content_index":0,"part":%s' % (item.where, part)
        )

    def _close(
        self, *, kinds: tuple[str, ...], status: str = "completed", quiet: bool = False
    ) -> bytes:
        out = b""
        keep = []
        for item in self._open:
            if item.kind not in kinds:
                keep.append(item)
                continue
            quoted = _utf8(_quote(item.text))  # once, for every event that repeats it
            item.json = _item_json(item, status, quoted)
            if not quiet:
                out += self._done(item, quoted)
            if item is self._message:
                self._message = None
        self._open = keep
        if "function_call" in kinds:
            self._calls.clear()
        return out

    def _close_all(self, *, status: str = "completed", quiet: bool = False) -> bytes:
        return self._close(
            kinds=("message", "reasoning", "function_call"), status=status, quiet=quiet
        )

    def _done(self, item: _Open, quoted: bytes) -> bytes:
        where = item.where
        if item.kind == "function_call":
            out = self._event(
                b"response.function_call_arguments.done", b'%s,"arguments":%s' % (where, quoted)
            )
        else:
            kind, extra = b"response.output_text.done", b',"logprobs":[]'
            if item.kind == "reasoning":
                kind, extra = b"response.reasoning_text.done", b""
            part = _part_json(item.kind, quoted)
            out = self._event(kind, b'%s,"content_index":0,"text":%s%s' % (where, quoted, extra))
            out += self._event(
                b"response.content_part.done", b'%s,"content_index":0,"part":%s' % (where, part)
            )
        # Numbered in order: each event is made when it is its turn.
        return out + self._event(
            b"response.output_item.done", b'"output_index":%d,"item":%s' % (item.index, item.json)
        )
