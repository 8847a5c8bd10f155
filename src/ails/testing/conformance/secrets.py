"""Secrets in logs: every case runs with all loggers at DEBUG, and no record holds a secret."""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

from ails.domain.signing import DEFAULT_SECRET
from ails.testing.conformance.base import ContractBase
from ails.testing.conformance.support import OPENAI_KEY, QUESTION, record_for
from ails.testing.server import FakeServer, RecordedRequest


class _Records(logging.Handler):
    """Keeps every log record of every logger while a case runs."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def rendered(self) -> list[str]:
        """Each record as text: its message, and every attribute, extras included."""
        texts = []
        for record in self.records:
            try:
                message = record.getMessage()
            except (TypeError, ValueError):
                message = str(record.msg)
            texts.append(f"{message} {record.__dict__!r}")
        return texts


@contextlib.contextmanager
def _capture_logs() -> Iterator[_Records]:
    """Route every logger's records, DEBUG included, to one handler for the block."""
    root = logging.getLogger()
    handler = _Records()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _check_no_secrets(texts: list[str], records: list[RecordedRequest]) -> None:
    """Fail if any log text holds the question, the secret, a key or a signature."""
    question = QUESTION[-1].content
    forbidden = [
        question,
        json.dumps(question)[1:-1],  # as an ASCII-escaped JSON body shows it
        question.encode("utf-8").hex(),
        DEFAULT_SECRET,
        OPENAI_KEY,
        "Bearer ",
    ]
    signatures = {
        body["s"]
        for body in (record.json for record in records)
        if isinstance(body, dict) and isinstance(body.get("s"), str)
    }
    for text in texts:
        for secret in forbidden:
            assert secret not in text, f"a log record holds {secret!r}: {text[:300]}"
        # Signatures are 64 hex digits: find candidates once, not each signature.
        leaked = signatures.intersection(_HEX64.findall(text))
        assert not leaked, f"a log record holds a signature: {text[:300]}"


_HEX64 = re.compile(r"[0-9a-f]{64}")


class SecretCases(ContractBase):
    """No secret in any log record, and contents only when explicitly asked for."""

    @pytest.fixture(autouse=True)
    def no_secrets_logged(self, request: pytest.FixtureRequest) -> Iterator[None]:
        """Every case runs with all loggers at DEBUG; no record may hold a secret."""
        servers = [
            request.getfixturevalue(name)
            for name in ("fake_server", "openai_server", "tls_server")
            if name in request.fixturenames
        ]
        starts = [len(server.requests) for server in servers]
        with _capture_logs() as logs:
            yield
        if request.node.name.startswith("test_log_bodies"):
            return  # the one case that opts in to logging contents
        seen = [r for s, start in zip(servers, starts, strict=True) for r in s.requests[start:]]
        _check_no_secrets(logs.rendered(), seen)

    @pytest.mark.parametrize("profile", ["ails", "openai"])
    def test_logs_hold_numbers_not_contents(
        self, fake_server: FakeServer, openai_server: FakeServer, profile: str
    ) -> None:
        """With every logger at DEBUG: one completion event, and no content or secret."""
        server = fake_server if profile == "ails" else openai_server
        key: dict[str, Any] = {"api_key": OPENAI_KEY} if profile == "openai" else {}
        with _capture_logs() as logs:
            outcome = self.chat(server.url_for("ru-greeting"), profile=profile, **key)
        assert outcome.error is None
        events = [r for r in logs.records if r.name == "ails"]
        assert len(events) == 1, "one event per completion"
        assert "outcome='complete'" in events[0].getMessage()
        answer = server.fixtures["ru-greeting"].expect["text"]
        for text in logs.rendered():
            assert answer not in text
        # no_secrets_logged checks the question, keys and signatures.

    def test_log_bodies_is_an_explicit_opt_in(self, fake_server: FakeServer) -> None:
        """``log_bodies=True`` adds the messages and the answer, still no secret or signature."""
        url = fake_server.url_for("ru-greeting")
        with _capture_logs() as logs:
            outcome = self.chat(url, log_bodies=True, logger=None)
        assert outcome.error is None
        (event,) = [r.getMessage() for r in logs.records if r.name == "ails"]
        assert QUESTION[-1].content in event
        assert outcome.text in event
        sent = record_for(fake_server, url)
        for secret in (DEFAULT_SECRET, sent.json["s"], "Bearer "):
            assert secret not in event
