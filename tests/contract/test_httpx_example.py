"""The httpx transport of docs/examples passes the conformance kit, as the docs promise."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from ails.ports import AsyncTransport, Transport
from ails.testing.conformance import AsyncTransportContract, SyncTransportContract

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


class TestHttpxTransport(SyncTransportContract):
    def make_transport(self) -> Transport:
        return example.HttpxTransport()


class TestAsyncHttpxTransport(AsyncTransportContract):
    def make_transport(self) -> AsyncTransport:
        return example.AsyncHttpxTransport()


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
