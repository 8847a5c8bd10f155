"""Helpers for the gateway tests: a gateway in front of a FakeServer, clients that stay local."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import openai

from ails import AsyncClient
from ails.gateway import BackgroundGateway, create_app
from ails.testing import FakeServer
from ails.testing.fixtures import builtin_fixtures

QUESTION = [{"role": "user", "content": "Привет! Как дела?"}]
MODEL = "gpt-3.5-turbo"

#: Every bundled fixture that ends in an answer (and needs no special client setup).
TEXT_FIXTURES = sorted(
    name
    for name, fixture in builtin_fixtures().items()
    if "text" in fixture.expect and not fixture.client_options and not fixture.realtime
)


async def no_sleep(seconds: float) -> None:
    """Retries without waiting: the fixtures' Retry-After values are not what is tested."""


def upstream(base_url: str, **kw: Any) -> AsyncClient:
    kw.setdefault("sleep", no_sleep)
    return AsyncClient(base_url=base_url, **kw)


@contextmanager
def gateway(base_url: str, *, client: dict[str, Any] | None = None, **app: Any) -> Iterator[str]:
    """A running gateway in front of ``base_url``; yields the URL for OpenAI clients."""
    options = client or {}
    with BackgroundGateway(create_app(lambda: upstream(base_url, **options), **app)) as running:
        yield running.url


def sdk(url: str, **kw: Any) -> openai.OpenAI:
    """The official sync client: local only, no retries (each test says what it expects)."""
    kw.setdefault("api_key", "not-checked")
    kw.setdefault("max_retries", 0)
    kw.setdefault("timeout", 20.0)
    return openai.OpenAI(base_url=url, **kw)


def async_sdk(url: str, **kw: Any) -> openai.AsyncOpenAI:
    """The official async client, set up as :func:`sdk`."""
    kw.setdefault("api_key", "not-checked")
    kw.setdefault("max_retries", 0)
    kw.setdefault("timeout", 20.0)
    return openai.AsyncOpenAI(base_url=url, **kw)


def fake_server(**kw: Any) -> FakeServer:
    kw.setdefault("delay_scale", 0.0)
    return FakeServer(**kw)


@contextmanager
def gateway_process(*args: str, quiet: bool = True) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``ails gateway`` as a real process on 127.0.0.1 and a free port; yields it and its URL.

    Ready once it printed its URL (the socket listens then). Killed on the way
    out if it still runs; its stderr (the log) is then in ``process.stderr``.
    """
    command = [sys.executable, "-m", "ails", "gateway", "--port", "0", *args]
    if quiet:
        command.append("--quiet")
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "AILS_BASE_URL": ""},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # blocks until the socket listens
        assert "OpenAI-compatible API at http://127.0.0.1:" in first, first
        yield process, first.rsplit(" ", 1)[1].strip()
    finally:
        if process.poll() is None:
            process.kill()
        if process.stdout is not None and not process.stdout.closed:
            process.communicate(timeout=10)
