"""The error tree: who inherits from whom, and the data on the leaves."""

from __future__ import annotations

import builtins
import concurrent.futures
import copy
import pickle

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

    def test_attempts_and_partial_text_are_given_at_construction(self) -> None:
        first = TransportError("a", attempts=3, partial_text="so far")
        second = TransportError("b")

        assert (first.attempts, first.partial_text) == (3, "so far")
        assert (second.attempts, second.partial_text) == (0, "")
        # Instance fields, never class attributes shadowed later.
        assert "attempts" not in vars(AilsError)

    def test_leaves_take_attempts_and_partial_text_too(self) -> None:
        error = HTTPStatusError("x", status=502, attempts=2, partial_text="Hi")

        assert (error.attempts, error.partial_text, error.status) == (2, "Hi", 502)


def _every_error() -> list[AilsError]:
    return [
        AilsError("root", attempts=1),
        ValidationError("bad input"),
        TransportError("reset", attempts=2, partial_text="Hel"),
        ConnectError("refused", attempts=3),
        errors.TimeoutError("idle for 1 s", attempts=1, partial_text="so far"),
        ConnectTimeoutError("connect took 2 s", attempts=3),
        HTTPStatusError("HTTP 500", status=500, body="<html>", attempts=3),
        RateLimitError("HTTP 429", body="{}", retry_after=30.0, attempts=3),
        ProtocolError("not a stream", attempts=1, partial_text="Hi"),
        IncompleteStreamError("cut", partial_text="Hel", attempts=1),
        ProviderError("refresh", code="AI.LS: NEED REFRESH", detail="stale", attempts=1),
        errors.HistoryError("cannot read", path="/tmp/h.db"),
        errors.ConversationNotFoundError("no such id", path="/tmp/h.db", conversation_id="ab"),
    ]


def _fields(error: BaseException) -> tuple[object, ...]:
    return (type(error), error.args, str(error), vars(error))


def raise_in_worker(error: AilsError) -> None:
    """Run in a child process: raise ``error`` there, for the pool to carry back."""
    raise error


class TestPickle:
    @pytest.mark.parametrize("error", _every_error(), ids=lambda e: type(e).__name__)
    @pytest.mark.parametrize("protocol", [0, pickle.DEFAULT_PROTOCOL, pickle.HIGHEST_PROTOCOL])
    def test_round_trip_keeps_class_message_and_fields(
        self, error: AilsError, protocol: int
    ) -> None:
        restored = pickle.loads(pickle.dumps(error, protocol=protocol))

        assert _fields(restored) == _fields(error)

    def test_copy_keeps_fields(self) -> None:
        error = RateLimitError("HTTP 429", retry_after=2.0, attempts=3)

        assert _fields(copy.copy(error)) == _fields(error)
        assert _fields(copy.deepcopy(error)) == _fields(error)

    def test_a_subclass_with_its_own_keyword_fields_round_trips(self) -> None:
        class QuotaError(HTTPStatusError):
            def __init__(self, message: str, *, quota: int) -> None:
                super().__init__(message, status=429)
                self.quota = quota

        # A local class cannot be pickled by reference; copy uses the same protocol.
        restored = copy.copy(QuotaError("over", quota=15))

        assert (type(restored), restored.quota, restored.status) == (QuotaError, 15, 429)

    def test_a_process_pool_re_raises_the_error_in_the_parent(self) -> None:
        errors_ = _every_error()
        with concurrent.futures.ProcessPoolExecutor(max_workers=1) as pool:
            futures = [pool.submit(raise_in_worker, error) for error in errors_]
            for error, future in zip(errors_, futures, strict=True):
                raised = future.exception(timeout=30)
                assert raised is not None
                assert _fields(raised) == _fields(error)
