"""The socket plumbing under ``FakeServer``: a thread per connection, bounded, with timeouts.

It knows nothing of fixtures or records: the owner passes in what it needs
(how to answer a request, what to do when a connection opens and closes, the
event that says it is stopping, the limits) and this module only runs
sockets and threads.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn
from typing import Any

__all__ = ["ConnectionHandler", "ThreadedServer"]

#: Answers one parsed request on a connection (reads its body, writes the reply).
Answer = Callable[["ConnectionHandler"], None]
#: Told ``(socket, True)`` when a connection is accepted and ``(socket, False)`` once closed.
Track = Callable[[socket.socket, bool], None]


class ThreadedServer(ThreadingMixIn, HTTPServer):
    """An ``HTTPServer`` with one thread per connection, at most ``max_connections`` at once.

    ``answer`` handles each request; ``track`` hears of each connection as it
    opens and once its descriptor is gone; while every slot is taken, new
    connections wait, accepted and unserved, until a slot frees or
    ``stopping`` is set. Each connection's reads and writes (the TLS
    handshake included) time out after ``connection_timeout`` seconds.
    """

    daemon_threads = True
    allow_reuse_address = False
    # socketserver's default backlog of 5 drops SYNs under load tests that
    # open hundreds of connections at once; the client then waits a full
    # second for its SYN to be retransmitted.
    request_queue_size = 1024

    def __init__(
        self,
        address: tuple[str, int],
        *,
        answer: Answer,
        track: Track,
        stopping: threading.Event,
        connection_timeout: float,
        max_connections: int,
    ) -> None:
        super().__init__(address, ConnectionHandler)
        self.answer = answer
        self.track = track
        self.stopping = stopping
        self.connection_timeout = connection_timeout
        self._slots = threading.BoundedSemaphore(max_connections)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet: a client hanging up mid-request is expected here, not a crash."""

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve ``request`` in a thread of its own once a slot is free."""
        while not self._slots.acquire(timeout=_SLOT_POLL):
            if self.stopping.is_set():
                with contextlib.suppress(OSError):
                    request.close()
                return
        self.track(request, True)  # counted from accept() on
        try:
            super().process_request(request, client_address)
        except BaseException:  # no thread started: free the slot here
            self._slots.release()
            raise

    def shutdown_request(self, request: Any) -> None:
        """Close the connection and free its slot."""
        try:
            super().shutdown_request(request)  # closes the socket
        finally:
            # Only now is the file descriptor gone, so tests that count open
            # descriptors may wait on open_connections reaching zero.
            self.track(request, False)
            self._slots.release()


# How often a full server looks whether it is stopping.
_SLOT_POLL = 0.05


class ConnectionHandler(BaseHTTPRequestHandler):
    """Reads the requests of one connection and hands each to the server's ``answer``."""

    protocol_version = "HTTP/1.1"
    server: ThreadedServer

    def setup(self) -> None:
        """Set the connection's timeout, finish any TLS handshake, turn off Nagle."""
        # Every read and write on the connection, the TLS handshake included,
        # gives up after the server's connection_timeout: an idle or trickling
        # client cannot hold a thread for ever. (Replay pauses and stalls use
        # select, not reads, so they are not cut by it.)
        self.request.settimeout(self.server.connection_timeout)
        if isinstance(self.request, ssl.SSLSocket):
            # Here, in the connection's own thread: a client that never
            # completes the handshake holds up no one else.
            self.request.do_handshake()
        super().setup()
        # Small paced writes must leave at once, not wait for Nagle's algorithm.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing: tests read the server's records, not its chatter."""

    def do_POST(self) -> None:
        """Let the server's ``answer`` reply."""
        self.server.answer(self)

    do_GET = do_POST
