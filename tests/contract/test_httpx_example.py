"""The httpx transport of docs/examples passes the conformance kit, as the docs promise."""

from __future__ import annotations

import asyncio
import importlib.util
import ssl
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from ails.ports import AsyncTransport, Transport
from ails.testing.conformance import AsyncTransportContract, SyncTransportContract, leaks

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "httpx_transport.py"


def _load_example() -> ModuleType:
    """Import the example file as a user would have it: a module of their own."""
    spec = importlib.util.spec_from_file_location("httpx_transport", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


example = _load_example()


def _httpx_options(proxy: str | None, verify: bool | str) -> dict[str, Any]:
    """The kit's ``proxy=``/``verify=`` options as httpx spells them.

    httpx takes an ``SSLContext`` where requests takes a CA bundle path.
    """
    if isinstance(verify, str):
        verify = ssl.create_default_context(cafile=verify)
    return {"proxy": proxy, "verify": verify, "limits": example.LIMITS}


class TestHttpxTransport(SyncTransportContract):
    def make_transport(self, proxy: str | None = None, verify: bool | str = True) -> Transport:
        return example.HttpxTransport(httpx.Client(**_httpx_options(proxy, verify)))


class TestAsyncHttpxTransport(AsyncTransportContract):
    @pytest.fixture(autouse=True)
    def _lighter_load(self, monkeypatch: pytest.MonkeyPatch) -> None:
        # The kit's load case runs thousands of streams; through httpx that
        # takes some 20 s. Three times httpx's default pool of 100 connections
        # still proves the example lifts the cap, for a fraction of the time.
        # The load case reads the constant from the module that holds it.
        monkeypatch.setattr(leaks, "CONCURRENT_STREAMS", 300)

    def make_transport(self, proxy: str | None = None, verify: bool | str = True) -> AsyncTransport:
        return example.AsyncHttpxTransport(httpx.AsyncClient(**_httpx_options(proxy, verify)))


def test_the_example_implements_the_ports():
    transport = example.HttpxTransport()
    try:
        assert isinstance(transport, Transport)
    finally:
        transport.close()
    async_transport = example.AsyncHttpxTransport()
    try:
        assert isinstance(async_transport, AsyncTransport)
    finally:
        asyncio.run(async_transport.aclose())
