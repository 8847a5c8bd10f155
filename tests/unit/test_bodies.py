"""What a response means is decided once (``ails.domain.bodies``), and everyone agrees.

The function is tested on its own, then through both clients and through the
recorder, whose fixture ``expect`` must name the error the client raises.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from client_support import Driver, mock, status

from ails import Client
from ails.domain.bodies import BODY_EXCERPT, body_error, is_event_stream, media_type
from ails.errors import HTTPStatusError, ProtocolError, ProviderError, RateLimitError
from ails.testing import MockResponse, MockTransport, RecordingTransport

DEEP = b"[" * 5000  # deeper than the recursion limit lets json.loads go
ERROR_JSON = json.dumps({"error": {"code": "quota", "message": "daily quota exhausted"}}).encode()


class TestIsEventStream:
    @pytest.mark.parametrize(
        "content_type",
        ["text/event-stream", "Text/Event-Stream; charset=utf-8", " text/event-stream ", ""],
    )
    def test_a_2xx_event_stream_or_no_type_is_the_answer(self, content_type: str) -> None:
        assert is_event_stream(200, content_type)
        assert is_event_stream(299, content_type)

    @pytest.mark.parametrize(
        "content_type",
        ["text/plain", "application/json", "application/problem+json", "text/html"],
    )
    def test_any_other_type_is_not(self, content_type: str) -> None:
        assert not is_event_stream(200, content_type)

    @pytest.mark.parametrize("code", [199, 301, 400, 429, 500])
    def test_a_non_2xx_is_never_the_answer(self, code: int) -> None:
        assert not is_event_stream(code, "text/event-stream")

    def test_media_type_drops_parameters_and_case(self) -> None:
        assert media_type("Application/JSON ; charset=utf-8") == "application/json"


class TestBodyError:
    @pytest.mark.parametrize("code", [200, 400, 500])
    @pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
    def test_deep_nesting_is_reported_as_text_not_a_recursion_error(
        self, code: int, content_type: str
    ) -> None:
        error = body_error(code, content_type, DEEP)

        assert isinstance(error, (HTTPStatusError, ProtocolError))
        assert "[[[[" in str(error)

    @pytest.mark.parametrize("content_type", ["text/plain", "application/problem+json"])
    def test_a_200_that_is_not_a_stream_names_its_type_and_first_bytes(
        self, content_type: str
    ) -> None:
        error = body_error(200, content_type, b'{"title": "Not Found", "status": 404}')

        assert type(error) is ProtocolError
        assert content_type in str(error)
        assert "Not Found" in str(error)
        assert "text/event-stream" in str(error)
        assert "connection" not in str(error)  # not "the connection probably dropped"

    def test_a_json_error_in_a_200_is_the_service_speaking(self) -> None:
        error = body_error(200, "application/json", ERROR_JSON)

        assert type(error) is ProviderError
        assert error.detail == "daily quota exhausted"

    def test_a_json_error_in_a_400_stays_an_http_error(self) -> None:
        error = body_error(400, "application/json", ERROR_JSON)

        assert type(error) is HTTPStatusError
        assert "daily quota exhausted" in error.body

    def test_a_429_carries_its_retry_after(self) -> None:
        error = body_error(429, "text/plain", b"slow down", retry_after=3.0)

        assert isinstance(error, RateLimitError)
        assert error.retry_after == 3.0

    def test_only_the_excerpt_is_looked_at(self) -> None:
        error = body_error(500, "text/plain", b"x" * (BODY_EXCERPT + 100))

        assert isinstance(error, HTTPStatusError)
        assert len(error.body) == BODY_EXCERPT


class TestThroughTheClients:
    @pytest.mark.parametrize("code", [200, 400])
    @pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
    async def test_deep_nesting_raises_an_ails_error(
        self, driver: Driver, code: int, content_type: str
    ) -> None:
        error = await driver.fail(mock(status(code, DEEP, {"content-type": content_type})))

        assert isinstance(error, (HTTPStatusError, ProtocolError))

    async def test_deep_nesting_inside_an_event_is_a_protocol_error(self, driver: Driver) -> None:
        body = b"data: " + DEEP + b"\n\n"
        error = await driver.fail(mock(MockResponse(chunks=[body])))

        assert type(error) is ProtocolError
        assert "not JSON" in str(error)

    @pytest.mark.parametrize("content_type", ["text/plain", "application/problem+json"])
    async def test_a_200_that_is_not_a_stream_is_a_protocol_error(
        self, driver: Driver, content_type: str
    ) -> None:
        body = b'{"type": "about:blank", "title": "upstream timeout"}'
        transport = mock(status(200, body, {"content-type": content_type}))

        error = await driver.fail(transport)

        assert type(error) is ProtocolError
        assert content_type in str(error)
        assert "upstream timeout" in str(error)
        assert transport.open_responses == 0

    async def test_a_json_error_in_a_200_is_a_provider_error(self, driver: Driver) -> None:
        error = await driver.fail(mock(status(200, ERROR_JSON, {"content-type": "text/plain"})))

        assert type(error) is ProviderError


class TestTheRecorderAgrees:
    @pytest.mark.parametrize(
        ("answer", "expected"),
        [
            (status(200, ERROR_JSON, {"content-type": "application/json"}), ProviderError),
            (status(200, b"plain words", {"content-type": "text/plain"}), ProtocolError),
            (status(400, DEEP, {"content-type": "application/json"}), HTTPStatusError),
            (status(200, DEEP, {"content-type": "application/json"}), ProtocolError),
        ],
    )
    def test_expect_names_the_error_the_client_raises(
        self, tmp_path: Path, answer: MockResponse, expected: type[Exception]
    ) -> None:
        recorder = RecordingTransport(MockTransport(lambda request: answer), tmp_path)
        with (
            Client(transport=recorder, max_retries=0) as client,
            pytest.raises(expected) as caught,
        ):
            client.complete([{"role": "user", "content": "hi"}])

        fixture = json.loads(recorder.written[0].read_text(encoding="utf-8"))
        assert fixture["expect"]["error"] == type(caught.value).__name__ == expected.__name__
