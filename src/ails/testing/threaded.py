"""The socket plumbing under ``FakeServer``: a thread per connection, bounded, with timeouts."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ails.testing.server import FakeServer

__all__ = ["Handler", "ThreadedServer"]


class ThreadedServer(ThreadingMixIn, HTTPServer):
    """An ``HTTPServer`` with one thread per connection, at most ``slots`` at once."""

    daemon_threads = True
    allow_reuse_address = False
    # socketserver's default backlog of 5 drops SYNs under load tests that
    # open hundreds of connections at once; the client then waits a full
    # second for its SYN to be retransmitted.
    request_queue_size = 1024
    owner: FakeServer
    slots: threading.BoundedSemaphore

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet: a client hanging up mid-request is expected here, not a crash."""

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve ``request`` in a thread of its own once a slot is free."""
        # One thread per connection, at most max_connections at once: beyond
        # that, new connections wait (accepted, unserved) for a free slot.
        while not self.slots.acquire(timeout=_SLOT_POLL):
            if self.owner._stopping.is_set():
                with contextlib.suppress(OSError):
                    request.close()
                return
        self.owner._track(request, add=True)  # counted from accept() on
        try:
            super().process_request(request, client_address)
        except BaseException:  # no thread started: free the slot here
            self.slots.release()
            raise

    def shutdown_request(self, request: Any) -> None:
        """Close the connection and free its slot."""
        try:
            super().shutdown_request(request)  # closes the socket
        finally:
            # Only now is the file descriptor gone, so tests that count open
            # descriptors may wait on open_connections reaching zero.
            self.owner._track(request, add=False)
            self.slots.release()


# How often a full server looks whether it is stopping.
_SLOT_POLL = 0.05


class Handler(BaseHTTPRequestHandler):
    """Hands each request to the owning ``FakeServer``."""

    protocol_version = "HTTP/1.1"
    server: ThreadedServer

    def setup(self) -> None:
        """Set the connection's timeout, finish any TLS handshake, turn off Nagle."""
        # Every read and write on the connection, the TLS handshake included,
        # gives up after the server's connection_timeout: an idle or trickling
        # client cannot hold a thread for ever. (Replay pauses and stalls use
        # select, not reads, so they are not cut by it.)
        self.request.settimeout(self.server.owner.connection_timeout)
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
        """Let the ``FakeServer`` answer."""
        self.server.owner._serve(self)

    do_GET = do_POST
