"""Secrets stay out of reprs, messages and logs; unsafe input is refused before sending."""

from __future__ import annotations

import logging

import attrs
import pytest
import structlog
from client_support import Driver, mock, ok, status
from structlog.testing import capture_logs

import ails
import ails.testing
from ails import HttpRequest, Profile, Signer
from ails.client.settings import Settings, resolve_base_url
from ails.domain.signing import DEFAULT_SECRET
from ails.errors import ValidationError
from ails.log import REDACTED, default_logger, redact_secrets
from ails.ports.http import redact_url
from ails.transports.aiohttp_transport import AiohttpTransport
from ails.transports.requests_transport import RequestsTransport

API_KEY = "sk-unit-secret-2718"


class TestBaseUrl:
    @pytest.mark.parametrize(
        "url",
        [
            "http://[::1",  # urlsplit raises a bare ValueError
            "http://127.0.0.1\t.evil",  # urlsplit drops tabs without a word
            "http://127.0.0.1:80\n/x",
            "http://127.0.0.1:80/\r",
            "http://host\x7f",
            "http://host\x00",
            "http://ho st",
            "http://host\u00a0name",
        ],
    )
    def test_broken_or_control_characters_are_validation_errors(self, url: str) -> None:
        with pytest.raises(ValidationError):
            resolve_base_url(url)

    @pytest.mark.parametrize(
        "url", ["http://[::1]:8787", "https://api.example.com/prefix", "http://привет.рф"]
    )
    def test_ordinary_urls_pass(self, url: str) -> None:
        assert resolve_base_url(url) == url


class TestRedactUrl:
    def test_removes_credentials_only(self) -> None:
        assert redact_url("https://user:pw@host:8443/p?q=1") == "https://host:8443/p?q=1"

    def test_leaves_a_plain_url_alone(self) -> None:
        assert redact_url("http://127.0.0.1:8787/x") == "http://127.0.0.1:8787/x"


class TestReprs:
    def test_clients_hide_credentials_in_the_base_url(self) -> None:
        for cls in (ails.Client, ails.AsyncClient):
            client = cls(
                ails.testing.MockTransport(lambda r: ok()),
                base_url="http://user:hunter2@127.0.0.1:8787",
                profile="openai",
                api_key=API_KEY,
                headers={"x-api-key": "hdr-secret"},
            )
            shown = repr(client) + repr(client._settings)
            assert "127.0.0.1:8787" in shown
            for secret in ("hunter2", API_KEY, "hdr-secret"):
                assert secret not in shown

    def test_profiles_signers_and_signatures_hide_the_secret(self) -> None:
        profile = Profile.ails().with_secret("my-own-secret", "0.1.300").with_api_key(API_KEY)
        shown = repr(profile) + repr(profile.signer) + repr(Signer().sign("hi"))
        shown += repr(Profile.openai(API_KEY))
        for secret in ("my-own-secret", DEFAULT_SECRET, API_KEY):
            assert secret not in shown

    def test_a_request_shows_header_names_not_values(self) -> None:
        request = HttpRequest(
            method="POST",
            url="http://u:pw@host/v1",
            headers=(("authorization", f"Bearer {API_KEY}"),),
            body=b'{"messages":[{"role":"user","content":"my secret question"}]}',
        )
        shown = repr(request)
        assert "authorization" in shown
        for secret in (API_KEY, "my secret question", "pw@"):
            assert secret not in shown

    def test_transports_hide_proxy_credentials(self) -> None:
        proxy = "http://user:proxy-pw@127.0.0.1:3128"
        assert "proxy-pw" not in repr(RequestsTransport(proxy=proxy))
        assert "proxy-pw" not in repr(AiohttpTransport(proxy=proxy))


class TestLogBodies:
    async def test_off_by_default(self, driver: Driver) -> None:
        await driver.collect(mock(ok("private", " answer")))
        event = driver.logger.only
        assert "messages" not in event
        assert "answer" not in event

    async def test_opting_in_adds_messages_and_answer_but_no_signature(
        self, driver: Driver
    ) -> None:
        transport = mock(ok("private", " answer"))
        await driver.collect(transport, log_bodies=True)
        event = driver.logger.only
        assert event["messages"] == [{"role": "user", "content": "Привет! Как дела?"}]
        assert event["answer"] == "private answer"
        rendered = repr(event)
        assert DEFAULT_SECRET not in rendered
        assert "Bearer" not in rendered
        assert '"s"' not in rendered

    async def test_a_failed_completion_logs_the_partial_answer(self, driver: Driver) -> None:
        await driver.fail(mock(*[status(503)] * 3), log_bodies=True)
        assert driver.logger.only["answer"] == ""

    def test_settings_default_to_off(self) -> None:
        assert attrs.fields_dict(Settings)["log_bodies"].default is False


class TestRedactSecrets:
    def test_masks_credential_fields_at_any_depth(self) -> None:
        event = {
            "event": "x",
            "authorization": "Bearer k",
            "headers": {"Authorization": "Bearer k", "accept": "*/*", "x-api-key": "k"},
            "body": [{"s": "abc", "t": "1"}],
            "tokens": 3,
        }
        assert redact_secrets(None, "info", event) == {
            "event": "x",
            "authorization": REDACTED,
            "headers": {"Authorization": REDACTED, "accept": "*/*", "x-api-key": REDACTED},
            "body": [{"s": REDACTED, "t": "1"}],
            "tokens": 3,
        }

    def test_the_default_logger_applies_it(self, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.INFO, logger="ails")
        default_logger().info("probe", api_key="k-123", tokens=1)
        (record,) = [r for r in caplog.records if r.name == "ails"]
        assert "k-123" not in record.getMessage()
        assert "tokens=1" in record.getMessage()

    def test_it_fits_a_structlog_chain(self) -> None:
        with capture_logs(processors=[redact_secrets]) as logs:
            structlog.get_logger().info("probe", secret="s-1")
        assert logs[0]["secret"] == REDACTED


def test_redact_url_survives_a_malformed_url() -> None:
    assert redact_url("http://user:pw@[::1") == "<a malformed URL>"


@pytest.mark.parametrize(
    "url",
    [
        "http://user:hunter2@127.0.0.1:99999",
        "ftp://user:hunter2@host",
        "http://user:hunter2@host/?q=1",
        "http://user:hunter2@[::1",
        "http://user:hunter2@host\t.x",
    ],
)
def test_base_url_errors_do_not_repeat_credentials(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        resolve_base_url(url)
    assert "hunter2" not in str(caught.value)
