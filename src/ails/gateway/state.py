"""The gateway's typed application state, shared by the app factory and the handlers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import attrs
from aiohttp import web

from ails.domain.messages import DEFAULT_MODEL
from ails.gateway.limits import OpenStreams, StreamSlots
from ails.log import Logger

if TYPE_CHECKING:
    from ails.client.clients import AsyncClient

__all__ = ["GATEWAY", "Gateway", "GatewayConfig"]


def _to_models(models: Iterable[str]) -> tuple[str, ...]:
    return tuple(models)


@attrs.frozen
class GatewayConfig:
    """How the gateway behaves; every field has a safe default.

    ``models`` is what ``GET /v1/models`` lists. ``require_key`` makes every
    request carry ``Authorization: Bearer <key>`` (401 otherwise).
    ``max_body_bytes`` bounds a request body (400 beyond); ``max_streams``
    bounds concurrent upstream streams (429 beyond). ``drain_timeout`` is how
    long shutdown lets open answers finish before stopping them.
    ``drop_unsupported`` makes a request to an upstream that sends no options
    (the ``ails`` profile) leave out the options it cannot send, such as
    ``max_tokens``, instead of refusing it with a 400.
    """

    models: tuple[str, ...] = attrs.field(default=(DEFAULT_MODEL,), converter=_to_models)
    require_key: str | None = attrs.field(default=None, repr=lambda key: "<set>" if key else "None")
    max_body_bytes: int = 1024 * 1024
    max_streams: int = 64
    drain_timeout: float = 10.0
    drop_unsupported: bool = False
    owned_by: str = "ails"


@attrs.define(eq=False)
class Gateway:
    """Everything a handler needs: the config, the upstream client, the limits, the logger."""

    config: GatewayConfig
    slots: StreamSlots
    streams: OpenStreams
    logger: Logger
    #: Set while the app runs (see the cleanup context in ``create_app``).
    client: AsyncClient | None = None


GATEWAY = web.AppKey("ails.gateway", Gateway)
