"""Errors a newcomer meets first say what to do: the profile, a 501, a TLS handshake.

A 400 that names the signature fields says which profile to use; 501 and
505 are not retried and do not say "try again later"; a TLS handshake that
failed (a certificate, or plain HTTP on the port) is not retried.
"""

from __future__ import annotations

import json
import ssl

import pytest
from client_support import Driver, mock, ok, status

from ails.client.policies import RetryPolicy
from ails.domain.bodies import body_error
from ails.errors import ConnectError, HTTPStatusError
from ails.ports.tls import speaks_plain_http, tls_failure

OPENAI_STYLE = b'{"error": {"message": "Unrecognized request arguments supplied: d, s, t"}}'
PYDANTIC_STYLE = json.dumps(
    {"detail": [{"type": "extra_forbidden", "loc": ["body", "d"], "msg": "Extra inputs"}]}
).encode()
FAKE_SERVER_STYLE = (
    b'{"error": {"code": "unknown_fields", "message": "unrecognized request fields: d, s, t"}}'
)


class TestWrongProfile:
    @pytest.mark.parametrize("body", [OPENAI_STYLE, PYDANTIC_STYLE, FAKE_SERVER_STYLE])
    @pytest.mark.parametrize("code", [400, 422])
    def test_a_complaint_about_d_t_s_names_the_profile(self, body, code):
        error = body_error(code, "", body, retry_after=None, signing_profile="ails")
        assert str(error).startswith(
            f"HTTP {code}: the server rejected the signature fields d, t, s that the 'ails' "
            "profile sends; for an OpenAI-compatible server use the openai profile "
            '(profile="openai", or --profile openai)'
        )

    @pytest.mark.parametrize(
        "body",
        [
            b'{"error": {"message": "The model \'gpt-x\' does not exist"}}',
            b"it's not a valid request",
            b'{"error": "messages: field required"}',
        ],
    )
    def test_other_400s_keep_the_model_and_messages_hint(self, body):
        error = body_error(400, "", body, retry_after=None, signing_profile="ails")
        assert "check the model name and messages" in str(error)

    def test_a_profile_that_sends_no_signature_is_not_blamed(self):
        error = body_error(400, "", OPENAI_STYLE, retry_after=None, signing_profile=None)
        assert "check the model name and messages" in str(error)

    async def test_the_client_names_its_profile(self, driver: Driver) -> None:
        error = await driver.fail(mock(status(400, OPENAI_STYLE)))
        assert "the 'ails' profile sends" in str(error)

    async def test_the_openai_profile_is_not_told_to_use_itself(self, driver: Driver) -> None:
        error = await driver.fail(mock(status(400, OPENAI_STYLE)), profile="openai", api_key="k")
        assert "check the model name and messages" in str(error)


class TestPermanentServerErrors:
    @pytest.mark.parametrize("code", [501, 505])
    def test_not_retryable(self, code):
        assert not RetryPolicy().retryable_status(code)

    @pytest.mark.parametrize("code", [500, 502, 503, 504, 599])
    def test_the_other_5xx_still_are(self, code):
        assert RetryPolicy().retryable_status(code)

    async def test_501_fails_at_once_without_try_again_later(self, driver: Driver) -> None:
        transport = mock(status(501, b"Unsupported method ('POST')"), ok())
        error = await driver.fail(transport)
        assert isinstance(error, HTTPStatusError)
        assert error.attempts == 1
        assert driver.sleeps == []
        assert "try again later" not in str(error)
        assert "HTTP 501: the server does not implement this request; check that base_url" in str(
            error
        )


def _tls_error(reason: str) -> ConnectError:
    inner = ssl.SSLError(1, f"[SSL: {reason}] ({reason.lower()})")
    inner.reason = reason  # type: ignore[misc]  # set by OpenSSL in real failures
    try:
        raise ConnectError("TLS failed") from inner
    except ConnectError as error:
        return error


class TestTlsHandshake:
    async def test_a_tls_failure_is_not_retried(self, driver: Driver) -> None:
        transport = mock(_tls_error("WRONG_VERSION_NUMBER"), ok())
        error = await driver.fail(transport)
        assert isinstance(error, ConnectError)
        assert error.attempts == 1
        assert driver.sleeps == []
        assert len(transport.requests) == 1

    async def test_a_certificate_failure_is_not_retried(self, driver: Driver) -> None:
        transport = mock(_tls_error("CERTIFICATE_VERIFY_FAILED"), ok())
        await driver.fail(transport)
        assert len(transport.requests) == 1

    async def test_a_refused_connection_still_is(self, driver: Driver) -> None:
        transport = mock(ConnectError("refused"), ok())
        assert await driver.collect(transport) == ["Hello", " world"]
        assert len(transport.requests) == 2

    @pytest.mark.parametrize(
        "reason", ["WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG"]
    )
    def test_plain_http_is_recognised_by_openssl_reason(self, reason):
        assert speaks_plain_http(_tls_error(reason))

    def test_a_certificate_problem_is_not_plain_http(self):
        assert not speaks_plain_http(_tls_error("CERTIFICATE_VERIFY_FAILED"))
        assert tls_failure(_tls_error("CERTIFICATE_VERIFY_FAILED")) is not None

    def test_the_informative_error_wins_over_a_wrapper(self):
        # aiohttp's ClientConnectorSSLError is an SSLError without a reason,
        # holding OpenSSL's in its args.
        informative = _tls_error("WRONG_VERSION_NUMBER").__cause__
        wrapper = ssl.SSLError(None, "wrapper")
        wrapper.args = ("127.0.0.1:443", informative)
        assert tls_failure(wrapper) is informative

    def test_no_tls_no_failure(self):
        assert tls_failure(ConnectError("refused")) is None
