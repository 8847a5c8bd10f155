"""The shipped fixtures under both profiles, retries, and requests the server accepts."""

from __future__ import annotations

from typing import Any

import pytest

import ails.errors
from ails.testing.conformance.base import ContractBase
from ails.testing.conformance.support import (
    CONTRACT_FIXTURES,
    OPENAI_KEY,
    ChatResult,
    ails_class,
    records_for,
)
from ails.testing.server import FakeServer


class FixtureCases(ContractBase):
    """Each fixture's tokens or error, under the ails and the openai profile."""

    def check_outcome(self, name: str, outcome: ChatResult, expect: dict[str, Any]) -> None:
        """The outcome is what the fixture's ``expect`` block says."""
        if "text" in expect:
            assert outcome.error is None, f"{name}: unexpected {outcome.error!r}"
            assert outcome.text == expect["text"]
            return
        error = outcome.error
        wanted = getattr(ails.errors, expect["error"])
        assert isinstance(error, wanted), f"{name}: expected {wanted.__name__}, got {error!r}"
        # Exactly that class: a ConnectError for a reset would be retried.
        assert ails_class(error) is wanted, f"{name}: expected {wanted.__name__}, got {error!r}"
        message = str(error)
        assert len(message) >= 20, f"{name}: the message says too little: {message!r}"
        for part in expect.get("message_contains", ()):
            assert part in message, f"{name}: {part!r} not in {message!r}"
        assert error.partial_text == expect.get("partial_text", "")
        assert outcome.text == error.partial_text
        for attribute in ("status", "code", "retry_after", "attempts"):
            if attribute in expect:
                assert getattr(error, attribute) == expect[attribute], attribute
        if "min_retry_after" in expect:
            retry_after = getattr(error, "retry_after", None)
            assert retry_after is not None
            assert retry_after >= expect["min_retry_after"]

    @pytest.mark.parametrize("name", CONTRACT_FIXTURES)
    def test_fixture(self, fake_server: FakeServer, name: str) -> None:
        """Each shipped fixture gives its expected text or its expected error."""
        fixture = fake_server.fixtures[name]
        url = fake_server.url_for(name)
        outcome = self.chat(url, call_options=fixture.call_options, **fixture.client_options)
        self.check_outcome(name, outcome, fixture.expect)
        if "attempts" in fixture.expect:
            assert len(records_for(fake_server, url)) == fixture.expect["attempts"]

    @pytest.mark.parametrize("name", CONTRACT_FIXTURES)
    def test_fixture_openai_profile(self, openai_server: FakeServer, name: str) -> None:
        """The same, with the openai profile against a strict OpenAI-compatible server."""
        fixture = openai_server.fixtures[name]
        url = openai_server.url_for(name)
        outcome = self.chat(
            url,
            call_options=fixture.call_options,
            profile="openai",
            api_key=OPENAI_KEY,
            **fixture.client_options,
        )
        self.check_outcome(name, outcome, fixture.expect)
        assert all(r.rejection is None for r in records_for(openai_server, url))

    def test_retries_then_answers(self, fake_server: FakeServer) -> None:
        """503 and 502 are retried; the third attempt answers; all were signed afresh."""
        url = fake_server.url_for("server-error-then-ok")
        outcome = self.chat(url)
        assert outcome.error is None
        assert outcome.text == fake_server.fixtures["server-error-then-ok"].expect["text"]
        sent = records_for(fake_server, url)
        assert len(sent) == 3
        assert all(r.rejection is None for r in sent)
        assert len({r.headers["client-id"] for r in sent}) == 3

    def test_requests_pass_the_server_checks(self, fake_server: FakeServer) -> None:
        """Headers, query, body and signature are what the service expects."""
        before = len(fake_server.requests)
        assert self.chat(fake_server.url).error is None
        record = fake_server.requests[before]
        assert record.rejection is None
        assert record.query == "full=false"
        assert record.json["stream"] is True

    def test_a_wrong_api_key_is_refused_by_the_openai_server(
        self, openai_server: FakeServer
    ) -> None:
        """The strict server refuses a wrong key with 401: an HTTPStatusError, not retried."""
        outcome = self.chat(openai_server.url, profile="openai", api_key="sk-wrong")
        assert ails_class(outcome.error) is ails.errors.HTTPStatusError  # type: ignore[arg-type]
        assert outcome.error.status == 401  # type: ignore[union-attr]
        assert outcome.error.attempts == 1  # type: ignore[union-attr]
