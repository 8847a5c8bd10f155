"""The gateway's typed application state, shared by the app factory and the handlers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import attrs
from aiohttp import web

from ails.domain.messages import DEFAULT_MODEL
from ails.gateway.connections import ConnectionLimits
from ails.gateway.door import Door
from ails.gateway.limits import OpenStreams, StreamSlots
from ails.log import Logger

if TYPE_CHECKING:
    from ails.client.clients import AsyncClient

__all__ = ["GATEWAY", "Gateway", "GatewayConfig"]


def _to_tuple(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


@attrs.frozen
class GatewayConfig:
    """How the gateway behaves; every field has a safe default.

    ``models`` is what ``GET /v1/models`` lists. ``require_key`` makes every
    request carry ``Authorization: Bearer <key>`` (401 otherwise).
    ``max_body_bytes`` bounds a request body (400 beyond); ``max_streams``
    bounds concurrent upstream streams: a request beyond it waits up to
    ``stream_wait`` seconds for one to end, then gets a 429. ``drain_timeout``
    is how long shutdown lets open answers finish before stopping them.
    ``allow_hosts`` and ``allow_origins`` open the door (see
    :mod:`ails.gateway.door`) to more ``Host`` names and browser origins;
    ``limits`` are the client deadlines and the connection cap.
    ``drop_unsupported`` makes a request to an upstream that sends no options
    (the ``ails`` profile) leave out the options it cannot send, such as
    ``max_tokens``, instead of refusing it with a 400.
    """

    models: tuple[str, ...] = attrs.field(default=(DEFAULT_MODEL,), converter=_to_tuple)
    require_key: str | None = attrs.field(default=None, repr=lambda key: "<set>" if key else "None")
    max_body_bytes: int = 1024 * 1024
    max_streams: int = 64
    drain_timeout: float = 10.0
    drop_unsupported: bool = False
    owned_by: str = "ails"
    stream_wait: float = 30.0
    allow_hosts: tuple[str, ...] = attrs.field(default=(), converter=_to_tuple)
    allow_origins: tuple[str, ...] = attrs.field(default=(), converter=_to_tuple)
    limits: ConnectionLimits = attrs.field(factory=ConnectionLimits)


@attrs.define(eq=False)
class Gateway:
    """Everything a handler needs: the config, the upstream client, the limits, the logger."""

    config: GatewayConfig
    slots: StreamSlots
    streams: OpenStreams
    logger: Logger
    #: Which requests are answered; :func:`~ails.gateway.serve` sets it for the bound address.
    door: Door = attrs.field(factory=lambda: Door.for_listening("127.0.0.1"))
    #: Set while the app runs (see the cleanup context in ``create_app``).
    client: AsyncClient | None = None


GATEWAY = web.AppKey("ails.gateway", Gateway)
