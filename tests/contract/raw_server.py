"""A raw TCP server on 127.0.0.1 for misbehaving-server tests: each connection runs a script.

The script gets the accepted socket (the request already read up to its
body) and writes whatever bytes, pauses and closes it wants; the server
counts accepted connections and stops its script threads on exit.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable
from types import TracebackType

Script = Callable[[socket.socket, threading.Event], None]

SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
)


def event(text: str) -> bytes:
    """One chunked SSE event carrying the token ``text``."""
    data = (
        b'data: {"choices":[{"index":0,"delta":{"content":"'
        + text.encode()
        + b'"},"finish_reason":null}]}\n\n'
    )
    return b"%x\r\n%s\r\n" % (len(data), data)


DONE = b"e\r\ndata: [DONE]\n\n\r\n"


def read_request(sock: socket.socket) -> bytes:
    """Read one request (head and Content-Length body) from ``sock``."""
    data = b""
    while b"\r\n\r\n" not in data:
        more = sock.recv(65536)
        if not more:
            return data
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        more = sock.recv(65536)
        if not more:
            break
        body += more
    return head


def reset(sock: socket.socket) -> None:
    """Close with RST instead of FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class RawServer:
    """``with RawServer(script) as server:`` then ``server.url``; ``server.accepted`` counts."""

    def __init__(self, script: Script) -> None:
        self._script = script
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.accepted = 0
        self.stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> RawServer:
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self._listener.close()

    def _accept(self) -> None:
        # A short timeout, not a blocking accept(): closing a listener does not
        # wake a thread blocked in accept() on Linux.
        self._listener.settimeout(0.05)
        while not self.stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(None)
            self.accepted += 1
            thread = threading.Thread(target=self._run, args=(sock,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _run(self, sock: socket.socket) -> None:
        try:
            self._script(sock, self.stop)
        except OSError:
            pass  # the client left: expected in these tests
        finally:
            with contextlib.suppress(OSError):
                sock.close()
