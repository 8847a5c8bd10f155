"""Input checked before anything is sent: unsafe headers, API keys and base URLs."""

from __future__ import annotations

import pytest

import ails.errors
from ails.testing.conformance.base import ContractBase
from ails.testing.conformance.support import ails_class
from ails.testing.server import FakeServer

UNSAFE_HEADERS = (
    {"x-note": "a\r\nx-injected: 1"},
    {"x-note": "a\nb"},
    {"x-note": "a\rb"},
    {"x-note": "nul\0"},
    {"x-note": "vt\x0bdel\x7f"},
    {"x-note": " leading space"},
    {"x-note": "Привет"},
    {"bad name": "x"},
    {"x-note:": "x"},
    {"": "x"},
)
INVALID_BASE_URLS = (
    "ftp://127.0.0.1",
    "127.0.0.1:8787",
    "http://",
    "http://:8787",
    "http://127.0.0.1:99999",
    "http://[::1",
    "http://127.0.0.1/\r\nx-injected: 1",
    "http://127.0.0.1\t.evil",
    "http://exa mple.com",
    "http://127.0.0.1:8787/?q=1",
    "http://127.0.0.1:8787/#frag",
)


class ValidationCases(ContractBase):
    """Bad input is a ValidationError and no request reaches the server."""

    @pytest.mark.parametrize("headers", UNSAFE_HEADERS, ids=repr)
    def test_unsafe_headers_are_refused_before_sending(
        self, fake_server: FakeServer, headers: dict[str, str]
    ) -> None:
        """Controls, surrounding spaces or non-ASCII in a value, or a bad name: no request."""
        before = len(fake_server.requests)
        outcome = self.chat(fake_server.url, headers=headers)
        assert ails_class(outcome.error) is ails.errors.ValidationError  # type: ignore[arg-type]
        assert len(fake_server.requests) == before

    def test_an_api_key_with_a_line_break_is_refused(self, openai_server: FakeServer) -> None:
        """A key smuggling a header: ValidationError, no request, the key not echoed."""
        before = len(openai_server.requests)
        outcome = self.chat(openai_server.url, profile="openai", api_key="sk-1\r\nx-injected: 1")
        assert ails_class(outcome.error) is ails.errors.ValidationError  # type: ignore[arg-type]
        assert "sk-1" not in str(outcome.error)
        assert len(openai_server.requests) == before

    @pytest.mark.parametrize("base_url", INVALID_BASE_URLS, ids=repr)
    def test_invalid_base_urls_are_refused_before_sending(self, base_url: str) -> None:
        """Not an http(s) URL with a host, or holding controls: ValidationError."""
        outcome = self.chat(base_url)
        assert ails_class(outcome.error) is ails.errors.ValidationError  # type: ignore[arg-type]
        assert outcome.error.attempts == 0  # type: ignore[union-attr]
