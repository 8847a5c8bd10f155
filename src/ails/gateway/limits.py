"""What keeps the gateway safe to run: the key check, the bind rule and the stream limit."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager

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
    """At most ``limit`` upstream streams at once; beyond that, refuse at once (429)."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"the stream limit must be at least 1, got {limit}")
        self.limit = limit
        self.used = 0

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Take a slot for the block; raise :class:`TooManyStreams` if none is free."""
        if self.used >= self.limit:
            raise TooManyStreams
        self.used += 1
        try:
            yield
        finally:
            self.used -= 1


@attrs.define(eq=False)
class OpenStream:
    """A handler streaming an answer, and whether the server asked it to stop."""

    task: asyncio.Task[object]
    stopped_by_shutdown: bool = False


class OpenStreams:
    """The answers being streamed, so shutdown can wait for them, then stop the rest."""

    def __init__(self) -> None:
        self._open: set[OpenStream] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    def __len__(self) -> int:
        return len(self._open)

    @contextmanager
    def track(self) -> Iterator[OpenStream]:
        """Register the current task for the block."""
        task = asyncio.current_task()
        assert task is not None
        entry = OpenStream(task)
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
        try:
            await asyncio.wait_for(self._idle.wait(), grace)
        except asyncio.TimeoutError:
            for entry in list(self._open):
                entry.stopped_by_shutdown = True
                entry.task.cancel()
            # A stopped handler only writes its error event and returns.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._idle.wait(), _STOP_GRACE)
