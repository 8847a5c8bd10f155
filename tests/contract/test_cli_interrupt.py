"""Ctrl-C during ``ails chat``: exit 130 with one line, and the connection is closed.

The CLI runs as a real subprocess; the test waits for the first tokens on
its stdout (the readiness signal), sends SIGINT, and asks the server whether
the client hung up.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from ails.testing.server import FakeServer

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child is POSIX")


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with FakeServer(delay_scale=0.0) as running:
        yield running


def read_until(stream: int, wanted: bytes, timeout: float = 20.0) -> bytes:
    """Bytes from ``stream`` until ``wanted`` appears (or fail after ``timeout``)."""
    seen = b""
    deadline = time.monotonic() + timeout
    while wanted not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"never saw {wanted!r}; got {seen!r}"
        ready, _, _ = select.select([stream], [], [], remaining)
        if ready:
            data = os.read(stream, 4096)
            assert data, f"the CLI exited before {wanted!r}; got {seen!r}"
            seen += data
    return seen


@pytest.mark.parametrize("transport", ["requests", "aiohttp"])
def test_ctrl_c_mid_stream_closes_the_connection(server: FakeServer, transport: str) -> None:
    url = server.url_for("stall-mid-body")  # two tokens, then silence
    process = subprocess.Popen(
        [sys.executable, "-m", "ails", "chat", "--base-url", url, "--transport", transport, "hi"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        assert read_until(process.stdout.fileno(), b"The answer").startswith(b"The answer")
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 130
    assert err.decode().strip().endswith("ails: interrupted")
    assert b"Traceback" not in err
    records = [r for r in server.requests if r.path.startswith(url.split(str(server.port))[1])]
    assert records, "the server never saw the request"
    assert records[-1].disconnected.wait(5), "the server did not see the client hang up"
