"""The gateway as a server: hang-ups, limits, shutdown, concurrency, logging, upstream profiles."""

from __future__ import annotations

import asyncio
import gc
import json
import threading
from collections.abc import Iterator
from typing import Any

import openai
import pytest
import requests

from ails import AsyncClient
from ails.gateway import BackgroundGateway, GatewayStartError, create_app
from ails.testing import FakeServer, chat_chunk, sse_event
from ails.testing.fixtures import parse_fixture

from .gateway_support import MODEL, QUESTION, async_sdk, fake_server, gateway, sdk, upstream

ASK: dict[str, Any] = {"model": MODEL, "messages": QUESTION, "stream": True}
SLOW_TEXT = "".join(f" t{i}" for i in range(40))


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with fake_server() as running:
        yield running


def post(url: str, body: Any, **kw: Any) -> requests.Response:
    data = body if isinstance(body, (bytes, str, Iterator)) else json.dumps(body)
    headers = {"content-type": "application/json", **kw.pop("headers", {})}
    return requests.post(f"{url}/chat/completions", data=data, headers=headers, timeout=10, **kw)


class RecordingLogger:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def info(self, event: str, **kw: Any) -> None:
        self.events.append({"event": event, "level": "info", **kw})

    def warning(self, event: str, **kw: Any) -> None:
        self.events.append({"event": event, "level": "warning", **kw})


class TestClientHangsUp:
    def test_the_upstream_stream_is_closed_at_once(self, server: FakeServer) -> None:
        # The fixture stalls after two tokens: only the hang-up can end the upstream
        # request before its idle timeout (a minute).
        with gateway(server.url_for("stall-mid-body")) as url, sdk(url) as client:
            stream = client.chat.completions.create(model=MODEL, messages=QUESTION, stream=True)
            chunks = iter(stream)
            assert next(chunks).choices[0].delta.role == "assistant"
            assert next(chunks).choices[0].delta.content == "The"
            record = server.requests[-1]
            assert not record.disconnected.is_set()
            stream.close()
            assert record.disconnected.wait(timeout=5), "the upstream request is still open"

    async def test_a_cancelled_async_client_frees_its_slot(self, server: FakeServer) -> None:
        with gateway(server.url_for("stall-mid-body"), max_streams=1) as url:
            async with async_sdk(url) as client:
                stream = await client.chat.completions.create(
                    model=MODEL, messages=QUESTION, stream=True
                )
                await stream.__anext__()
                await stream.close()
            assert server.requests[-1].disconnected.wait(timeout=5)
            # The slot is free again: the next request is answered, not refused
            # (the handler frees it just after closing the upstream: allow a few tries).
            body = {"model": MODEL, "messages": QUESTION, "stream": True}
            for _ in range(50):
                with post(url, body, stream=True) as response:
                    if response.status_code != 429:
                        break
            assert response.status_code == 200


class TestLimits:
    def test_beyond_max_streams_is_a_429_with_retry_after(self, server: FakeServer) -> None:
        with (
            gateway(server.url_for("stall-mid-body"), max_streams=1, stream_wait=0.1) as url,
            sdk(url) as client,
        ):
            held = client.chat.completions.create(model=MODEL, messages=QUESTION, stream=True)
            next(iter(held))
            with pytest.raises(openai.RateLimitError) as caught:
                client.chat.completions.create(model=MODEL, messages=QUESTION)
            held.close()
        assert caught.value.code == "too_many_streams"
        assert caught.value.response.headers["retry-after"] == "1"

    def test_an_oversized_body_is_a_400(self, server: FakeServer) -> None:
        big = [{"role": "user", "content": "x" * 5000}]
        with (
            gateway(server.url, max_body_bytes=4096) as url,
            sdk(url) as client,
            pytest.raises(openai.BadRequestError, match="over the gateway's limit of 4096") as c,
        ):
            client.chat.completions.create(model=MODEL, messages=big)
        assert c.value.code == "request_too_large"

    def test_an_oversized_chunked_body_is_a_400_too(self, server: FakeServer) -> None:
        def pieces() -> Iterator[bytes]:
            yield b'{"model": "m", "messages": [{"role": "user", "content": "'
            for _ in range(100):
                yield b"x" * 100
            yield b'"}]}'

        with gateway(server.url, max_body_bytes=4096) as url:
            response = post(url, pieces())
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "request_too_large"

    def test_unknown_routes_answer_in_the_openai_error_shape(self, server: FakeServer) -> None:
        with gateway(server.url) as url:
            missing = requests.get(f"{url}/embeddings", timeout=10)
            wrong_method = requests.get(f"{url}/chat/completions", timeout=10)
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"
        assert wrong_method.status_code == 405
        assert set(wrong_method.json()["error"]) == {"message", "type", "param", "code"}
        assert wrong_method.headers["allow"] == "POST"  # what aiohttp said is kept


class TestShutdown:
    def test_open_answers_finish_within_the_drain_time(self, server: FakeServer) -> None:
        app = create_app(lambda: upstream(server.url_for("slow-stream")), drain_timeout=10)
        running = BackgroundGateway(app).start()
        with sdk(running.url) as client:
            stream = iter(
                client.chat.completions.create(model=MODEL, messages=QUESTION, stream=True)
            )
            text = next(stream).choices[0].delta.content or ""
            text += next(stream).choices[0].delta.content or ""
            # stop() returns once drained, so it runs beside the reading.
            stopper = threading.Thread(target=running.stop)
            stopper.start()
            text += "".join(c.choices[0].delta.content or "" for c in stream)
            stopper.join()
        assert text == SLOW_TEXT

    def test_answers_left_after_the_drain_time_end_with_an_error(self, server: FakeServer) -> None:
        app = create_app(lambda: upstream(server.url_for("slow-stream")), drain_timeout=0.1)
        running = BackgroundGateway(app).start()
        with sdk(running.url) as client:
            stream = iter(
                client.chat.completions.create(model=MODEL, messages=QUESTION, stream=True)
            )
            next(stream)
            running.stop()  # returns once drained: the answer was stopped meanwhile
            with pytest.raises(openai.APIError, match="shutting down"):
                for _ in stream:
                    pass
        assert server.requests[-1].disconnected.wait(timeout=5)

    def test_a_whole_answer_in_flight_finishes_within_the_drain_time(
        self, server: FakeServer
    ) -> None:
        app = create_app(lambda: upstream(server.url_for("slow-stream")), drain_timeout=10)
        running = BackgroundGateway(app).start()
        answer: list[requests.Response] = []
        asking = threading.Thread(target=lambda: answer.append(post(running.url, ASK_WHOLE)))
        asking.start()
        # The upstream request has arrived: the gateway's request is in flight.
        server.wait_for_requests(_count_after(server), timeout=10)
        running.stop()  # returns once drained
        asking.join()
        assert answer[0].status_code == 200
        assert answer[0].json()["choices"][0]["message"]["content"] == SLOW_TEXT

    def test_a_whole_answer_left_after_the_drain_time_gets_a_503(self, server: FakeServer) -> None:
        app = create_app(lambda: upstream(server.url_for("slow-stream")), drain_timeout=0.1)
        running = BackgroundGateway(app).start()
        answer: list[requests.Response] = []
        asking = threading.Thread(target=lambda: answer.append(post(running.url, ASK_WHOLE)))
        asking.start()
        server.wait_for_requests(_count_after(server), timeout=10)
        running.stop()
        asking.join()
        assert answer[0].status_code == 503
        assert answer[0].json()["error"]["code"] == "shutting_down"
        assert server.requests[-1].disconnected.wait(timeout=5)

    def test_a_shutdown_while_the_head_is_written_still_answers(
        self, server: FakeServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # The event stream's head never goes out: the shutdown lands in prepare().
        from aiohttp import web

        original = web.StreamResponse.prepare
        preparing = threading.Event()

        async def stuck(self: web.StreamResponse, request: web.BaseRequest) -> Any:
            if self.headers.get("content-type", "").startswith("text/event-stream"):
                preparing.set()
                await asyncio.Event().wait()
            return await original(self, request)

        monkeypatch.setattr(web.StreamResponse, "prepare", stuck)
        app = create_app(lambda: upstream(server.url_for("slow-stream")), drain_timeout=0.1)
        running = BackgroundGateway(app).start()
        answer: list[requests.Response] = []
        asking = threading.Thread(target=lambda: answer.append(post(running.url, ASK)))
        asking.start()
        assert preparing.wait(timeout=10)
        running.stop()
        asking.join()
        # Not a dropped connection: nothing was sent yet, so a plain 503 says why.
        assert answer[0].status_code == 503
        assert answer[0].json()["error"]["code"] == "shutting_down"


ASK_WHOLE: dict[str, Any] = {"model": MODEL, "messages": QUESTION}


def _count_after(server: FakeServer) -> int:
    return server.request_count + 1


class TestConcurrency:
    async def test_200_concurrent_streams_are_all_exact(self, server: FakeServer) -> None:
        expected = server.fixtures["default"].expect["text"]

        async def one(client: openai.AsyncOpenAI) -> str:
            stream = await client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": "?"}], stream=True
            )
            return "".join([chunk.choices[0].delta.content or "" async for chunk in stream])

        with gateway(server.url_for("default"), max_streams=256) as url:
            async with async_sdk(url, timeout=60.0) as client:
                texts = await asyncio.gather(*(one(client) for _ in range(200)))
        assert texts == [expected] * 200


class TestMemory:
    def test_a_finished_answer_is_not_kept_by_its_idle_connection(self, server: FakeServer) -> None:
        from ails.client.run import CompletionRun

        def finished() -> int:
            gc.collect()
            return sum(
                1 for o in gc.get_objects() if type(o) is CompletionRun and o.outcome is not None
            )

        before = finished()
        with gateway(server.url_for("default")) as url, requests.Session() as session:
            for stream in (True, False, True):  # over one kept-alive connection
                answer = session.post(
                    f"{url}/chat/completions", json={**ASK, "stream": stream}, timeout=10
                )
                assert answer.status_code == 200
                answer.content  # noqa: B018 -- read to the end
            assert finished() == before


class TestLogging:
    def test_one_event_per_request_without_contents(self, server: FakeServer) -> None:
        logger = RecordingLogger()
        secret_question = [{"role": "user", "content": "my very private question"}]
        app = create_app(lambda: upstream(server.url_for("emoji")), logger=logger)
        with BackgroundGateway(app) as running, sdk(running.url) as client:
            client.chat.completions.create(model=MODEL, messages=secret_question, stream=True)
            list(client.chat.completions.create(model=MODEL, messages=secret_question, stream=True))
            with pytest.raises(openai.BadRequestError):
                client.chat.completions.create(model=MODEL, messages=secret_question, n=3)
        requests_logged = [e for e in logger.events if e["event"] == "ails.gateway.request"]
        assert len(requests_logged) == 3
        ok = requests_logged[1]
        assert ok["status"] == 200
        assert ok["stream"] is True
        assert ok["attempts"] == 1
        assert ok["ttft_ms"] is not None
        assert ok["outcome"] == "ok"
        assert requests_logged[2]["status"] == 400
        assert requests_logged[2]["outcome"] == "unsupported_n"
        assert "private" not in repr(logger.events)


def _usage_fixture() -> dict[str, Any]:
    usage = {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
    events = [
        chat_chunk(role="assistant"),
        chat_chunk("Hi"),
        chat_chunk("!"),
        chat_chunk(finish_reason="length"),
        {
            "id": "chatcmpl-ails-test",
            "object": "chat.completion.chunk",
            "choices": [],
            "usage": usage,
        },
    ]
    body = [sse_event(e).decode() for e in events] + ["data: [DONE]\n\n"]
    return {"name": "with-usage", "replies": [{"body": body}]}


@pytest.fixture(scope="module")
def openai_server() -> Iterator[FakeServer]:
    usage = parse_fixture(_usage_fixture())
    with fake_server(profile="openai", api_key="up-key", fixtures={"with-usage": usage}) as s:
        yield s


class TestOpenAIUpstream:
    def _gateway(self, openai_server: FakeServer) -> Any:
        options = {"profile": "openai", "api_key": "up-key"}
        return gateway(openai_server.url_for("with-usage"), client=options)

    def test_options_names_and_parts_reach_the_upstream(self, openai_server: FakeServer) -> None:
        messages = [
            {"role": "system", "name": "rules", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
        ]
        with self._gateway(openai_server) as url, sdk(url) as client:
            answer = client.chat.completions.create(
                model=MODEL, messages=messages, max_tokens=2, seed=3, stop=["\n"], top_p=0.9
            )
        sent = openai_server.requests[-1]
        assert sent.rejection is None
        assert sent.json["messages"] == messages
        assert (sent.json["max_tokens"], sent.json["seed"], sent.json["stop"]) == (2, 3, ["\n"])
        assert answer.choices[0].message.content == "Hi!"
        assert answer.choices[0].finish_reason == "length"
        assert answer.usage is not None
        assert answer.usage.total_tokens == 7

    def test_the_usage_chunk_is_passed_on(self, openai_server: FakeServer) -> None:
        with self._gateway(openai_server) as url, sdk(url) as client:
            chunks = list(
                client.chat.completions.create(
                    model=MODEL,
                    messages=QUESTION,
                    stream=True,
                    stream_options={"include_usage": True},
                )
            )
        assert chunks[-2].choices[0].finish_reason == "length"
        assert chunks[-1].usage is not None
        assert chunks[-1].usage.completion_tokens == 2


class TestAilsUpstream:
    def test_text_parts_are_joined_and_names_dropped(self, server: FakeServer) -> None:
        messages = [
            {"role": "developer", "content": "Be brief.", "name": "rules"},
            {
                "role": "user",
                "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
            },
        ]
        with gateway(server.url_for("emoji")) as url, sdk(url) as client:
            client.chat.completions.create(model=MODEL, messages=messages, top_p=1, n=1, user="u")
        sent = server.requests[-1]
        assert sent.rejection is None  # the signature covers the joined text
        assert sent.json["messages"] == [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "a\nb"},
        ]
        assert "top_p" not in sent.json
        assert "user" not in sent.json


class TestApp:
    async def test_the_client_is_opened_on_startup_and_closed_on_cleanup(self) -> None:
        made: list[AsyncClient] = []
        closed: list[bool] = []

        class Tracked(AsyncClient):
            async def aclose(self) -> None:
                closed.append(True)
                await super().aclose()

        def factory() -> AsyncClient:
            made.append(Tracked(base_url="http://127.0.0.1:9"))
            return made[-1]

        app = create_app(factory)
        with BackgroundGateway(app):
            assert len(made) == 1
        assert closed == [True]

    def test_start_is_bounded_when_the_app_never_starts(self) -> None:
        release = threading.Event()

        def hanging_factory() -> AsyncClient:
            release.wait(timeout=30)  # blocks the server thread's startup
            return AsyncClient(base_url="http://127.0.0.1:9")

        running = BackgroundGateway(create_app(hanging_factory))
        with pytest.raises(GatewayStartError, match=r"did not start listening within 0\.2 s"):
            running.start(timeout=0.2)
        release.set()
        running.stop()  # the thread stops as soon as it listens

    def test_a_server_that_cannot_listen_raises_its_error(self) -> None:
        def factory() -> AsyncClient:
            return AsyncClient(base_url="http://127.0.0.1:9")

        with BackgroundGateway(create_app(factory)) as first:
            port = int(first.url.rsplit(":", 1)[1].split("/")[0])
            taken = BackgroundGateway(create_app(factory), port=port)
            with pytest.raises(OSError, match="in use"):
                taken.start(timeout=10)
