"""The browser tests' setup: Debian's Chromium through Playwright, a gateway process, fixtures.

One browser per module (launching costs about a second); a fresh context
(its own storage) per test. The gateway is a real ``ails gateway`` process
in front of a :class:`~ails.testing.FakeServer` with the fixtures below.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ails.testing import FakeServer
from ails.testing.fixtures import Fixture, parse_fixture

#: Where Debian's chromium package puts the browser; AILS_CHROMIUM overrides it.
CHROMIUM = os.environ.get("AILS_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HOW_TO_GET_THEM = (
    "the page's browser tests need Chromium and Playwright: "
    "apt-get install -y chromium chromium-driver (Debian/Ubuntu, as root), then make install "
    "(Playwright comes with the dev extra; never `playwright install`); "
    "AILS_CHROMIUM=/path/to/chromium points at another build"
)

XSS = (
    "Hello <script>window.__pwned = 1</script> "
    '<img src="x" onerror="window.__pwned = 2"> '
    "[click me](javascript:window.__pwned=3) "
    '<a href="javascript:window.__pwned=4">raw link</a> '
    "<svg><script>window.__pwned = 5</script></svg> "
    '<button onclick="window.__pwned=6">fake button</button> '
    "[safe](https://example.com/)"
)
WIDE = (
    "See "
    + "x" * 400
    + "\n\n```python\nprint('"
    + "y" * 300
    + "')\n```\n\nhttps://example.com/"
    + "z" * 200
)


def chunk(content: str | None = None, finish: str | None = None) -> str:
    delta = {} if content is None else {"content": content}
    body = {
        "id": "chatcmpl-page",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "gpt-3.5-turbo",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


def reply(tokens: Sequence[str], delay: float) -> dict[str, Any]:
    steps = [{"delay": 0.0, "data": chunk()}]
    steps += [{"delay": delay, "data": chunk(token)} for token in tokens]
    steps += [
        {"delay": 0.0, "data": chunk(finish="stop")},
        {"delay": 0.0, "data": "data: [DONE]\n\n"},
    ]
    return {"status": 200, "headers": {"content-type": "text/event-stream"}, "body": steps}


def fixture(
    name: str,
    match: str,
    answers: Sequence[Sequence[str]],
    delay: float = 0.0,
    realtime: bool = False,
) -> Fixture:
    raw = {
        "name": name,
        "match": match,
        "realtime": realtime,
        "replies": [reply(tokens, delay) for tokens in answers],
    }
    return parse_fixture(raw, name)


def words(text: str) -> list[str]:
    parts = text.split(" ")
    return [parts[0], *(" " + part for part in parts[1:])]


SLOW_TOKENS = [f" s{i}" for i in range(40)]
LONG_TOKENS = [f" w{i}" for i in range(600)]

PAGE_FIXTURES = {
    f.name: f
    for f in (
        fixture("xss", r"(?i)\bpayload\b", [words(XSS)]),
        fixture("wide", r"(?i)\bwide\b", [[WIDE]]),
        fixture("counter", r"(?i)\bcount\b", [["answer one"], ["answer two"], ["answer three"]]),
        # 40 tokens, 60 ms apart in real time: a reload lands while it streams.
        fixture("slow", r"(?i)\bslowly\b", [SLOW_TOKENS], delay=0.06, realtime=True),
        # Long enough (36 s) that only Stop ends it within a test.
        fixture("endless", r"(?i)\bendless\b", [LONG_TOKENS], delay=0.06, realtime=True),
        fixture(
            "medium", r"(?i)\bmedium\b", [[f" m{i}" for i in range(30)]], delay=0.03, realtime=True
        ),
        # The upstream refuses (a 4xx is not retried): the page says so.
        parse_fixture(
            {
                "name": "broken",
                "match": r"(?i)\bbroken\b",
                "replies": [
                    {
                        "status": 400,
                        "headers": {"content-type": "application/json"},
                        "body": [{"data": '{"error": {"message": "no such thing"}}'}],
                    }
                ],
            },
            "broken",
        ),
    )
}


def chromium_available() -> str | None:
    """Why no browser can be driven here, or ``None`` when one can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed"
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"no Chromium at {CHROMIUM}"
    return None


class Gateway:
    """A running ``ails gateway`` process and where its history is."""

    def __init__(self, process: subprocess.Popen[str], url: str, home: Path) -> None:
        self.process = process
        self.url = url  # the page, http://127.0.0.1:PORT/
        self.home = home

    @property
    def history(self) -> Path:
        return self.home / "history.db"


@contextmanager
def run_gateway(base_url: str, home: Path, *args: str) -> Iterator[Gateway]:
    """``ails gateway --port 0`` in front of ``base_url``, its history in ``home``."""
    env = {**os.environ, "AILS_HOME": str(home), "AILS_BASE_URL": "", "AILS_GATEWAY_KEY": ""}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ails",
            "gateway",
            "--port",
            "0",
            "--quiet",
            "--base-url",
            base_url,
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # blocks until the socket listens
        assert "OpenAI-compatible API at http://127.0.0.1:" in first, (
            first + process.stderr.read() if process.stderr else first
        )
        api = first.rsplit(" ", 1)[1].strip()
        yield Gateway(process, api.removesuffix("v1"), home)
    finally:
        process.terminate()
        try:
            process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate(timeout=10)


def fake_server() -> FakeServer:
    return FakeServer(fixtures=PAGE_FIXTURES, delay_scale=0.0)
