"""``ails gateway``: an OpenAI-compatible HTTP server in front of an ``AsyncClient``.

Any OpenAI client (the ``openai`` SDKs, LangChain, editors) talks to it as to
the OpenAI API, and it answers through ails, so the Ails signing, retries,
timeouts and error mapping all apply. :func:`create_app` builds the
``aiohttp.web.Application`` (to run, mount or test); :mod:`~ails.gateway.runner`
serves it until a signal and drains it. The OpenAI wire shapes live in
:mod:`~ails.gateway.wire`, request validation in
:mod:`~ails.gateway.validation`, keys and limits in :mod:`~ails.gateway.limits`.
This package may import ``ails.client``, ``ails.domain``, ``ails.ports`` and
``ails.log``, and aiohttp; never ``ails.cli``.
"""

from ails.gateway.app import GatewayConfig, create_app
from ails.gateway.runner import BackgroundGateway, GatewayStartError, serve

__all__ = ["BackgroundGateway", "GatewayConfig", "GatewayStartError", "create_app", "serve"]
