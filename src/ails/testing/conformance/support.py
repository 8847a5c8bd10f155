"""What every part of the conformance kit shares: settings, the outcome of a chat, helpers."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import attrs
import pytest

from ails.client.policies import RetryPolicy, Timeout
from ails.domain import errors as _error_tree
from ails.domain.errors import AilsError
from ails.domain.messages import Message
from ails.testing.fixtures import builtin_fixtures
from ails.testing.server import FakeServer, RecordedRequest

#: Fast enough for a test suite, slow enough that a stall is unmistakable.
CONTRACT_TIMEOUT = Timeout(connect=5.0, idle=0.5, total=30.0)
#: Retries without real waiting: the fixtures send ``Retry-After: 0``.
CONTRACT_RETRY = RetryPolicy(max_retries=2, initial_delay=0.001, max_delay=0.01)
#: How long to wait for the server to notice a hang-up before failing.
DISCONNECT_WAIT = 5.0
#: The API key the ``openai``-profile cases present (it must never be logged).
OPENAI_KEY = "sk-ails-conformance-4f1c9e0b7d2a"

CONTRACT_FIXTURES = sorted(name for name, f in builtin_fixtures().items() if f.expect)
QUESTION = [Message.user("Привет! Как дела? 😀")]


@attrs.define
class Outcome:
    """What one chat produced: the tokens, the error that ended it if any, and how long."""

    tokens: list[str]
    error: AilsError | None
    seconds: float = 0.0

    @property
    def text(self) -> str:
        """The tokens joined."""
        return "".join(self.tokens)


def refused_port() -> int:
    """A loopback port with nothing listening (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ails_class(error: BaseException) -> type[BaseException]:
    """The most specific class from ``ails.errors`` that ``error`` is an instance of."""
    for cls in type(error).__mro__:
        if cls.__module__ == _error_tree.__name__:
            return cls
    return type(error)


def records_for(server: FakeServer, url: str) -> list[RecordedRequest]:
    """The requests the server received for a ``url_for()`` base URL."""
    prefix = url.split("127.0.0.1:", 1)[1].split("/", 1)[1]
    return [r for r in server.requests if r.path.startswith("/" + prefix + "/")]


def wait_for_record(server: FakeServer, url: str, timeout: float = 10.0) -> None:
    """Block until the server received a request for ``url``."""
    deadline = time.monotonic() + timeout
    count = len(server.requests)
    while not records_for(server, url):
        server.wait_for_requests(count + 1, max(deadline - time.monotonic(), 0.0))
        count = len(server.requests)


def record_for(server: FakeServer, url: str) -> RecordedRequest:
    """The last request the server received for ``url``; fails the case if there is none."""
    records = records_for(server, url)
    assert records, f"the server never saw a request for {url}"
    return records[-1]


def contract_options(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with the kit's timeout and retry policy where the case set none."""
    options.setdefault("timeout", CONTRACT_TIMEOUT)
    options.setdefault("max_retries", CONTRACT_RETRY)
    return options


def make_certificate(folder: Path) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1, made with the ``openssl`` command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return str(cert), str(key)
