"""Behaviours pinned after review: field order, retries of provider errors, policy checks."""

from __future__ import annotations

import pytest

from ails import Client, Message, RetryPolicy, ValidationError
from ails.domain.sse import ServerSentEvent
from ails.errors import ProviderError
from ails.testing import MockResponse, MockTransport

NEED_REFRESH_BODY = b'{"error": {"code": "AI.LS: NEED REFRESH", "message": "refresh"}}'


def test_server_sent_event_fields_are_in_the_documented_order():
    event = ServerSentEvent("update", "payload", "7", 1000)
    assert (event.event, event.data, event.id, event.retry) == ("update", "payload", "7", 1000)
    assert ServerSentEvent() == ServerSentEvent(event="message", data="", id="", retry=None)


def test_a_stale_profile_on_a_5xx_is_not_retried():
    transport = MockTransport(
        lambda request: MockResponse(
            status=500, headers={"content-type": "application/json"}, chunks=[NEED_REFRESH_BODY]
        )
    )
    client = Client(transport, base_url="http://test", sleep=lambda s: None)
    with client, pytest.raises(ProviderError, match="NEED REFRESH") as caught:
        client.complete([Message.user("hi")])
    assert len(transport.requests) == 1
    assert caught.value.attempts == 1


@pytest.mark.parametrize("field", ["initial_delay", "max_delay", "max_retry_after"])
@pytest.mark.parametrize("value", [-1, float("nan"), "1", True])
def test_retry_policy_delays_must_be_non_negative_numbers(field, value):
    with pytest.raises(ValidationError, match=field):
        RetryPolicy(**{field: value})
