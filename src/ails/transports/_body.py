"""Reading an HTTP/1.1 response body from a socket file, in bounded pieces.

:class:`BodyReader` takes over from ``http.client`` once the response head is
parsed. Each step is one ``read1`` (whatever has arrived, at most
:data:`READ_SIZE` bytes, one ``recv`` at most); the chunked framing is undone
over the whole piece, so many small chunks cost one read and one yield, and
no event that has fully arrived waits for anything. A chunk that announces
1 MiB is handed on as its bytes come, never held whole; gzip and deflate are
undone with a bounded output per step, so a small compressed body that
expands enormously is read in bounded pieces too.

Time: every read waits at most the read timeout, and at most what is left of
the total deadline, after which the body fails with ``TimeoutError``. A
server that closes in the middle of the body raises ``TruncatedBodyError``;
a reset is a plain ``TransportError``. After a completed answer,
:meth:`BodyReader.drain` reads the rest of the body within small bounds so
the connection can be reused.
"""

from __future__ import annotations

import builtins
import ssl
import time
import zlib
from collections.abc import Callable
from typing import Any, Protocol

from ails.domain.errors import (
    AilsError,
    ProtocolError,
    TimeoutError,
    TransportError,
    TruncatedBodyError,
)

__all__ = ["READ_SIZE", "BodyReader", "decoder_for"]

#: Upper bound of one read from the socket and of one decoded piece.
READ_SIZE = 64 * 1024

#: Longest chunk-size or trailer line accepted (real ones are a few bytes).
_MAX_LINE = 4096

_HEX = b"0123456789abcdefABCDEF"

# Framing states of a chunked body.
_SIZE, _DATA_END, _TRAILER, _END = range(4)


class _Readable(Protocol):
    def read1(self, size: int = ..., /) -> bytes: ...


class Decoder(Protocol):
    """What :class:`BodyReader` needs of a zlib decompressor."""

    @property
    def unconsumed_tail(self) -> bytes: ...
    @property
    def unused_data(self) -> bytes: ...
    @property
    def eof(self) -> bool: ...
    def decompress(self, data: bytes, max_length: int = ..., /) -> bytes: ...


def decoder_for(encoding: str) -> Callable[[], Decoder] | None:
    """A decompressor factory for a ``Content-Encoding``, or ``None`` if not ours to undo.

    ``identity`` (or none) needs no decoder: the caller checks that case first.
    """
    name = encoding.strip().lower()
    if name in ("gzip", "x-gzip"):
        return lambda: zlib.decompressobj(16 + zlib.MAX_WBITS)
    if name == "deflate":
        return _Deflate
    return None


class _Deflate:
    """``deflate`` as servers send it: zlib-wrapped, or (wrongly but often) raw.

    Which one is decided on the first two bytes (zlib checks its header once
    it has both), however the network split them.
    """

    def __init__(self) -> None:
        self._inner: Any = zlib.decompressobj()
        self._first = True
        self._start = b""  # the first bytes, until there are two to decide on

    @property
    def unconsumed_tail(self) -> bytes:
        tail: bytes = self._inner.unconsumed_tail
        return tail

    @property
    def unused_data(self) -> bytes:
        return b""  # deflate has no members: anything after the end is ignored

    @property
    def eof(self) -> bool:
        return bool(self._inner.eof)

    def decompress(self, data: bytes, max_length: int = 0, /) -> bytes:
        if self._first:
            data = self._start + data
            if len(data) < 2:
                self._start = data
                return b""
            self._first, self._start = False, b""
            try:
                out: bytes = self._inner.decompress(data, max_length)
                return out
            except zlib.error:
                self._inner = zlib.decompressobj(-zlib.MAX_WBITS)
        out = self._inner.decompress(data, max_length)
        return out


class BodyReader:
    """An iterator over the decoded body: each ``next()`` is the next bounded piece.

    ``fp`` is the buffered socket file the head was read from (bytes of the
    body may already sit in its buffer); ``sock`` the socket under it, for
    timeouts. ``chunked`` and ``length`` are the framing (``length=None``
    and not chunked: the body ends when the server closes).
    """

    def __init__(
        self,
        fp: _Readable,
        sock: Any,
        *,
        chunked: bool,
        length: int | None,
        decoder: Callable[[], Decoder] | None,
        where: str,
        read_timeout: float | None,
        deadline: float | None,
    ) -> None:
        self._fp = fp
        self._sock = sock
        self._chunked = chunked
        self._length = length  # bytes left of a Content-Length body
        self._new_decoder = decoder
        self._decoder = decoder() if decoder is not None else None
        self._where = where
        self._read_timeout = read_timeout
        self._deadline = deadline
        self._clamped = False  # the socket's timeout is what is left of the total
        self._state = _SIZE
        self._left = 0  # bytes left in the current chunk
        self._tail = b""  # an unfinished framing line
        self._pending = b""  # decoded input not yet decompressed (bounded output)
        self._fed = False
        #: The body ended as its framing says (and nothing unexpected followed).
        self.complete = length == 0 and not chunked
        self.clean = True  # false once bytes came after the end of the body

    def __iter__(self) -> BodyReader:
        return self

    def __next__(self) -> bytes:
        try:
            while True:
                if self._pending:
                    piece = self._decode(b"")
                    if piece:
                        return piece
                if self.complete:
                    # Also when the framing ended in the read that brought the
                    # last data: a compressed body must have ended with it.
                    self._finish_decoder()
                    raise StopIteration
                data = self._step()
                if data:
                    if self._decoder is not None:
                        data = self._decode(data)
                        if not data:
                            continue
                    return data
        except (StopIteration, AilsError):
            raise
        except builtins.TimeoutError as exc:  # socket.timeout is its alias
            raise self._timeout() from exc
        except zlib.error as exc:
            raise ProtocolError(
                phase="read", reason="undecodable", url=self._where, detail=str(exc)
            ) from exc
        except (OSError, ssl.SSLError, ValueError) as exc:
            # ValueError: the socket file was closed under us (the deadline cut it).
            raise TransportError(
                phase="read",
                reason="broken",
                url=self._where,
                detail=f"{type(exc).__name__}: {exc}",
            ) from exc

    # -- reading -----------------------------------------------------------------

    def _read(self, size: int) -> bytes:
        deadline = self._deadline
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._timeout(total=True)
            read_timeout = self._read_timeout
            if read_timeout is None or left < read_timeout:
                self._sock.settimeout(left)
                self._clamped = True
        return self._fp.read1(size)

    def _step(self) -> bytes:
        """One read; the body bytes it completes (framing removed), maybe none."""
        if not self._chunked:
            length = self._length
            data = self._read(READ_SIZE if length is None else min(READ_SIZE, length))
            if not data:
                if length is None:
                    self.complete = True  # a close-delimited body ends with the connection
                    return b""
                raise self._cut(f"{length} bytes before the end its Content-Length announced")
            if length is not None:
                self._length = length - len(data)
                self.complete = self._length == 0
            return data
        data = self._read(READ_SIZE)
        if not data:
            raise self._cut("before the last chunk of its chunked body")
        if self._tail:
            data = self._tail + data
            self._tail = b""
        return self._dechunk(data)

    def _dechunk(self, data: bytes) -> bytes:
        out: list[bytes] = []
        pos, size, left, state = 0, len(data), self._left, self._state
        while pos < size:
            if left:
                end = pos + left
                if end <= size:
                    out.append(data[pos:end])
                    pos, left, state = end, 0, _DATA_END
                else:
                    out.append(data[pos:])
                    left -= size - pos
                    pos = size
                continue
            if state == _DATA_END and data.startswith(b"\r\n", pos):
                pos += 2
                state = _SIZE
                continue
            newline = data.find(b"\n", pos)
            if newline < 0:
                if size - pos > _MAX_LINE:
                    raise self._framing("a framing line longer than 4096 bytes")
                self._tail = data[pos:]
                break
            line = data[pos:newline].rstrip(b"\r")
            pos = newline + 1
            if state == _SIZE:
                digits = line.split(b";", 1)[0].strip()
                if not digits or digits.translate(None, _HEX):
                    raise self._framing(f"a bad chunk size {bytes(line[:40])!r}")
                left = int(digits, 16)
                if left == 0:
                    state = _TRAILER
            elif state == _DATA_END:
                if line:
                    raise self._framing("chunk data longer than its announced size")
                state = _SIZE
            elif not line:  # the blank line after the trailers: the end
                state = _END
                self.complete = True
                if pos < size:
                    self.clean = False  # the server sent more than the body
                break
        self._left, self._state = left, state
        return out[0] if len(out) == 1 else b"".join(out)

    # -- decoding ----------------------------------------------------------------

    def _decode(self, data: bytes) -> bytes:
        decoder = self._decoder
        assert decoder is not None
        self._fed = True
        if self._pending:
            data = self._pending + data if data else self._pending
        out = decoder.decompress(data, READ_SIZE)
        self._pending = decoder.unconsumed_tail
        if decoder.eof and decoder.unused_data and self._new_decoder is not None:
            # Another gzip member follows (concatenated gzip streams are valid).
            rest = decoder.unused_data
            self._decoder = decoder = self._new_decoder()
            self._pending = rest + self._pending
        return out

    def _finish_decoder(self) -> None:
        if self._decoder is not None and self._fed and not self._decoder.eof:
            raise ProtocolError(phase="read", reason="compressed_cut", url=self._where)

    # -- keep-alive --------------------------------------------------------------

    def drain(self, max_bytes: int, seconds: float) -> bool:
        """Read the rest of the body within bounds; true if it ended cleanly within them."""
        if self.complete:
            return self.clean
        limit = time.monotonic() + seconds
        if self._deadline is None or limit < self._deadline:
            self._deadline, self._read_timeout = limit, None
        self._decoder = None  # the rest is discarded: never inflate it
        self._pending = b""
        seen = 0
        try:
            before = self._sock.gettimeout()
            while not self.complete:
                seen += len(self._step())
                if seen > max_bytes:
                    return False
            self._sock.settimeout(before)  # the next request on it sends with its own
        except (AilsError, OSError, ssl.SSLError, ValueError):
            return False
        # Bytes past the end in the same read mean a confused server: do not reuse.
        # (Bytes still in the socket are caught by the pool's check on reuse.)
        return self.clean

    # -- errors ------------------------------------------------------------------

    # The facts only: ails.domain.error_messages.describe writes the messages.

    def _timeout(self, *, total: bool = False) -> TimeoutError:
        if total or self._clamped:
            # No number: the transport knows only what was left of the total
            # when it was called; the client names the timeout the user set.
            return TimeoutError(phase="read", url=self._where, timeout="total")
        return TimeoutError(
            phase="read", url=self._where, timeout="idle", seconds=self._read_timeout
        )

    def _cut(self, what: str) -> TruncatedBodyError:
        return TruncatedBodyError(phase="read", reason="cut", url=self._where, detail=what)

    def _framing(self, what: str) -> ProtocolError:
        return ProtocolError(phase="read", reason="framing", url=self._where, detail=what)
