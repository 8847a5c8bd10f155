"""Mounting the page on a gateway app: ``/``, its assets, its API; the history opened and closed.

:func:`add_page` adds the routes to the app :func:`ails.gateway.create_app`
made, so the page is served by the same process, behind the same key and
the same door as ``/v1``. The assets are the files in ``assets/`` (shipped
in the wheel), read once and served from memory with an ETag; every page
response carries a strict Content-Security-Policy: scripts and styles only
from this origin, no inline script, no eval, nothing from any other host.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator, Callable
from importlib import resources

import attrs
from aiohttp import web

from ails.conversations.store import ConversationStore
from ails.gateway.state import GATEWAY
from ails.page.api import routes
from ails.page.state import PAGE, Page

__all__ = ["CONTENT_SECURITY_POLICY", "add_page", "assets"]

#: No inline script or style, no eval, no plugin, no frame, no other origin.
#: Images only from here or ``data:``: an answer's ``![](https://...)`` cannot
#: call home.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'; object-src 'none'"
)

_SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "x-frame-options": "DENY",
}

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
}


@attrs.frozen
class Asset:
    """One file of the page, in memory: its bytes, type and ETag."""

    body: bytes
    content_type: str
    etag: str


def assets() -> dict[str, Asset]:
    """Every file under the package's ``assets/`` by its path there (``vendor/marked.esm.js``)."""
    found: dict[str, Asset] = {}
    root = resources.files("ails.page") / "assets"

    def walk(folder: resources.abc.Traversable, prefix: str) -> None:
        for entry in folder.iterdir():
            name = f"{prefix}{entry.name}"
            if entry.is_dir():
                walk(entry, f"{name}/")
                continue
            kind = _TYPES.get(os.path.splitext(entry.name)[1])
            if kind is None:
                continue  # licenses' odd names, maps: not served
            body = entry.read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
            found[name] = Asset(body, kind, etag)

    walk(root, "")
    return found


def _serve(asset: Asset, request: web.Request) -> web.Response:
    headers = {**_SECURITY_HEADERS, "etag": asset.etag, "cache-control": "no-cache"}
    if request.headers.get("if-none-match") == asset.etag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=asset.body, headers={**headers, "content-type": asset.content_type})


def add_page(
    app: web.Application,
    store_factory: Callable[[], ConversationStore] = ConversationStore,
) -> web.Application:
    """Serve the chat page on ``app`` (made by :func:`ails.gateway.create_app`); returns ``app``.

    ``store_factory`` opens the history when the app starts (the default:
    ``$AILS_HOME/history.db``, the one ``ails chat`` uses); it is closed when
    the app stops, after the answers still streaming were given the
    gateway's ``drain_timeout`` to finish and were saved.
    """
    if GATEWAY not in app:
        raise ValueError("add_page needs the app ails.gateway.create_app made")
    files = assets()
    index = files["index.html"]

    async def page_index(request: web.Request) -> web.StreamResponse:
        return _serve(index, request)

    async def asset(request: web.Request) -> web.StreamResponse:
        found = files.get(request.match_info["name"])
        if found is None:
            raise web.HTTPNotFound()
        return _serve(found, request)

    page = Page()
    app[PAGE] = page

    async def history(app: web.Application) -> AsyncIterator[None]:
        page.opened = store_factory()
        try:
            yield
        finally:
            page.opened.close()
            page.opened = None

    async def drain(app: web.Application) -> None:
        await page.live.drain(app[GATEWAY].config.drain_timeout)

    app.cleanup_ctx.append(history)
    app.on_shutdown.append(drain)
    app.router.add_get("/", page_index)
    app.router.add_get("/page/assets/{name:.+}", asset)
    routes(app.router)
    return app
