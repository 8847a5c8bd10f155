"""The error tree: who inherits from whom, and the data on the leaves."""

from __future__ import annotations

import builtins

import pytest

import ails.errors
from ails.domain import errors
from ails.domain.errors import (
    AilsError,
    ConnectError,
    ConnectTimeoutError,
    HTTPStatusError,
    IncompleteStreamError,
    ProtocolError,
    ProviderError,
    RateLimitError,
    TransportError,
    ValidationError,
)


class TestTree:
    @pytest.mark.parametrize(
        ("child", "parent"),
        [
            (ValidationError, AilsError),
            (ValidationError, ValueError),
            (TransportError, AilsError),
            (ConnectError, TransportError),
            (ConnectTimeoutError, ConnectError),
            (ConnectTimeoutError, errors.TimeoutError),
            (ConnectTimeoutError, builtins.TimeoutError),
            (errors.TimeoutError, TransportError),
            (errors.TimeoutError, builtins.TimeoutError),
            (errors.TimeoutError, OSError),
            (HTTPStatusError, AilsError),
            (RateLimitError, HTTPStatusError),
            (ProtocolError, AilsError),
            (IncompleteStreamError, ProtocolError),
            (ProviderError, AilsError),
            (AilsError, Exception),
        ],
    )
    def test_subclass_relations(self, child: type, parent: type) -> None:
        assert issubclass(child, parent)

    @pytest.mark.parametrize(
        ("child", "other"),
        [
            (ProviderError, ProtocolError),
            (ProtocolError, TransportError),
            (HTTPStatusError, TransportError),
            (TransportError, builtins.TimeoutError),
            (ValidationError, TypeError),
            # An idle or total timeout may come after the request was sent: it is
            # not a connect failure, which is the only kind that is retried.
            (errors.TimeoutError, ConnectError),
        ],
    )
    def test_branches_are_separate(self, child: type, other: type) -> None:
        assert not issubclass(child, other)

    def test_timeout_error_is_not_the_builtin_itself(self) -> None:
        assert errors.TimeoutError is not builtins.TimeoutError

    def test_generic_handlers_catch_ails_errors(self) -> None:
        with pytest.raises(builtins.TimeoutError):
            raise errors.TimeoutError("idle for 30 s")
        with pytest.raises(ValueError, match="bad"):
            raise ValidationError("bad")

    def test_public_module_re_exports_the_same_classes(self) -> None:
        assert ails.errors.__all__ == errors.__all__
        for name in errors.__all__:
            assert getattr(ails.errors, name) is getattr(errors, name)


class TestAttributes:
    def test_every_error_has_attempts_and_partial_text(self) -> None:
        error = ProviderError("x")

        assert (error.attempts, error.partial_text) == (0, "")

    def test_http_status_error_carries_status_and_body(self) -> None:
        error = HTTPStatusError("server error", status=502, body="<html>bad gateway")

        assert (error.status, error.body, str(error)) == (502, "<html>bad gateway", "server error")

    def test_http_status_error_body_defaults_to_empty(self) -> None:
        assert HTTPStatusError("x", status=500).body == ""

    def test_rate_limit_error_carries_retry_after(self) -> None:
        error = RateLimitError("slow down", body="{}", retry_after=30.0)

        assert (error.status, error.body, error.retry_after) == (429, "{}", 30.0)

    def test_rate_limit_error_retry_after_defaults_to_none(self) -> None:
        assert RateLimitError("slow down").retry_after is None

    def test_incomplete_stream_error_carries_partial_text(self) -> None:
        error = IncompleteStreamError("cut", partial_text="Hel")

        assert error.partial_text == "Hel"
        assert IncompleteStreamError("cut").partial_text == ""

    def test_provider_error_carries_code_and_detail(self) -> None:
        error = ProviderError("refresh", code="AI.LS: NEED REFRESH", detail="stale key")

        assert (error.code, error.detail) == ("AI.LS: NEED REFRESH", "stale key")

    def test_provider_error_code_and_detail_default(self) -> None:
        error = ProviderError("x")

        assert (error.code, error.detail) == (None, "")

    def test_attempts_and_partial_text_are_per_instance(self) -> None:
        first, second = TransportError("a"), TransportError("b")
        first.attempts = 3
        first.partial_text = "so far"

        assert (second.attempts, second.partial_text) == (0, "")
