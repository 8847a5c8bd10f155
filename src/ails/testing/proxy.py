"""``ForwardProxy``: a tiny HTTP forward proxy on 127.0.0.1, for proxy tests.

It understands the two things a client sends a proxy: an absolute-form
request (``POST http://host:port/path HTTP/1.1``) for a plain-HTTP target,
and ``CONNECT host:port`` for a TLS tunnel. Either way it opens a connection
to the target and then relays bytes both ways until one side closes, so
streaming, keep-alive and hang-ups pass through unchanged. It only connects
to loopback targets, so a test can never reach the network through it.
``targets`` records each request line's target, to prove traffic went through.

Like a real proxy, it keeps what was meant for it: ``Proxy-Authorization``
and ``Proxy-Connection`` never reach the target, on any request of a
kept-alive connection (``proxy_headers`` records what each request sent it).
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from collections.abc import Callable
from types import TracebackType
from urllib.parse import urlsplit

__all__ = ["ForwardProxy"]

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
# Hop-by-hop headers addressed to the proxy itself (RFC 9110 section 11.7.2).
_PROXY_HEADERS = (b"proxy-authorization", b"proxy-connection")
_MAX_HEAD = 64 * 1024
_RELAY_CHUNK = 64 * 1024


class ForwardProxy:
    """``with ForwardProxy() as proxy: Transport(proxy=proxy.url)``."""

    def __init__(self) -> None:
        self.targets: list[str] = []
        #: For each request, the proxy-only headers it carried (lower-cased names).
        self.proxy_headers: list[dict[str, str]] = []
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

    def _note(self, headers: dict[str, str]) -> None:
        with self._lock:
            self.proxy_headers.append(headers)

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
            requests: _Requests | None = None
            if method.upper() == "CONNECT":
                self._note(_proxy_headers(head.partition(b"\r\n\r\n")[0]))
                host, _, port = target.rpartition(":")
                upstream = _connect(host.strip("[]"), int(port))
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                leftover = head.partition(b"\r\n\r\n")[2]
            else:
                url = urlsplit(target)
                upstream = _connect(url.hostname or "", url.port or 80)
                path = (url.path or "/") + (f"?{url.query}" if url.query else "")
                requests = _Requests(self._note)
                first = f"{method} {path} {version}\r\n".encode("latin-1") + rest
                leftover = requests.feed(first)
            self._keep(upstream, add=True)
            if leftover:
                upstream.sendall(leftover)
            _relay(client, upstream, requests.feed if requests is not None else None)
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


class _Requests:
    """The client's bytes to a plain-HTTP target, each request head rid of proxy headers.

    Clients send one request at a time on a connection, so after a head and
    its ``content-length`` body the next bytes start the next head. A chunked
    request body is passed on as is, with whatever follows it.
    """

    def __init__(self, note: Callable[[dict[str, str]], None]) -> None:
        self._note = note
        self._buffer = b""
        self._body_left = 0
        self._raw = False

    def feed(self, data: bytes) -> bytes:
        """The bytes to send on for ``data`` (a head is held back until complete)."""
        if self._raw:
            return data
        out: list[bytes] = []
        buffer = self._buffer + data
        while buffer:
            if self._body_left:
                body, buffer = buffer[: self._body_left], buffer[self._body_left :]
                self._body_left -= len(body)
                out.append(body)
                continue
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > _MAX_HEAD:
                    raise ValueError("request head too large")
                break
            head, buffer = buffer[: end + 4], buffer[end + 4 :]
            self._note(_proxy_headers(head))
            kept, length = _without_proxy_headers(head)
            out.append(kept)
            if length is None:  # chunked: no more heads can be found reliably
                self._raw = True
                out.append(buffer)
                buffer = b""
            else:
                self._body_left = length
        self._buffer = buffer
        return b"".join(out)


def _header_lines(head: bytes) -> list[tuple[bytes, bytes]]:
    lines = head.split(b"\r\n")[1:]  # after the request line
    pairs = [line.partition(b":") for line in lines if b":" in line]
    return [(name.strip().lower(), value.strip()) for name, _, value in pairs]


def _proxy_headers(head: bytes) -> dict[str, str]:
    return {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in _header_lines(head)
        if name in _PROXY_HEADERS
    }


def _without_proxy_headers(head: bytes) -> tuple[bytes, int | None]:
    """``head`` without proxy-only header lines, and its body length (``None``: chunked)."""
    lines = head.split(b"\r\n")
    kept = [lines[0]] + [
        line for line in lines[1:] if line.partition(b":")[0].strip().lower() not in _PROXY_HEADERS
    ]
    headers = dict(_header_lines(head))
    if b"transfer-encoding" in headers:
        return b"\r\n".join(kept), None
    length = headers.get(b"content-length", b"0")
    return b"\r\n".join(kept), int(length) if length.isdigit() else 0


def _relay(
    a: socket.socket, b: socket.socket, rewrite_a: Callable[[bytes], bytes] | None = None
) -> None:
    """Copy bytes both ways until either side closes or breaks; ``rewrite_a`` edits a's."""
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
                if source is a and rewrite_a is not None:
                    data = rewrite_a(data)
                if data:
                    peers[source].sendall(data)
