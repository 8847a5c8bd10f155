"""A recording's ``expect`` says what the client that made it raised or answered."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest

from ails import Client, Message
from ails.errors import RateLimitError
from ails.testing import MockResponse, MockTransport, RecordingTransport, chat_stream

NOTICE_TEXT = "Your AI.LS quota is spent"


def _record(tmp_path: Path, response: MockResponse, **client_options: object) -> dict:
    recorder = RecordingTransport(MockTransport(lambda request: response), tmp_path)
    client = Client(recorder, base_url="http://127.0.0.1:9", max_retries=0, **client_options)
    # The 429 cases raise: what counts here is the recording.
    with client, contextlib.suppress(RateLimitError):
        client.complete([Message.user("hi")])
    [path] = recorder.written
    return json.loads(path.read_text(encoding="utf-8"))


class TestNoticeByProfile:
    def test_an_openai_answer_that_names_ai_ls_is_text(self, tmp_path: Path) -> None:
        response = MockResponse(200, chunks=chat_stream([NOTICE_TEXT], done=True))
        fixture = _record(tmp_path, response, profile="openai", api_key="sk-test")
        # The openai profile does not look for the service's notices: the text came through.
        assert fixture["expect"] == {"text": NOTICE_TEXT}

    def test_the_ails_profile_expects_the_notice_error(self, tmp_path: Path) -> None:
        response = MockResponse(200, chunks=chat_stream([NOTICE_TEXT], done=True))
        with pytest.raises(Exception, match="notice"):
            _record(tmp_path, response)
        [path] = tmp_path.glob("*.json")
        fixture = json.loads(path.read_text(encoding="utf-8"))
        assert fixture["expect"]["error"] == "ProviderError"


class TestRetryAfter:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [("7", 7.0), ("Wed, 21 Oct 2099 07:28:00 GMT", None)],
    )
    def test_only_a_delta_is_expected_again_at_replay(
        self, tmp_path: Path, value: str, expected: float | None
    ) -> None:
        response = MockResponse(
            429,
            headers={"content-type": "text/plain", "retry-after": value},
            chunks=[b"slow down"],
        )
        fixture = _record(tmp_path, response)
        assert fixture["expect"]["error"] == "RateLimitError"
        assert fixture["expect"].get("retry_after") == expected
