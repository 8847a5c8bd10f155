"""What keeps the gateway safe to run: the key check, the bind rule and the stream limit."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import attrs

#: Seconds a stopped handler gets to end its answer after the drain ran out.
_STOP_GRACE = 2.0

__all__ = [
    "OpenStream",
    "OpenStreams",
    "StreamSlots",
    "TooManyStreams",
    "key_matches",
    "loopback_only",
    "raise_fd_limit",
]


def key_matches(authorization: str | None, expected: str) -> bool:
    """True if ``authorization`` is ``Bearer <expected>``; compared in constant time.

    The comparison takes as long whatever the prefix that matches, so a
    caller cannot find the key one character at a time.
    """
    given = (authorization or "").encode("utf-8", "surrogateescape")
    wanted = f"Bearer {expected}".encode()
    return hmac.compare_digest(given, wanted)


def loopback_only(host: str) -> bool:
    """True if ``host`` is reachable only from this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name or 0.0.0.0-like wildcard: anyone may reach it


class TooManyStreams(Exception):
    """Every upstream stream slot is taken."""


class StreamSlots:
    """At most ``limit`` upstream streams at once; beyond that, wait a while for one (then 429).

    A burst of clients (an SDK's connection pool, a batch job) is served in
    turn rather than refused; one that waited ``wait`` seconds in vain is
    refused, so nothing queues for ever.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"the stream limit must be at least 1, got {limit}")
        self.limit = limit
        #: Slots taken now.
        self.used = 0
        self._free = asyncio.Semaphore(limit)

    @asynccontextmanager
    async def hold(self, wait: float = 0.0) -> AsyncIterator[None]:
        """Take a slot for the block, waiting up to ``wait`` seconds for one.

        Raises :class:`TooManyStreams` if none came free in time.
        """
        free = self._free
        if not free.locked():
            await free.acquire()  # free now: no waiting, no task
        elif wait <= 0:
            raise TooManyStreams
        else:
            try:
                await asyncio.wait_for(free.acquire(), wait)
            except asyncio.TimeoutError:
                raise TooManyStreams from None
        self.used += 1
        try:
            yield
        finally:
            self.used -= 1
            free.release()


@attrs.define(eq=False)
class OpenStream:
    """A handler streaming an answer, and whether the server asked it to stop."""

    task: asyncio.Task[object]
    stopped_by_shutdown: bool = False
    #: The client's socket: closed at once if it stops reading past the drain.
    transport: asyncio.BaseTransport | None = None


class OpenStreams:
    """The answers being streamed, so shutdown can wait for them, then stop the rest."""

    def __init__(self) -> None:
        self._open: set[OpenStream] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        #: Set once shutdown began: a request that waited for a slot is not started.
        self.closing = False

    def __len__(self) -> int:
        return len(self._open)

    @contextmanager
    def track(self, transport: asyncio.BaseTransport | None = None) -> Iterator[OpenStream]:
        """Register the current task (answering on ``transport``) for the block."""
        task = asyncio.current_task()
        assert task is not None
        entry = OpenStream(task, transport=transport)
        self._open.add(entry)
        self._idle.clear()
        try:
            yield entry
        finally:
            self._open.discard(entry)
            if not self._open:
                self._idle.set()

    async def drain(self, grace: float) -> None:
        """Let open answers finish for up to ``grace`` seconds, then stop the rest."""
        self.closing = True
        try:
            await asyncio.wait_for(self._idle.wait(), grace)
        except asyncio.TimeoutError:
            for entry in list(self._open):
                entry.stopped_by_shutdown = True
                entry.task.cancel()
            # A stopped handler only writes its error event and returns.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._idle.wait(), _STOP_GRACE)
            # Left now: writing to a client that stopped reading (its socket
            # open, its buffer full). Dropping its socket ends the write.
            for entry in list(self._open):
                if isinstance(entry.transport, asyncio.WriteTransport):
                    entry.transport.abort()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._idle.wait(), _STOP_GRACE)


def raise_fd_limit() -> int | None:
    """Raise this process's soft limit on open files to the hard one; the new soft limit.

    Each client socket and each upstream connection is a file descriptor;
    the common soft limit of 1024 would stop all answers at about a thousand
    idle sockets. ``None`` where the platform has no such limit (Windows).
    """
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        with contextlib.suppress(ValueError, OSError):  # not allowed here: keep the soft one
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    return None if soft == resource.RLIM_INFINITY else soft
