"""Deadlines for the phases of an aiohttp request that aiohttp's own timeouts leave open.

``sock_read`` bounds each read, so a head trickled a line at a time never
trips it, and ``sock_connect`` starts after name resolution, which nothing
bounds. A :class:`Phases` object, found through a context variable by the
trace callbacks of the transport's session, moves one reschedulable timeout
along: the connect timeout while the name resolves, the read timeout from
the moment the request head is sent until the response head is in.

Lookups run on daemon threads of their own (:func:`resolver`): on the loop's
default executor a hung ``getaddrinfo`` would hold ``asyncio.run`` from
returning long after the request gave up.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import socket
import sys
import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, cast

import aiohttp
import aiohttp.resolver

if sys.version_info >= (3, 11):
    from asyncio import timeout as reschedulable_timeout
else:  # aiohttp depends on async-timeout before 3.11
    from async_timeout import timeout as reschedulable_timeout

__all__ = [
    "Phases",
    "current_phases",
    "expired",
    "reschedulable_timeout",
    "resolver",
    "trace_config",
]


class Phases:
    """The request in flight: which phase it is in, and the timeout to move."""

    __slots__ = ("connect_timeout", "phase", "read_timeout", "timer")

    def __init__(self, connect_timeout: float | None, read_timeout: float | None) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.phase = "connect"
        self.timer: Any = None  # the reschedulable timeout around the request

    def arm(self, phase: str, seconds: float | None) -> None:
        self.phase = phase
        if self.timer is not None:
            loop = asyncio.get_running_loop()
            self.timer.reschedule(None if seconds is None else loop.time() + seconds)


current_phases: contextvars.ContextVar[Phases | None] = contextvars.ContextVar(
    "ails_aiohttp_phases", default=None
)


def expired(timer: Any) -> bool:
    """Whether the timeout fired (``asyncio.Timeout.expired()`` vs async-timeout's property)."""
    flag = timer.expired
    return bool(flag() if callable(flag) else flag)


async def _dns_start(session: Any, context: SimpleNamespace, params: Any) -> None:
    phases = current_phases.get()
    if phases is not None:
        phases.arm("dns", phases.connect_timeout)


async def _dns_end(session: Any, context: SimpleNamespace, params: Any) -> None:
    phases = current_phases.get()
    if phases is not None:
        phases.arm("connect", None)  # sock_connect bounds the rest


async def _head_sent(session: Any, context: SimpleNamespace, params: Any) -> None:
    phases = current_phases.get()
    if phases is not None:
        phases.arm("head", phases.read_timeout)


def trace_config() -> aiohttp.TraceConfig:
    """The trace callbacks that move the deadline; given to every session the transport makes."""
    config = aiohttp.TraceConfig()
    config.on_dns_resolvehost_start.append(_dns_start)
    config.on_dns_resolvehost_end.append(_dns_end)
    config.on_request_headers_sent.append(_head_sent)
    return config


class _DaemonLookups:
    """The two loop methods aiohttp's ``ThreadedResolver`` calls, on daemon threads."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    async def getaddrinfo(self, *args: Any, **kwargs: Any) -> Any:
        return await self._run(socket.getaddrinfo, *args, **kwargs)

    async def getnameinfo(self, *args: Any) -> Any:
        return await self._run(socket.getnameinfo, *args)

    async def _run(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        loop = self._loop
        future = loop.create_future()

        def settle(outcome: tuple[bool, Any]) -> None:
            if not future.done():  # the request may have given up already
                ok, value = outcome
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

        def work() -> None:
            try:
                outcome: tuple[bool, Any] = (True, function(*args, **kwargs))
            except Exception as exc:
                outcome = (False, exc)
            with contextlib.suppress(RuntimeError):  # the loop ended: no one waits any more
                loop.call_soon_threadsafe(settle, outcome)

        threading.Thread(target=work, name="ails-dns", daemon=True).start()
        return await future


def resolver() -> aiohttp.abc.AbstractResolver:
    """Aiohttp's default resolver, with thread lookups on daemon threads of their own."""
    if aiohttp.resolver.DefaultResolver is not aiohttp.resolver.ThreadedResolver:
        return aiohttp.resolver.DefaultResolver()  # aiodns: asynchronous, cancellable
    loop = asyncio.get_running_loop()
    return aiohttp.resolver.ThreadedResolver(
        loop=cast(asyncio.AbstractEventLoop, _DaemonLookups(loop))
    )
