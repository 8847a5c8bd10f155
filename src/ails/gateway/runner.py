"""Serving the gateway: until a stop event (the CLI's signals), or in a background thread.

Both stop the same way: stop listening, let open answers finish for the
app's ``drain_timeout`` (``on_shutdown``), stop what is left, close the
upstream client. Handlers are cancelled when their client hangs up, so the
upstream stream closes at once.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from aiohttp import web

from ails.domain.errors import AilsError
from ails.gateway.connections import GuardedSite, OpenConnections, connection_factory
from ails.gateway.door import Door
from ails.gateway.state import GATEWAY

__all__ = ["BackgroundGateway", "GatewayStartError", "base_url", "serve"]

#: Seconds aiohttp waits for handlers after ``on_shutdown`` (which drains
#: them already); only a handler that ignores being stopped needs it.
_HANDLER_GRACE = 5.0


class GatewayStartError(AilsError, RuntimeError):
    """A :class:`BackgroundGateway` did not start listening in time, or its thread ended."""


def base_url(host: str, port: int) -> str:
    """The base URL to give an OpenAI client, ``http://host:port/v1``."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/v1"


async def serve(
    app: web.Application,
    *,
    host: str = "127.0.0.1",
    port: int = 8788,
    stop: asyncio.Event,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve ``app`` on ``host:port`` until ``stop`` is set, then drain and close it.

    ``on_ready`` gets the base URL once the socket listens (``port=0`` picks
    a free port). A gateway app (:func:`~ails.gateway.create_app`) is served
    with its client deadlines and connection cap, and answers only requests
    for ``host`` and the names of this machine (see :mod:`ails.gateway.door`).
    """
    gateway = app.get(GATEWAY)
    drain = gateway.config.drain_timeout if gateway is not None else 0.0
    handler_args: dict[str, Any] = {"access_log": None}  # the gateway logs each request itself
    if gateway is not None:
        handler_args.update(gateway.config.limits.handler_args())
    runner = web.AppRunner(
        app,
        handler_cancellation=True,
        shutdown_timeout=_HANDLER_GRACE + drain,
        **handler_args,
    )
    await runner.setup()
    try:
        site: web.BaseSite
        if gateway is not None:
            config = gateway.config
            gateway.door = Door.for_listening(
                host, allow_hosts=config.allow_hosts, allow_origins=config.allow_origins
            )
            factory = connection_factory(
                runner,
                config.limits,
                OpenConnections(config.limits.max_connections),
                gateway.logger,
                **handler_args,
            )
            site = GuardedSite(runner, host, port, factory)
        else:
            site = web.TCPSite(runner, host, port)
        await site.start()
        if on_ready is not None:
            on_ready(base_url(host, runner.addresses[0][1]))
        await stop.wait()
    finally:
        await runner.cleanup()


class BackgroundGateway:
    """A gateway app served on 127.0.0.1 from a background thread, as a context manager.

    ``with BackgroundGateway(create_app(...)) as gateway: OpenAI(base_url=gateway.url)``.
    For tests, demos and notebooks: the calling thread may block on a sync
    OpenAI client meanwhile.
    """

    def __init__(self, app: web.Application, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._app = app
        self._host = host
        self._port = port
        self._ready = threading.Event()
        self._url: str | None = None
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._abandoned = False

    @property
    def url(self) -> str:
        """The base URL for an OpenAI client, ``http://127.0.0.1:<port>/v1``."""
        if self._url is None:
            raise RuntimeError("the gateway is not running; use it as a context manager")
        return self._url

    def start(self, timeout: float = 30.0) -> BackgroundGateway:
        """Start serving; returns once the socket listens (or raises why it could not).

        Raises :class:`GatewayStartError` if it does not listen within
        ``timeout`` seconds (the app's startup, such as its client factory,
        hangs) or the server thread ended without listening; the error the
        server raised, if any, is raised itself.
        """
        self._thread = threading.Thread(target=self._run, name="ails-gateway", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            # It stops as soon as it listens (stop() waits for that); being a
            # daemon thread, it cannot keep the process alive meanwhile.
            self._abandon()
            raise GatewayStartError(
                f"the gateway did not start listening within {timeout:g} s; its startup "
                "(the client factory, the app's startup hooks) may hang"
            )
        if self._error is not None:
            self._thread.join()
            raise self._error
        if self._url is None:
            self._thread.join()
            raise GatewayStartError("the gateway's server thread ended without listening")
        return self

    def stop(self) -> None:
        """Stop serving: drain open answers and close the upstream client."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _abandon(self) -> None:
        self._abandoned = True
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            await serve(
                self._app,
                host=self._host,
                port=self._port,
                stop=self._stop,
                on_ready=self._on_ready,
            )

        try:
            asyncio.run(main())
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
        finally:
            self._ready.set()

    def _on_ready(self, url: str) -> None:
        if self._abandoned:  # start() gave up waiting: stop at once
            assert self._stop is not None
            self._stop.set()
            return
        self._url = url
        self._ready.set()

    def __enter__(self) -> BackgroundGateway:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"BackgroundGateway(url={self._url!r})"
