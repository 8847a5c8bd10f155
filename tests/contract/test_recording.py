"""RecordingTransport: record from one server, replay with FakeServer, get the same answer."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import pytest

from ails import AsyncClient, Client, Message
from ails.errors import AilsError
from ails.testing import FakeServer, RecordingTransport, load_fixtures
from ails.transports.aiohttp_transport import AiohttpTransport
from ails.transports.requests_transport import RequestsTransport

QUESTION = [Message.user("Покажи emoji")]


@pytest.fixture(scope="module")
def origin():
    with FakeServer() as server:  # recorded pacing kept: chunk boundaries must survive
        yield server


def _chat_sync(transport, base_url):
    with Client(transport, base_url=base_url, max_retries=0) as client:
        return list(client.stream(QUESTION))


def _chat_async(transport, base_url):
    async def run():
        async with AsyncClient(transport, base_url=base_url, max_retries=0) as client:
            return [token async for token in client.stream(QUESTION)]

    return asyncio.run(run())


CLIENTS = {
    "requests": (RequestsTransport, _chat_sync),
    "aiohttp": (AiohttpTransport, _chat_async),
}


def _record(kind: str, base_url: str, directory: Path) -> tuple[list[str], dict]:
    make, chat = CLIENTS[kind]
    recorder = RecordingTransport(make(), directory)
    tokens = chat(recorder, base_url)
    [path] = recorder.written
    return tokens, json.loads(path.read_text(encoding="utf-8"))


def _chunks(fixture: dict) -> list[bytes]:
    return [
        base64.b64decode(step["data_b64"]) if "data_b64" in step else step["data"].encode()
        for step in fixture["replies"][0]["body"]
    ]


@pytest.mark.parametrize("kind", sorted(CLIENTS))
class TestRoundTrip:
    def test_replay_gives_the_same_tokens_and_chunk_boundaries(self, origin, tmp_path, kind):
        tokens, first = _record(kind, origin.url_for("emoji"), tmp_path / "first")
        assert "".join(tokens) == origin.fixtures["emoji"].expect["text"]
        assert first["expect"] == {"text": "".join(tokens)}
        # the emoji fixture splits a character across two writes: one chunk is not UTF-8 alone
        assert any("data_b64" in step for step in first["replies"][0]["body"])

        with FakeServer(fixtures_dir=tmp_path / "first") as replay:
            again, second = _record(kind, replay.url_for(first["name"]), tmp_path / "second")
        assert again == tokens
        assert _chunks(second) == _chunks(first)

    def test_recorded_files_load_as_fixtures(self, origin, tmp_path, kind):
        _record(kind, origin.url_for("code"), tmp_path)
        [fixture] = load_fixtures(tmp_path).values()
        assert fixture.expect["text"] == origin.fixtures["code"].expect["text"]
        assert fixture.replies[0].status == 200


class TestRedaction:
    def test_client_id_signature_and_authorization_never_reach_the_file(self, origin, tmp_path):
        _, fixture = _record("requests", origin.url_for("ru-greeting"), tmp_path)
        sent = origin.requests[-1]
        text = (tmp_path / f"{fixture['name']}.json").read_text(encoding="utf-8")
        for secret in (sent.headers["client-id"], sent.json["s"], sent.headers["authorization"]):
            assert secret not in text
        request = fixture["request"]
        assert request["headers"]["client-id"] == "<redacted>"
        assert request["headers"]["authorization"] == "<redacted>"
        assert {request["body"][k] for k in ("d", "t", "s")} == {"<redacted>"}
        assert request["body"]["messages"] == [{"role": "user", "content": "Покажи emoji"}]

    def test_transfer_headers_are_not_replayed(self, origin, tmp_path):
        _, fixture = _record("requests", origin.url_for("gzip"), tmp_path)
        headers = fixture["replies"][0]["headers"]
        assert "content-encoding" not in headers  # the body was recorded decoded
        assert "transfer-encoding" not in headers


class TestFaultsAndStatuses:
    def test_a_reset_is_recorded_as_a_fault_with_the_partial_text(self, origin, tmp_path):
        recorder = RecordingTransport(RequestsTransport(), tmp_path)
        with pytest.raises(AilsError):
            _chat_sync(recorder, origin.url_for("reset-mid-body"))
        fixture = json.loads(recorder.written[0].read_text(encoding="utf-8"))
        assert fixture["replies"][0]["body"][-1]["fault"] == "reset"
        assert fixture["expect"] == {"error": "TransportError", "partial_text": "The answer"}

    def test_an_error_status_is_recorded(self, origin, tmp_path):
        recorder = RecordingTransport(RequestsTransport(), tmp_path)
        with pytest.raises(AilsError):
            _chat_sync(recorder, origin.url_for("not-found"))
        fixture = json.loads(recorder.written[0].read_text(encoding="utf-8"))
        assert fixture["replies"][0]["status"] == 404
        assert fixture["expect"] == {"error": "HTTPStatusError", "status": 404}

    def test_a_rate_limit_keeps_its_retry_after(self, origin, tmp_path):
        recorder = RecordingTransport(RequestsTransport(), tmp_path)
        with pytest.raises(AilsError):
            _chat_sync(recorder, origin.url_for("rate-limited"))
        fixture = json.loads(recorder.written[0].read_text(encoding="utf-8"))
        assert fixture["expect"] == {"error": "RateLimitError", "status": 429, "retry_after": 120}

    def test_a_second_recorder_does_not_overwrite_the_first(self, origin, tmp_path):
        first = RecordingTransport(RequestsTransport(), tmp_path)
        _chat_sync(first, origin.url_for("code"))
        second = RecordingTransport(RequestsTransport(), tmp_path)
        _chat_sync(second, origin.url_for("emoji"))
        assert [p.name for p in first.written + second.written] == [
            "recorded-001.json",
            "recorded-002.json",
        ]


class TestMisuse:
    def test_an_async_transport_in_a_sync_client_says_so(self, tmp_path):
        class AsyncOnly:
            async def asend(self, request):
                raise AssertionError("not reached")

            async def aclose(self):
                pass

        recorder = RecordingTransport(AsyncOnly(), tmp_path)
        with pytest.raises(TypeError, match="async transport"):
            recorder.close()


def test_a_recorded_stall_replays_as_the_timeout_it_was(origin, tmp_path):
    recorder = RecordingTransport(RequestsTransport(), tmp_path)
    client = Client(recorder, base_url=origin.url_for("stall-mid-body"), timeout=0.3)
    with client, pytest.raises(AilsError) as caught:
        list(client.stream(QUESTION))
    fixture = json.loads(recorder.written[0].read_text(encoding="utf-8"))
    assert type(caught.value).__name__ == fixture["expect"]["error"] == "TimeoutError"
    assert fixture["replies"][0]["body"][-1]["fault"] == "stall"


def test_a_fake_server_started_again_still_stalls_when_told_to():
    server = FakeServer(delay_scale=0.0)
    with server:
        pass
    with server:  # a restart once skipped every pause and stall
        client = Client(base_url=server.url_for("stall-mid-body"), timeout=0.3, max_retries=0)
        with client, pytest.raises(AilsError) as caught:
            list(client.stream(QUESTION))
    assert type(caught.value).__name__ == "TimeoutError"
    with pytest.raises(RuntimeError, match="already running"), server:
        server.start()
