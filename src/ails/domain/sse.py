r"""An incremental Server-Sent Events parser: bytes in, events out, no I/O.

It follows the WHATWG "event stream interpretation" rules
(https://html.spec.whatwg.org/multipage/server-sent-events.html):

- lines end with CRLF, LF or CR (a CRLF may be split across two chunks);
- a leading U+FEFF byte order mark is dropped, even when split;
- ``:`` starts a comment; ``field: value`` drops one space after the colon;
- a blank line dispatches the event, unless its data buffer is empty;
- ``id`` is sticky across events; an ``id`` containing NUL is ignored;
- at end of stream an unterminated event is discarded.

Lines are split as bytes and decoded as UTF-8 one complete line at a time, so a
multi-byte character split across chunks is never mangled, and invalid UTF-8
becomes U+FFFD. ``str.splitlines`` is not used: it also splits on
``\x0b``, ``\x1c`` and ``\u2028``, which are ordinary characters here.
"""

from __future__ import annotations

import attrs

from ails.domain.errors import ProtocolError

__all__ = ["DEFAULT_MAX_EVENT_SIZE", "RawEvent", "SSEParser", "ServerSentEvent"]

#: A chat chunk is a few hundred bytes; 8 MiB leaves room for very large
#: single-event answers while keeping a hostile or broken server from growing
#: our memory without bound.
DEFAULT_MAX_EVENT_SIZE = 8 * 1024 * 1024

_BOM = b"\xef\xbb\xbf"


@attrs.frozen
class ServerSentEvent:
    """One dispatched event.

    ``event`` is the type (``"message"`` unless the stream named one), ``data``
    the data lines joined by LF, ``id`` the last event id seen so far in the
    stream (sticky), and ``retry`` the reconnection time in milliseconds given
    in this event's block, if any.
    """

    event: str = "message"
    data: str = ""
    id: str = ""
    retry: int | None = None


#: One dispatched event inside the parser: (type as sent, data, last id, retry).
#: A plain tuple, so the token path (``TokenDecoder``) builds no event objects;
#: :meth:`SSEParser.feed` turns it into a ``ServerSentEvent``.
RawEvent = tuple[str, str, str, int | None]


class SSEParser:
    """Feed bytes with :meth:`feed`, get complete events; call :meth:`close` at EOF.

    ``max_event_size`` bounds the bytes one event (its data plus any
    unterminated line) may hold; beyond it :class:`~ails.errors.ProtocolError`
    is raised instead of buffering without limit. When a chunk completes
    events before such a fault, :meth:`feed` returns them and the fault is
    raised by the next call (:attr:`failed` tells it is waiting), so no valid
    event is lost.
    """

    def __init__(self, *, max_event_size: int = DEFAULT_MAX_EVENT_SIZE) -> None:
        self._max = max_event_size
        self._tail = b""  # an unterminated line, CR/CRLF already normalised away
        self._head: bytes | None = b""  # bytes before the BOM check; None once done
        self._pending_cr = False  # the last chunk ended in CR: skip an LF that follows
        self._data: list[bytes] = []  # the data lines' values, still UTF-8
        self._size = 0
        self._event = ""
        self._retry: int | None = None
        self._last_id = ""
        self._closed = False
        self._failure: ProtocolError | None = None

    def feed(self, data: bytes) -> list[ServerSentEvent]:
        """Consume ``data`` and return the events it completes (maybe none)."""
        return [
            ServerSentEvent(data=text, event=kind or "message", id=last_id, retry=retry)
            for kind, text, last_id, retry in self.feed_raw(data)
        ]

    def feed_raw(self, data: bytes) -> list[RawEvent]:
        """Like :meth:`feed`, as ``(type, data, id, retry)`` tuples; ``""`` is the default type.

        The hot path of a chat stream: no object per event beyond the tuple.
        """
        if self._failure is not None:
            raise self._failure
        events: list[RawEvent] = []
        try:
            self._feed(data, events)
        except ProtocolError as failure:
            if not events:
                raise
            # The events before the fault are valid and may be all the caller
            # gets: hand them over now, and raise at the next feed or close.
            self._failure = failure
        return events

    @property
    def failed(self) -> bool:
        """True once a fault is waiting to be raised by the next call (see :meth:`feed`)."""
        return self._failure is not None

    def _feed(self, data: bytes, events: list[RawEvent]) -> None:
        if self._closed:
            raise ProtocolError("SSEParser.feed() called after close(); make a new parser")
        if self._head is not None:
            data = self._strip_bom(data)
        if not data:
            return
        if self._pending_cr and data[0] == 0x0A:
            data = data[1:]
        self._pending_cr = data.endswith(b"\r")
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if b"\n" not in data:
            self._tail += data
            self._check_size(len(self._tail))
            return
        lines = (self._tail + data).split(b"\n")
        self._tail = lines.pop()
        # The common line, ``data: <value>``, is handled inline: no call, no decode.
        values = self._data
        limit = self._max
        for line in lines:
            if line.startswith(b"data: "):
                values.append(line[6:])
                self._size += len(line)
                if self._size > limit:
                    self._check_size(0)
            elif not line:
                if values:
                    # Split on LF before decoding, so decoding the joined lines
                    # equals decoding each line: LF never occurs inside UTF-8
                    # sequences, and ends any broken one.
                    raw = values[0] if len(values) == 1 else b"\n".join(values)
                    events.append(
                        (self._event, raw.decode("utf-8", "replace"), self._last_id, self._retry)
                    )
                    values.clear()
                    self._size = 0
                # A blank line resets the type and retry, dispatching or not.
                self._event = ""
                self._retry = None
            else:
                self._process_line(line)
        # Only now: a blank line above may have dispatched the data buffered so far.
        self._check_size(len(self._tail))

    def close(self) -> list[ServerSentEvent]:
        """Signal end of stream; an unterminated event is discarded, per WHATWG.

        Raises the fault :meth:`feed` held back, if any.
        """
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure
        self._closed = True
        self._tail = b""
        self._data.clear()
        self._size = 0
        return []

    @property
    def last_event_id(self) -> str:
        """The last event id the stream set (``""`` if none)."""
        return self._last_id

    def _strip_bom(self, data: bytes) -> bytes:
        head = (self._head or b"") + data
        if len(head) < len(_BOM) and _BOM.startswith(head):
            self._head = head  # could still be a BOM: wait for more bytes
            return b""
        self._head = None
        return head[len(_BOM) :] if head.startswith(_BOM) else head

    def _check_size(self, pending: int) -> None:
        if self._size + pending > self._max:
            raise ProtocolError(
                f"an event exceeded {self._max} bytes without ending; the server is not "
                "sending a valid event stream (raise max_event_size if it is legitimate)"
            )

    def _process_line(self, raw: bytes) -> None:
        """Any line but ``data: ...`` and blank ones (those are inlined in feed_raw)."""
        # The field name ends at the first colon, an ASCII byte that never
        # occurs inside a UTF-8 sequence, so splitting bytes equals splitting text.
        name, colon, value = raw.partition(b":")
        if not name and colon:
            return  # a comment, e.g. ": ping" keep-alives
        if value.startswith(b" "):
            value = value[1:]
        if name == b"data":
            self._data.append(value)
            self._size += len(raw)
            self._check_size(0)
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")
        elif name == b"id" and b"\0" not in value:
            self._last_id = value.decode("utf-8", "replace")
        elif name == b"retry" and value.isdigit():  # bytes.isdigit: ASCII digits only
            self._retry = int(value)
        # Any other field name is ignored, as the standard requires.
