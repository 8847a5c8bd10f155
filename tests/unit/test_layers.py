"""The package's layers hold, and every documented import path keeps working.

The layer rules (``docs/architecture.md``) are checked on the source itself:
each module under ``src/ails`` is parsed with ``ast`` and every import in it,
lazy ones inside functions included, is compared with what its package may
import. A new module is covered as soon as it exists.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "ails"

#: Third-party or I/O modules the pure domain must never import.
IO_MODULES = frozenset(
    {
        "aiohttp",
        "asyncio",
        "http",
        "httpx",
        "logging",
        "requests",
        "select",
        "selectors",
        "socket",
        "sqlite3",
        "ssl",
        "structlog",
        "subprocess",
        "urllib3",
    }
)

#: The front door: the top-level modules (``ails/__init__.py`` is "ails").
FRONT = frozenset({"ails", "ails.__main__", "ails._version", "ails.api", "ails.errors", "ails.log"})

#: What each package may import of ails (its own package is always allowed).
#: ``None`` means anything of ails except ``ails.cli``.
ALLOWED: dict[str, frozenset[str] | None] = {
    "ails.domain": frozenset({"ails._version"}),  # the version, for the openai user-agent
    "ails.ports": frozenset({"ails.domain"}),
    "ails.transports": frozenset({"ails.domain", "ails.ports", "ails.log", "ails._version"}),
    "ails.client": frozenset(
        {"ails.domain", "ails.ports", "ails.log", "ails._version", "ails.transports"}
    ),
    "ails.conversations": frozenset({"ails.client", "ails.domain", "ails.ports", "ails.log"}),
    "ails.gateway": frozenset(
        {"ails.client", "ails.domain", "ails.ports", "ails.log", "ails._version"}
    ),
    # The page composes the gateway and the history, which never import each other.
    "ails.page": frozenset(
        {
            "ails.gateway",
            "ails.conversations",
            "ails.client",
            "ails.domain",
            "ails.ports",
            "ails.log",
            "ails._version",
        }
    ),
    "ails.testing": None,
    # The front door's leaves: the errors' public home and the log event.
    "ails.errors": frozenset({"ails.domain"}),
    "ails.log": frozenset({"ails.domain"}),  # the record it logs, for type checking
}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> list[tuple[str, Path]]:
    return sorted((module_name(path), path) for path in SRC.rglob("*.py"))


def imports(name: str, path: Path) -> Iterator[str]:
    """Every module ``path`` imports, absolute, lazy imports included."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                yield f"{base}.{node.module}" if node.module else base
            else:
                assert node.module is not None
                yield node.module


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def layer_of(name: str) -> str | None:
    for package in ALLOWED:
        if within(name, package):
            return package
    return None


def violations() -> Iterator[str]:
    for name, path in modules():
        layer = layer_of(name)
        for imported in imports(name, path):
            top = imported.partition(".")[0]
            if within(imported, "ails.cli") and not (
                within(name, "ails.cli") or name == "ails.__main__"
            ):
                yield f"{name} imports {imported}: nothing but ails.cli imports ails.cli"
            if within(imported, "ails.page") and not (
                within(name, "ails.page") or within(name, "ails.cli")
            ):
                yield f"{name} imports {imported}: nothing but ails.cli imports ails.page"
            if layer == "ails.domain":
                if top in IO_MODULES:
                    yield f"{name} imports {imported}: the domain does no I/O"
                elif top not in sys.stdlib_module_names and top not in ("attrs", "ails"):
                    yield f"{name} imports {imported}: the domain uses only stdlib and attrs"
            if top != "ails" or layer is None or within(imported, layer):
                continue
            allowed = ALLOWED[layer]
            if allowed is None:
                continue
            if imported == "ails" or not any(within(imported, ok) for ok in allowed):
                yield f"{name} imports {imported}: {layer} may import only {sorted(allowed)}"


class TestLayers:
    def test_no_module_imports_against_the_layers(self) -> None:
        assert list(violations()) == []

    def test_the_check_sees_every_package(self) -> None:
        names = {name for name, _ in modules()}

        # A renamed package would silently turn its rule off: every rule must see its package.
        for package in ALLOWED:
            assert package in names, package
        assert "ails.cli" in names

    @pytest.mark.parametrize(
        ("name", "source", "complaint"),
        [
            ("ails.domain.x", "import requests", "the domain does no I/O"),
            ("ails.domain.x", "import numpy", "only stdlib and attrs"),
            ("ails.domain.x", "from ails.client import Client", "ails.domain may import"),
            ("ails.ports.x", "from ails.log import Logger", "ails.ports may import"),
            ("ails.transports.x", "from ails.client.run import x", "ails.transports may"),
            ("ails.client.x", "def f():\n    from ails.cli import main", "ails.cli"),
            ("ails.testing.x", "from ails.cli.main import main", "ails.cli"),
            ("ails.conversations.x", "from ails.gateway import create_app", "ails.conversations"),
            ("ails.gateway.x", "from ails.transports import aiohttp_transport", "ails.gateway"),
            ("ails.gateway.x", "from ails.conversations import Conversation", "ails.gateway"),
            ("ails.log", "from ails.client import Client", "ails.log may import"),
            ("ails.page.x", "from ails.testing import FakeServer", "ails.page may import"),
            ("ails.page.x", "from ails.cli import main", "ails.cli"),
            ("ails.gateway.x", "from ails.page import add_page", "ails.page"),
            ("ails.testing.x", "from ails.page import add_page", "nothing but ails.cli"),
            ("ails.errors", "from ails.client.run import CompletionRun", "ails.errors may"),
        ],
    )
    def test_the_check_catches_a_wrong_import(
        self,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        name: str,
        source: str,
        complaint: str,
    ) -> None:
        root = tmp_path / "ails"
        path = root.joinpath(*name.split(".")[1:]).with_suffix(".py")
        path.parent.mkdir(parents=True)
        path.write_text(source + "\n", encoding="utf-8")
        monkeypatch.setattr(sys.modules[__name__], "SRC", root)

        found = list(violations())

        assert found
        assert any(complaint in line for line in found), found


#: Every import path DESIGN.md and the docs show users, with a name from each.
PUBLIC_PATHS = [
    ("ails", "Client"),
    ("ails", "AsyncClient"),
    ("ails", "Message"),
    ("ails", "ChatRequest"),
    ("ails", "Signer"),
    ("ails", "Profile"),
    ("ails", "RetryPolicy"),
    ("ails", "Timeout"),
    ("ails", "format_timestamp"),
    ("ails", "create_completion"),
    ("ails", "acreate_completion"),
    ("ails", "Conversation"),
    ("ails", "AsyncConversation"),
    ("ails", "ConversationStore"),
    ("ails", "TokenStream"),
    ("ails", "AsyncTokenStream"),
    ("ails.errors", "AilsError"),
    ("ails.errors", "ValidationError"),
    ("ails.errors", "TransportError"),
    ("ails.errors", "ConnectError"),
    ("ails.errors", "TimeoutError"),
    ("ails.errors", "HTTPStatusError"),
    ("ails.errors", "RateLimitError"),
    ("ails.errors", "ProtocolError"),
    ("ails.errors", "IncompleteStreamError"),
    ("ails.errors", "ProviderError"),
    ("ails.transports.requests_transport", "RequestsTransport"),
    ("ails.transports.aiohttp_transport", "AiohttpTransport"),
    ("ails.domain.sse", "SSEParser"),
    ("ails.domain.sse", "ServerSentEvent"),
    ("ails.domain.signing", "Signer"),
    ("ails.domain.signing", "js_length"),
    ("ails.ports", "HttpRequest"),
    ("ails.ports", "StreamResponse"),
    ("ails.ports", "Transport"),
    ("ails.ports", "AsyncTransport"),
    ("ails.log", "redact_secrets"),
    ("ails.testing", "FakeServer"),
    ("ails.testing", "MockTransport"),
    ("ails.testing", "MockResponse"),
    ("ails.testing", "RecordingTransport"),
    ("ails.testing", "chat_stream"),
    ("ails.testing.conformance", "SyncTransportContract"),
    ("ails.testing.conformance", "AsyncTransportContract"),
    ("ails.testing.proxy", "ForwardProxy"),
    ("ails.gateway", "create_app"),
    ("ails.gateway", "BackgroundGateway"),
    ("ails.cli", "main"),
]


class TestPublicPaths:
    @pytest.mark.parametrize(("module", "name"), PUBLIC_PATHS)
    def test_the_documented_import_path_works(self, module: str, name: str) -> None:
        assert hasattr(importlib.import_module(module), name)

    def test_the_sse_parser_keeps_its_public_shape(self) -> None:
        from ails.domain.sse import ServerSentEvent, SSEParser

        parser = SSEParser()
        assert parser.feed(b"event: e\nid: 7\nretry: 5\ndata: x\n\n") == [
            ServerSentEvent(event="e", data="x", id="7", retry=5)
        ]
        assert parser.close() == []


class TestClientSignatures:
    def test_both_clients_take_the_same_keywords_spelled_out(self) -> None:
        import inspect

        from ails import AsyncClient, Client

        sync, asynchronous = inspect.signature(Client), inspect.signature(AsyncClient)

        assert list(sync.parameters) == list(asynchronous.parameters)
        assert {"base_url", "timeout", "max_retries", "json_loads", "sleep"} <= set(sync.parameters)
        # Complete signatures for IDEs and type checkers: no **kwargs catch-all.
        kinds = {p.kind for p in sync.parameters.values()}
        assert inspect.Parameter.VAR_KEYWORD not in kinds
