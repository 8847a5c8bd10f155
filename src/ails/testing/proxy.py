"""``ForwardProxy``: a tiny HTTP forward proxy on 127.0.0.1, for proxy tests.

It understands the two things a client sends a proxy: an absolute-form
request (``POST http://host:port/path HTTP/1.1``) for a plain-HTTP target,
and ``CONNECT host:port`` for a TLS tunnel. Either way it opens a connection
to the target and then relays bytes both ways until one side closes, so
streaming, keep-alive and hang-ups pass through unchanged. It only connects
to loopback targets, so a test can never reach the network through it.
``targets`` records each request line's target, to prove traffic went through.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from types import TracebackType
from urllib.parse import urlsplit

__all__ = ["ForwardProxy"]

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_MAX_HEAD = 64 * 1024
_RELAY_CHUNK = 64 * 1024


class ForwardProxy:
    """``with ForwardProxy() as proxy: Transport(proxy=proxy.url)``."""

    def __init__(self) -> None:
        self.targets: list[str] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._sockets: set[socket.socket] = set()
        self._stopping = threading.Event()

    @property
    def url(self) -> str:
        """The proxy URL, ``http://127.0.0.1:<port>``."""
        if self._listener is None:
            raise RuntimeError("the proxy is not running; use it as a context manager")
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def start(self) -> ForwardProxy:
        """Listen on a free loopback port and serve in background threads."""
        listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self._listener = listener
        self._thread = threading.Thread(target=self._accept, name="ails-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting and close every relayed connection."""
        if self._listener is None:
            return
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._listener = None

    def __enter__(self) -> ForwardProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # the listener was closed
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _keep(self, sock: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._sockets.add(sock)
            else:
                self._sockets.discard(sock)

    def _serve(self, client: socket.socket) -> None:
        self._keep(client, add=True)
        upstream: socket.socket | None = None
        try:
            head = _read_head(client)
            if head is None:
                return
            request_line, _, rest = head.partition(b"\r\n")
            method, target, version = request_line.decode("latin-1").split(" ", 2)
            with self._lock:
                self.targets.append(target)
            if method.upper() == "CONNECT":
                host, _, port = target.rpartition(":")
                upstream = _connect(host.strip("[]"), int(port))
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                leftover = head.partition(b"\r\n\r\n")[2]
            else:
                url = urlsplit(target)
                upstream = _connect(url.hostname or "", url.port or 80)
                path = (url.path or "/") + (f"?{url.query}" if url.query else "")
                leftover = f"{method} {path} {version}\r\n".encode("latin-1") + rest
            self._keep(upstream, add=True)
            if leftover:
                upstream.sendall(leftover)
            _relay(client, upstream)
        except (OSError, ValueError):
            if upstream is None:  # nothing relayed yet: the client may still read an answer
                with contextlib.suppress(OSError):
                    client.sendall(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    self._keep(sock, add=False)
                    sock.close()


def _read_head(sock: socket.socket) -> bytes | None:
    """Bytes up to and including the blank line ending the request head (and any after)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(_RELAY_CHUNK)
        if not chunk or len(data) > _MAX_HEAD:
            return None
        data += chunk
    return data


def _connect(host: str, port: int) -> socket.socket:
    if host not in _LOOPBACK:
        raise ValueError(f"the test proxy only connects to loopback, not {host!r}")
    upstream = socket.create_connection((host, port), timeout=10)
    upstream.settimeout(None)
    return upstream


def _relay(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes or breaks."""
    peers = {a: b, b: a}
    with selectors.DefaultSelector() as selector:
        for sock in peers:
            selector.register(sock, selectors.EVENT_READ)
        while True:
            for key, _ in selector.select():
                source: socket.socket = key.fileobj  # type: ignore[assignment]
                data = source.recv(_RELAY_CHUNK)
                if not data:
                    return
                peers[source].sendall(data)
