"""FakeServer's protocol checks: each broken rule is refused and named."""

from __future__ import annotations

import json
import uuid
from datetime import timezone

import attrs
import pytest

from ails.client.settings import build_request
from ails.domain.chunks import NEED_REFRESH
from ails.domain.messages import ChatRequest, Message
from ails.domain.profile import AILS_CLIENT_VERSION, Profile
from ails.domain.signing import DEFAULT_SECRET, Signer
from ails.testing.checks import Rejection, check_ails_request, check_openai_request

NOW_MS = 1_700_000_000_000


def _signed(content: str = "Привет 😀", *, now_ms: int = NOW_MS) -> tuple[dict[str, str], dict]:
    signer = Signer(clock=lambda: now_ms, tz=timezone.utc)
    request = build_request(
        ChatRequest([Message.user(content)]),
        base_url="http://127.0.0.1:1",
        profile=attrs.evolve(Profile.ails(), signer=signer),
        headers={},
        connect_timeout=None,
        read_timeout=None,
    )
    return dict(request.headers), json.loads(request.body)


def _check(headers, body, *, query="full=false", now_ms=NOW_MS) -> Rejection | None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return check_ails_request(
        query,
        headers,
        raw,
        secret=DEFAULT_SECRET,
        client_version=AILS_CLIENT_VERSION,
        now_ms=now_ms,
    )


class TestAilsChecks:
    def test_a_request_built_by_ails_passes(self):
        headers, body = _signed()
        assert _check(headers, body) is None

    def test_wrong_query(self):
        headers, body = _signed()
        assert _check(headers, body, query="full=true").code == "query"

    def test_missing_headers_are_listed(self):
        headers, body = _signed()
        del headers["origin"], headers["client-id"]
        rejection = _check(headers, body)
        assert rejection.code == "headers"
        assert "client-id" in rejection.message
        assert "origin" in rejection.message

    def test_content_type_must_be_json(self):
        headers, body = _signed()
        headers["content-type"] = "text/plain"
        assert _check(headers, body).code == "headers"

    def test_client_id_must_be_a_uuid4(self):
        headers, body = _signed()
        headers["client-id"] = str(uuid.uuid1())
        assert _check(headers, body).code == "client_id"

    def test_stale_client_version_needs_refresh(self):
        headers, body = _signed()
        headers["client-v"] = "0.1.26"
        rejection = _check(headers, body)
        assert (rejection.status, rejection.code) == (403, NEED_REFRESH)

    @pytest.mark.parametrize(
        ("mutate", "code"),
        [
            (lambda b: b"not json", "invalid_json"),
            (lambda b: b"[1, 2]", "invalid_json"),
            (lambda b: {**b, "messages": []}, "invalid_messages"),
            (lambda b: {**b, "messages": [{"role": "user"}]}, "invalid_messages"),
            (lambda b: {**b, "model": ""}, "invalid_model"),
            (lambda b: {**b, "stream": False}, "not_streaming"),
            (lambda b: {k: v for k, v in b.items() if k != "s"}, "signature"),
            (lambda b: {**b, "t": "1700000000002"}, "timestamp"),
            (lambda b: {**b, "t": "17000000x0001"}, "timestamp"),
            (lambda b: {**b, "t": "1600000000001"}, "timestamp"),
            (lambda b: {**b, "d": "1999-01-01"}, "date"),
            (lambda b: {**b, "s": "0" * 64}, "signature"),
        ],
    )
    def test_each_broken_body_rule_is_named(self, mutate, code):
        headers, body = _signed()
        assert _check(headers, mutate(body)).code == code

    def test_a_signature_over_len_instead_of_utf16_length_is_explained(self):
        headers, body = _signed("hi😀")
        legacy = Signer(length="python").sign("hi😀", now_ms=NOW_MS, tz=timezone.utc)
        rejection = _check(headers, {**body, **legacy.to_dict()})
        assert rejection.code == "signature"
        assert "UTF-16" in rejection.message

    def test_the_date_may_be_that_of_any_time_zone(self):
        headers, body = _signed()  # signed in UTC: 2023-11-14
        assert _check(headers, {**body, "d": "2023-11-15"}) is None  # UTC+3's date

    def test_rejection_body_is_a_json_error(self):
        rejection = Rejection(403, "signature", "s does not match")
        assert json.loads(rejection.body()) == {
            "error": {"code": "signature", "message": "s does not match"}
        }


OPENAI_BODY = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
OPENAI_HEADERS = {"authorization": "Bearer sk", "content-type": "application/json"}


class TestOpenAIChecks:
    BODY = OPENAI_BODY
    HEADERS = OPENAI_HEADERS

    def _check(self, headers, body, api_key="sk"):
        return check_openai_request("", headers, json.dumps(body).encode(), api_key=api_key)

    def test_a_plain_request_passes(self):
        assert self._check(self.HEADERS, self.BODY) is None

    def test_wrong_key_is_401(self):
        rejection = self._check({**self.HEADERS, "authorization": "Bearer no"}, self.BODY)
        assert (rejection.status, rejection.code) == (401, "invalid_api_key")

    def test_any_key_accepted_when_none_is_configured(self):
        assert self._check({"content-type": "application/json"}, self.BODY, api_key=None) is None

    def test_unknown_fields_are_rejected_like_strict_servers_do(self):
        rejection = self._check(self.HEADERS, {**self.BODY, "d": "x", "t": "1", "s": "2"})
        assert rejection.code == "unknown_fields"
        assert "d, s, t" in rejection.message

    def test_content_type_must_be_json(self):
        rejection = self._check({**self.HEADERS, "content-type": "text/plain"}, self.BODY)
        assert rejection.code == "headers"

    def test_body_shape_is_checked(self):
        assert self._check(self.HEADERS, {**self.BODY, "stream": False}).code == "not_streaming"
