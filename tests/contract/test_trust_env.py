"""trust_env on both adapters: off by default (no netrc, proxy or CA bundle from the environment),
proxies and CA bundle only when asked, and proxy credentials never in an error message."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import ails.errors
from ails import AsyncClient, Client, Message
from ails.testing import FakeServer
from ails.testing.conformance.support import make_certificate
from ails.testing.proxy import ForwardProxy
from ails.transports.aiohttp_transport import AiohttpTransport
from ails.transports.requests_transport import RequestsTransport

from .raw_server import RawServer, read_request

ADAPTERS = ["requests", "aiohttp"]
SECRET = "s3cret-proxy-pass"


def chat(adapter: str, url: str, **transport_options: Any) -> Any:
    """One completion through a fresh transport: the text, or the ails error."""
    try:
        if adapter == "requests":
            transport = RequestsTransport(**transport_options)
            with Client(transport, base_url=url, max_retries=0) as client:
                return client.complete([Message.user("Привет")])

        async def run() -> str:
            transport = AiohttpTransport(**transport_options)
            async with AsyncClient(transport, base_url=url, max_retries=0) as client:
                return await client.complete([Message.user("Привет")])

        return asyncio.run(run())
    except ails.errors.AilsError as error:
        return error


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with FakeServer(delay_scale=0.0) as fake:
        yield fake


@pytest.fixture(scope="module")
def tls_server(certificate: tuple[str, str]) -> Iterator[FakeServer]:
    with FakeServer(delay_scale=0.0, certfile=certificate[0], keyfile=certificate[1]) as fake:
        yield fake


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    with ForwardProxy() as forward:
        yield forward


@pytest.fixture
def environment(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    proxy: ForwardProxy,
    certificate: tuple[str, str],
) -> None:
    """A home with a .netrc for 127.0.0.1, proxies and a CA bundle in the environment."""
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login netrc-user password netrc-pass\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(netrc))
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, proxy.url)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certificate[0])


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.usefixtures("environment")
def test_the_environment_is_ignored_by_default(
    adapter: str, server: FakeServer, tls_server: FakeServer, proxy: ForwardProxy
) -> None:
    answer = chat(adapter, server.url)
    assert isinstance(answer, str), answer
    assert server.requests[-1].headers["authorization"] == "Bearer free"  # no netrc
    assert proxy.targets == []  # no proxy
    error = chat(adapter, tls_server.url)  # the CA bundle in the environment is not trusted
    assert isinstance(error, ails.errors.ConnectError), error
    assert "certificate" in str(error).lower()


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.usefixtures("environment")
def test_trust_env_takes_proxies_and_the_ca_bundle_never_netrc(
    adapter: str, server: FakeServer, tls_server: FakeServer, proxy: ForwardProxy
) -> None:
    answer = chat(adapter, server.url, trust_env=True)
    assert isinstance(answer, str), answer
    assert server.requests[-1].headers["authorization"] == "Bearer free"
    assert proxy.targets == [f"{server.url}/v1/chat/completions?full=false"]
    answer = chat(adapter, tls_server.url, trust_env=True)
    assert isinstance(answer, str), answer
    assert proxy.targets[-1] == f"127.0.0.1:{tls_server.port}"  # tunnelled, CA from the env


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.usefixtures("environment")
def test_no_proxy_is_honoured_with_trust_env(
    adapter: str, server: FakeServer, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert isinstance(chat(adapter, server.url, trust_env=True), str)
    assert proxy.targets == []


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_a_malformed_proxy_variable_is_a_validation_error_without_its_password(
    adapter: str, server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://user:{SECRET}@127.0.0.1:notaport")
    monkeypatch.setenv("http_proxy", f"http://user:{SECRET}@127.0.0.1:notaport")
    error = chat(adapter, server.url, trust_env=True)
    assert isinstance(error, ails.errors.ValidationError), error
    assert SECRET not in str(error)
    assert SECRET not in repr(error.__cause__ or "")


def _refused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_a_dead_proxy_with_credentials_is_reported_without_them(
    adapter: str, server: FakeServer
) -> None:
    proxy = f"http://user:{SECRET}@127.0.0.1:{_refused_port()}"
    error = chat(adapter, server.url, proxy=proxy)
    assert isinstance(error, ails.errors.ConnectError), error
    assert SECRET not in str(error)


def refuse_with_407(sock: socket.socket, stop: threading.Event) -> None:
    """A proxy that wants other credentials: 407 to every request, CONNECT included."""
    read_request(sock)
    sock.sendall(
        b"HTTP/1.1 407 Proxy Authentication Required\r\n"
        b'proxy-authenticate: Basic realm="p"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n'
    )


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_a_407_from_a_tls_proxy_names_no_credentials(adapter: str, tls_server: FakeServer) -> None:
    with RawServer(refuse_with_407) as fake_proxy:
        proxy = fake_proxy.url.replace("http://", f"http://user:{SECRET}@")
        error = chat(adapter, tls_server.url, proxy=proxy)
    assert isinstance(error, ails.errors.AilsError), error
    assert SECRET not in str(error)
    assert "user:" not in str(error)
