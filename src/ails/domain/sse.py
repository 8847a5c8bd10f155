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

from typing import NamedTuple

from ails.domain.errors import ProtocolError

__all__ = ["DEFAULT_MAX_EVENT_SIZE", "SSEParser", "ServerSentEvent"]

#: A chat chunk is a few hundred bytes; 8 MiB leaves room for very large
#: single-event answers while keeping a hostile or broken server from growing
#: our memory without bound.
DEFAULT_MAX_EVENT_SIZE = 8 * 1024 * 1024

_BOM = b"\xef\xbb\xbf"


class ServerSentEvent(NamedTuple):
    """One dispatched event.

    ``event`` is the type (``"message"`` unless the stream named one), ``data``
    the data lines joined by LF, ``id`` the last event id seen so far in the
    stream (sticky), and ``retry`` the reconnection time in milliseconds given
    in this event's block, if any.

    An immutable named tuple: the parser makes one per event on the token
    path, and a tuple is the cheapest immutable value Python builds.
    """

    event: str = "message"
    data: str = ""
    id: str = ""
    retry: int | None = None


# Builds an event from a ready tuple without the keyword handling of
# ServerSentEvent(...): a fifth of the cost, on the path of every token.
_new_event = tuple.__new__


class SSEParser:
    """Feed bytes with :meth:`feed`, get complete events; call :meth:`close` at EOF.

    ``max_event_size`` bounds the bytes one event (its data plus any
    unterminated line) may hold; beyond it :class:`~ails.errors.ProtocolError`
    is raised instead of buffering without limit. When a chunk completes
    events before such a fault, :meth:`feed` returns them and the fault is
    raised by the next call (:attr:`failed` tells it is waiting), so no valid
    event is lost.

    An unterminated line is kept in a ``bytearray`` that grows in place, so a
    long line arriving in many small reads costs time in proportion to its
    length, not to its length squared.
    """

    def __init__(self, *, max_event_size: int = DEFAULT_MAX_EVENT_SIZE) -> None:
        self._max = max_event_size
        self._tail = bytearray()  # an unterminated line, CR/CRLF already normalised away
        self._head: bytes | None = b""  # bytes before the BOM check; None once done
        self._pending_cr = False  # the last chunk ended in CR: skip an LF that follows
        self._data: list[bytes] = []  # the data lines' values, still UTF-8
        self._size = 0
        self._event = "message"
        self._retry: int | None = None
        self._last_id = ""
        self._closed = False
        self._failure: ProtocolError | None = None

    def feed(self, data: bytes) -> list[ServerSentEvent]:
        """Consume ``data`` and return the events it completes (maybe none)."""
        if self._failure is not None:
            raise self._failure
        events: list[ServerSentEvent] = []
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

    def _feed(self, data: bytes, events: list[ServerSentEvent]) -> None:
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
        tail = self._tail
        if b"\n" not in data:
            tail += data  # in place: amortised linear, however small the reads
            self._check_size(len(tail))
            return
        lines = data.split(b"\n")
        if tail:
            # The unterminated line ends here: joined once, whatever its length.
            tail += lines[0]
            lines[0] = bytes(tail)
            tail.clear()
        rest = lines.pop()
        if rest:
            tail += rest
        # The common line, ``data: <value>``, is handled inline: no call, no
        # decode, and the running size in a local until another line needs it.
        values = self._data
        limit = self._max
        size = self._size
        new, event_type, append = _new_event, ServerSentEvent, events.append
        for line in lines:
            if line.startswith(b"data: "):
                values.append(line[6:])
                size += len(line)
                if size > limit:
                    self._size = size
                    self._check_size(0)
            elif not line:
                if values:
                    # Split on LF before decoding, so decoding the joined lines
                    # equals decoding each line: LF never occurs inside UTF-8
                    # sequences, and ends any broken one.
                    raw = values[0] if len(values) == 1 else b"\n".join(values)
                    text = raw.decode("utf-8", "replace")
                    append(new(event_type, (self._event, text, self._last_id, self._retry)))
                    values.clear()
                    size = 0
                # A blank line resets the type and retry, dispatching or not.
                self._event = "message"
                self._retry = None
            else:
                self._size = size
                self._process_line(line)
                size = self._size
        self._size = size
        # Only now: a blank line above may have dispatched the data buffered so far.
        self._check_size(len(tail))

    def close(self) -> list[ServerSentEvent]:
        """Signal end of stream; an unterminated event is discarded, per WHATWG.

        Raises the fault :meth:`feed` held back, if any.
        """
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure
        self._closed = True
        self._tail.clear()
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
        """Any line but ``data: ...`` and blank ones (those are inlined in :meth:`_feed`)."""
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
            # An empty type dispatches as "message" (WHATWG).
            self._event = value.decode("utf-8", "replace") or "message"
        elif name == b"id" and b"\0" not in value:
            self._last_id = value.decode("utf-8", "replace")
        elif name == b"retry" and value.isdigit():  # bytes.isdigit: ASCII digits only
            self._retry = int(value)
        # Any other field name is ignored, as the standard requires.
