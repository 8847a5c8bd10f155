"""How ``FakeServer`` replays a recorded reply: its head, its paced body and its faults.

Pauses and stalls watch the socket, so a client hanging up is noticed at
once (:class:`ClientGone`) and the server records it; a stopping server ends
them too. gzip bodies are flushed at every step so each piece decodes on
arrival.
"""

from __future__ import annotations

import select
import socket
import ssl
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

from ails.testing.fixtures import Reply

__all__ = ["ClientGone", "send_simple", "write_reply"]

# How often a stalled reply looks at the socket and the stop flag.
_POLL = 0.05


class ClientGone(Exception):
    """The client closed the connection."""


def send_simple(handler: BaseHTTPRequestHandler, status: int, body: bytes) -> None:
    """Answer with ``status`` and a JSON ``body`` (the server's own errors)."""
    handler.send_response(status)
    handler.send_header("content-type", "application/json")
    handler.send_header("content-length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def write_reply(
    handler: BaseHTTPRequestHandler, reply: Reply, delay_scale: float, stopping: threading.Event
) -> None:
    """Write one recorded ``reply``: its head, its paced body and its fault.

    Delays are multiplied by ``delay_scale``; ``stopping`` set ends a pause
    or a stall at once. Raises :class:`ClientGone` when the client hangs up.
    """
    sock = handler.connection
    if reply.fault == "no_response":
        handler.close_connection = True
        _stall(sock, stopping)
        return
    if reply.fault == "garbage":
        handler.close_connection = True
        handler.wfile.write(b"\x00\xffTHIS IS NOT HTTP\r\n\r\n")
        return
    pieces = list(_encoded_pieces(reply))
    handler.send_response(reply.status)
    for name, value in reply.headers:
        handler.send_header(name, value)
    if reply.gzip:
        handler.send_header("content-encoding", "gzip")
    if reply.framing == "chunked":
        handler.send_header("transfer-encoding", "chunked")
    elif reply.framing == "length" and "content-length" not in dict(reply.headers):
        size = sum(len(data) for _, data, _ in pieces)
        handler.send_header("content-length", str(size))
    else:
        handler.send_header("connection", "close")
        handler.close_connection = True
    handler.end_headers()
    for delay, data, fault in pieces:
        _pause(sock, delay * delay_scale, stopping)
        if fault is not None:
            _fault(handler, fault, stopping)
            return
        if not data:
            continue
        if reply.framing == "chunked":
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        else:
            handler.wfile.write(data)
    if reply.framing == "chunked":
        handler.wfile.write(b"0\r\n\r\n")


def _fault(handler: BaseHTTPRequestHandler, fault: str, stopping: threading.Event) -> None:
    handler.close_connection = True
    sock = handler.connection
    if fault == "stall":
        _stall(sock, stopping)
    elif fault == "reset":
        # SO_LINGER with a zero timeout makes close() send RST, not FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    # "close": returning with close_connection set ends the body abruptly.


def _pause(sock: socket.socket, seconds: float, stopping: threading.Event) -> None:
    """Wait ``seconds``, noticing at once if the client hangs up meanwhile."""
    deadline = time.monotonic() + seconds
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or stopping.is_set():
            return
        _watch(sock, remaining, stopping)


def _stall(sock: socket.socket, stopping: threading.Event) -> None:
    """Send nothing until the client hangs up or the server stops."""
    while not stopping.is_set():
        _watch(sock, _POLL, stopping)


def _watch(sock: socket.socket, seconds: float, stopping: threading.Event) -> None:
    readable, _, _ = select.select([sock], [], [], min(seconds, _POLL))
    if readable:
        try:
            peek = _peek(sock)
        except OSError as exc:
            raise ClientGone from exc
        if peek == b"":
            raise ClientGone
        # The client sent data (select would now return at once, forever):
        # wait without polling the socket for the rest of this slice.
        stopping.wait(min(seconds, _POLL))


def _peek(sock: socket.socket) -> bytes | None:
    """A byte the client sent, without consuming it where possible; ``b""`` at EOF.

    TLS cannot peek: a byte is read (a client sends nothing while it waits
    for its answer) and ``None`` means only TLS records, no data, arrived.
    """
    if not isinstance(sock, ssl.SSLSocket):
        return sock.recv(1, socket.MSG_PEEK)
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        return sock.recv(1)
    except ssl.SSLWantReadError:
        return None
    finally:
        sock.settimeout(timeout)  # the connection's own timeout, not "blocking for ever"


def _encoded_pieces(reply: Reply) -> Iterator[tuple[float, bytes, str | None]]:
    """Body steps as (delay, wire bytes, fault).

    gzip is flushed at every step so each piece decodes on arrival.
    """
    compressor = zlib.compressobj(wbits=31) if reply.gzip else None
    for step in reply.body:
        data = step.data
        if compressor is not None and data:
            data = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
        yield step.delay, data, step.fault
        if step.fault is not None:
            return
    if compressor is not None:
        yield 0.0, compressor.flush(), None
