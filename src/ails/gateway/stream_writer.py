"""Writing a streamed answer: what arrives in one turn of the event loop leaves in one write.

Tokens decoded from one upstream read reach the handler without the event
loop running in between; a write per token would cost a system call each.
:class:`BatchWriter` collects them and a helper task writes them together as
soon as the handler waits for the upstream again: no token waits for a later
one, and a fast stream costs a write per read, not per token.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

__all__ = ["BatchWriter"]

#: Bytes buffered before the handler waits for the client to take some:
#: a slow client must not make the gateway hold a whole answer in memory.
HIGH_WATER = 256 * 1024


class BatchWriter:
    """Coalesces :meth:`add` calls into writes to a prepared ``StreamResponse``."""

    def __init__(self, response: web.StreamResponse, *, high_water: int = HIGH_WATER) -> None:
        self._response = response
        self._high_water = high_water
        self._parts: list[bytes] = []
        self._size = 0
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._closing = False
        self._task = asyncio.create_task(self._run())

    def add(self, data: bytes) -> bool:
        """Queue ``data``; true if the buffer is full (then ``await`` :meth:`room`)."""
        if self._task.done():
            self._task.result()  # the client went away: raise its error here
        self._parts.append(data)
        self._size += len(data)
        self._wake.set()
        if self._size < self._high_water:
            return False
        self._room.clear()
        return True

    async def room(self) -> None:
        """Wait until the client took what was buffered."""
        waiter = asyncio.ensure_future(self._room.wait())
        await asyncio.wait({waiter, self._task}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if self._task.done():
            self._task.result()

    async def close(self) -> None:
        """Write what is left; raise what a write raised."""
        self._closing = True
        self._wake.set()
        await self._task

    def abort(self) -> None:
        """Stop writing (the answer ended early)."""
        self._task.cancel()

    async def _run(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._parts:
                    data = b"".join(self._parts)
                    self._parts.clear()
                    self._size = 0
                    self._room.set()
                    await self._response.write(data)
                if self._closing:
                    return
        finally:
            self._room.set()
