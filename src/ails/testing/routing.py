"""Which fixture answers a request to the fake server, and with which reply counters.

A request picks its fixture by path (``/fixtures/<name>[/<scope>]`` before
the chat path, as :meth:`~ails.testing.FakeServer.url_for` makes), by the
``x-ails-fixture`` header, or by a fixture's ``match`` rule on the content of
its last message; anything else gets :data:`DEFAULT_FIXTURE`. A wrong path or
fixture name is answered 404, as the real service would.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from ails.testing.checks import Rejection
from ails.testing.fixtures import Fixture, unknown_fixture_message

__all__ = ["CHAT_PATH", "DEFAULT_FIXTURE", "select_fixture"]

#: The fixture a request gets when nothing names or matches another.
DEFAULT_FIXTURE = "default"
#: The one path the server answers, after an optional ``/fixtures/<name>[/<scope>]``.
CHAT_PATH = "/v1/chat/completions"


def select_fixture(
    fixtures: Mapping[str, Fixture], path: str, headers: Mapping[str, str], body: bytes
) -> tuple[Fixture, str] | Rejection:
    """The fixture and reply scope for a request, or a 404 for a path or name that is wrong.

    ``headers`` have lower-cased names. The scope (``""`` unless the path
    names one) keys the fixture's reply counter, so each ``url_for`` URL
    replays from the first reply.
    """
    named, scope, rest = None, "", path
    if path.startswith("/fixtures/"):
        named, _, rest = path.removeprefix("/fixtures/").partition("/")
        rest = "/" + rest
        head, _, tail = rest[1:].partition("/")
        if head and head != "v1":  # /fixtures/<name>/<scope>/v1/...
            scope, rest = head, "/" + tail
    if rest != CHAT_PATH:
        return Rejection(
            404,
            "not_found",
            f"FakeServer answers POST {CHAT_PATH}, not {path}; "
            "use base_url=server.url or server.url_for(name)",
        )
    named = named or headers.get("x-ails-fixture")
    if named is not None:
        if named not in fixtures:
            return Rejection(404, "unknown_fixture", unknown_fixture_message(named, fixtures))
        return fixtures[named], scope
    try:
        content = json.loads(body)["messages"][-1]["content"]
    except (ValueError, KeyError, IndexError, TypeError, RecursionError):
        content = None
    if isinstance(content, str):
        for fixture in fixtures.values():
            if fixture.match is not None and fixture.match.search(content):
                return fixture, ""
    return fixtures[DEFAULT_FIXTURE], ""
