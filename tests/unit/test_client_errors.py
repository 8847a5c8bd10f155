"""How the clients turn failed answers into ails errors: statuses, bodies, broken streams."""

from __future__ import annotations

import json

import pytest
from client_support import ROLE, STOP, Driver, mock, ok, status, token

from ails.errors import (
    AilsError,
    HTTPStatusError,
    IncompleteStreamError,
    ProtocolError,
    ProviderError,
    RateLimitError,
    TransportError,
)
from ails.testing import DONE, MockResponse, chat_chunk, chat_stream, sse_event

JSON = {"content-type": "application/json"}
NEED_REFRESH = json.dumps({"error": {"code": "AI.LS: NEED REFRESH", "message": "refresh"}})


class TestStatus:
    async def test_4xx_is_an_http_status_error_with_status_and_body(self, driver: Driver) -> None:
        transport = mock(status(404, b"no route here"))
        error = await driver.fail(transport)
        assert type(error) is HTTPStatusError
        assert error.status == 404
        assert error.body == "no route here"
        assert "HTTP 404" in str(error)
        assert "base_url" in str(error)  # the hint says what to check
        assert "no route here" in str(error)
        assert error.attempts == 1
        assert transport.open_responses == 0

    async def test_the_body_excerpt_is_bounded_and_the_rest_is_not_read(
        self, driver: Driver
    ) -> None:
        response = MockResponse(status=400, chunks=[b"x" * 1000] * 100)
        transport = mock(response)
        error = await driver.fail(transport)
        assert isinstance(error, HTTPStatusError)
        assert len(error.body) == 4096
        assert response.consumed == 5
        assert response.closed

    async def test_429_is_a_rate_limit_error_with_retry_after(self, driver: Driver) -> None:
        transport = mock(status(429, b"slow down", {"Retry-After": "3"}))
        error = await driver.fail(transport, max_retries=0)
        assert isinstance(error, RateLimitError)
        assert error.status == 429
        assert error.retry_after == 3.0
        assert error.body == "slow down"
        assert "retry after 3 s" in str(error)

    async def test_429_without_retry_after(self, driver: Driver) -> None:
        transport = mock(status(429))
        error = await driver.fail(transport, max_retries=0)
        assert isinstance(error, RateLimitError)
        assert error.retry_after is None

    @pytest.mark.parametrize("code", [400, 403, 500])
    async def test_need_refresh_json_body_is_a_provider_error(
        self, driver: Driver, code: int
    ) -> None:
        transport = mock(status(code, NEED_REFRESH.encode(), JSON))
        error = await driver.fail(transport, max_retries=0)
        assert isinstance(error, ProviderError)
        assert error.code == "AI.LS: NEED REFRESH"
        assert "with_secret" in str(error)  # it says how to fix it

    async def test_other_json_errors_stay_http_status_errors(self, driver: Driver) -> None:
        body = json.dumps({"error": {"code": "bad_model", "message": "no such model"}})
        transport = mock(status(400, body.encode(), JSON))
        error = await driver.fail(transport)
        assert type(error) is HTTPStatusError
        assert "no such model" in error.body

    async def test_a_body_that_only_looks_like_json(self, driver: Driver) -> None:
        transport = mock(status(400, b"{not json at all", JSON))
        error = await driver.fail(transport)
        assert type(error) is HTTPStatusError
        assert error.body == "{not json at all"

    async def test_redirects_are_not_followed_or_retried(self, driver: Driver) -> None:
        transport = mock(status(302, headers={"location": "https://elsewhere.test/"}))
        error = await driver.fail(transport)
        assert isinstance(error, HTTPStatusError)
        assert error.status == 302
        assert len(transport.requests) == 1


class TestNotAStream:
    async def test_200_json_error_body_is_a_provider_error(self, driver: Driver) -> None:
        transport = mock(status(200, NEED_REFRESH.encode(), JSON))
        error = await driver.fail(transport)
        assert isinstance(error, ProviderError)
        assert error.code == "AI.LS: NEED REFRESH"
        assert transport.open_responses == 0

    async def test_200_json_error_with_a_message(self, driver: Driver) -> None:
        body = json.dumps({"error": {"message": "daily quota exhausted"}})
        transport = mock(status(200, body.encode(), {"Content-Type": "application/json"}))
        error = await driver.fail(transport)
        assert isinstance(error, ProviderError)
        assert error.detail == "daily quota exhausted"

    async def test_200_json_without_an_error_is_a_protocol_error(self, driver: Driver) -> None:
        body = json.dumps({"choices": [{"message": {"content": "hi"}}]})
        transport = mock(status(200, body.encode(), JSON))
        error = await driver.fail(transport)
        assert type(error) is ProtocolError
        assert "text/event-stream" in str(error)

    async def test_200_html_page_is_a_protocol_error(self, driver: Driver) -> None:
        page = b"<!doctype html><html><body>Just a moment...</body></html>"
        transport = mock(status(200, page, {"content-type": "text/html; charset=utf-8"}))
        error = await driver.fail(transport)
        assert type(error) is ProtocolError
        assert "text/html" in str(error)
        assert "Just a moment" in str(error)
        assert transport.open_responses == 0

    async def test_a_large_html_page_is_not_read_to_the_end(self, driver: Driver) -> None:
        page = MockResponse(headers={"content-type": "text/html"}, chunks=[b"<p>" * 333] * 100)
        error = await driver.fail(mock(page))
        assert type(error) is ProtocolError
        assert page.consumed == 5  # enough for the 4 KiB excerpt
        assert page.closed

    async def test_empty_html_body_is_a_protocol_error_too(self, driver: Driver) -> None:
        transport = mock(status(200, b"", {"content-type": "text/html"}))
        error = await driver.fail(transport)
        assert type(error) is ProtocolError


class TestStreamErrors:
    async def test_error_event_is_a_provider_error(self, driver: Driver) -> None:
        chunks = [ROLE, sse_event({"error": {"code": "overloaded", "message": "busy"}}), DONE]
        transport = mock(MockResponse(chunks=chunks))
        error = await driver.fail(transport)
        assert isinstance(error, ProviderError)
        assert error.code == "overloaded"
        assert transport.open_responses == 0

    async def test_a_service_notice_as_first_token_is_a_provider_error(
        self, driver: Driver
    ) -> None:
        notice = "Лимит запросов исчерпан, зайдите на ai.ls завтра"
        outcome = await driver.drain(mock(ok(notice)))
        assert isinstance(outcome.error, ProviderError)
        assert outcome.tokens == []  # the notice is never handed out as answer text

    async def test_a_later_mention_of_ai_ls_is_answer_text(self, driver: Driver) -> None:
        transport = mock(ok("Sure", ", ai.ls is a chat site."))
        assert await driver.collect(transport) == ["Sure", ", ai.ls is a chat site."]

    async def test_notice_pattern_none_disables_the_check(self, driver: Driver) -> None:
        transport = mock(ok("see ai.ls"))
        assert await driver.collect(transport, notice_pattern=None) == ["see ai.ls"]

    async def test_a_custom_notice_pattern(self, driver: Driver) -> None:
        outcome = await driver.drain(mock(ok("QUOTA exceeded")), notice_pattern=r"(?i)quota")
        assert isinstance(outcome.error, ProviderError)

    async def test_malformed_event_is_a_protocol_error_with_partial_text(
        self, driver: Driver
    ) -> None:
        chunks = [ROLE, token("Hel"), b"data: {not json\n\n"]
        outcome = await driver.drain(mock(MockResponse(chunks=chunks)))
        assert type(outcome.error) is ProtocolError
        assert outcome.tokens == ["Hel"]
        assert outcome.error.partial_text == "Hel"

    async def test_an_oversized_event_is_a_protocol_error(self, driver: Driver) -> None:
        chunks = [ROLE, b"data: " + b"x" * 2000]
        outcome = await driver.drain(mock(MockResponse(chunks=chunks)), max_event_size=1024)
        assert isinstance(outcome.error, ProtocolError)


class TestIncompleteStream:
    async def test_body_ending_early_is_incomplete_with_the_partial_text(
        self, driver: Driver
    ) -> None:
        chunks = chat_stream(["Hel", "lo", " wor"], finish=False, done=False)
        transport = mock(MockResponse(chunks=chunks))
        outcome = await driver.drain(transport)
        assert outcome.tokens == ["Hel", "lo", " wor"]
        assert isinstance(outcome.error, IncompleteStreamError)
        assert isinstance(outcome.error, ProtocolError)
        assert outcome.error.partial_text == "Hello wor"
        assert outcome.error.attempts == 1
        assert transport.open_responses == 0

    async def test_an_empty_200_body_is_incomplete(self, driver: Driver) -> None:
        error = await driver.fail(mock(MockResponse(chunks=[])))
        assert isinstance(error, IncompleteStreamError)
        assert error.partial_text == ""

    async def test_a_torn_last_event_is_incomplete(self, driver: Driver) -> None:
        chunks = [ROLE, token("Hi"), b'data: {"choices":[{"delta":{"content":"lost"']
        outcome = await driver.drain(mock(MockResponse(chunks=chunks)))
        assert isinstance(outcome.error, IncompleteStreamError)
        assert outcome.error.partial_text == "Hi"

    async def test_finish_reason_without_done_is_complete(self, driver: Driver) -> None:
        transport = mock(MockResponse(chunks=chat_stream(["Hi", "!"], done=False)))
        assert await driver.collect(transport) == ["Hi", "!"]

    async def test_done_without_finish_reason_is_complete(self, driver: Driver) -> None:
        transport = mock(MockResponse(chunks=chat_stream(["Hi"], finish=False)))
        assert await driver.collect(transport) == ["Hi"]

    async def test_bytes_after_done_are_not_read(self, driver: Driver) -> None:
        response = MockResponse(chunks=[ROLE, token("Hi"), DONE, b"data: {garbage\n\n", b"\xff"])
        transport = mock(response)
        assert await driver.collect(transport) == ["Hi"]
        assert response.consumed == 3
        assert response.closed

    async def test_bytes_after_done_in_the_same_chunk_are_ignored(self, driver: Driver) -> None:
        response = MockResponse(chunks=[ROLE + token("Hi") + DONE + token("late") + b"data: {"])
        assert await driver.collect(mock(response)) == ["Hi"]

    async def test_bytes_after_the_finish_reason_are_not_read(self, driver: Driver) -> None:
        response = MockResponse(chunks=[ROLE, token("Hi"), STOP, b"data: {garbage\n\n", DONE])
        assert await driver.collect(mock(response)) == ["Hi"]
        assert response.consumed == 3

    async def test_usage_only_and_empty_chunks_yield_nothing(self, driver: Driver) -> None:
        usage = {"object": "chat.completion.chunk", "choices": [], "usage": {"total_tokens": 3}}
        chunks = [
            ROLE,
            sse_event(chat_chunk("")),
            token("Hi"),
            sse_event(usage),
            STOP,
        ]
        assert await driver.collect(mock(MockResponse(chunks=chunks))) == ["Hi"]


class TestTransportFailureMidBody:
    async def test_a_reset_after_a_token_keeps_the_partial_text(self, driver: Driver) -> None:
        chunks = [ROLE, token("Hel"), TransportError("connection reset by peer")]
        transport = mock(MockResponse(chunks=chunks))
        outcome = await driver.drain(transport)
        assert outcome.tokens == ["Hel"]
        assert type(outcome.error) is TransportError
        assert outcome.error.partial_text == "Hel"
        assert outcome.error.attempts == 1
        assert transport.open_responses == 0

    async def test_an_os_error_from_the_body_is_wrapped(self, driver: Driver) -> None:
        cause = ConnectionResetError(104, "Connection reset by peer")
        chunks = [ROLE, token("Hel"), cause]
        outcome = await driver.drain(mock(MockResponse(chunks=chunks)))
        assert isinstance(outcome.error, TransportError)
        assert outcome.error.__cause__ is cause
        assert outcome.error.partial_text == "Hel"

    async def test_every_error_is_an_ails_error(self, driver: Driver) -> None:
        for answer in (status(500), status(404), MockResponse(chunks=[])):
            error = await driver.fail(mock(answer), max_retries=0)
            assert isinstance(error, AilsError)
