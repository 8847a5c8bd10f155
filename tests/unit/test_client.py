"""Client and AsyncClient over MockTransport: the request, the answer, validation, closing.

Every test here runs twice through the ``driver`` fixture (sync and async),
except the ones that only make sense for one flavour (task cancellation).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timezone

import attrs
import pytest
from client_support import (
    HELLO,
    ROLE,
    Driver,
    RecordingLogger,
    gated,
    mock,
    ok,
    token,
)

import ails
from ails import HttpRequest, Message, Profile, Signer
from ails.domain.profile import AILS_CLIENT_VERSION
from ails.domain.signing import DEFAULT_SECRET
from ails.errors import ValidationError
from ails.ports.http import AsyncTransport, Transport
from ails.testing import DONE, MockResponse, MockTransport, chat_stream

URL = "http://127.0.0.1:8787"


def body_of(transport: MockTransport, index: int = 0) -> dict[str, object]:
    parsed: dict[str, object] = json.loads(transport.requests[index].body)
    return parsed


class TestRequest:
    async def test_posts_to_the_chat_completions_path_of_base_url(self, driver: Driver) -> None:
        transport = mock()
        await driver.collect(transport, base_url=URL + "/")
        (request,) = transport.requests
        assert request.method == "POST"
        assert request.url == "http://127.0.0.1:8787/v1/chat/completions?full=false"

    async def test_base_url_may_carry_a_path_prefix(self, driver: Driver) -> None:
        transport = mock()
        await driver.collect(transport, base_url="https://proxy.example/ails/")
        assert transport.requests[0].url == (
            "https://proxy.example/ails/v1/chat/completions?full=false"
        )

    async def test_body_is_compact_json_with_model_temperature_stream_messages_and_signature(
        self, driver: Driver
    ) -> None:
        transport = mock()
        messages = [Message.system("Be brief."), {"role": "user", "content": "Привет! 😀"}]
        await driver.collect(
            transport,
            messages,
            stream_kw={"model": "gpt-4o-mini", "temperature": 0.2},
            base_url=URL,
        )
        raw = transport.requests[0].body
        body = json.loads(raw)
        assert list(body) == ["model", "temperature", "stream", "messages", "d", "t", "s"]
        assert body["model"] == "gpt-4o-mini"
        assert body["temperature"] == 0.2
        assert body["stream"] is True
        assert body["messages"] == [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Привет! 😀"},
        ]
        # Compact separators, UTF-8 text rather than \u escapes.
        assert raw == json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        assert "Привет".encode() in raw

    async def test_defaults_are_gpt_3_5_turbo_at_temperature_0_6(self, driver: Driver) -> None:
        transport = mock()
        await driver.collect(transport)
        body = body_of(transport)
        assert body["model"] == "gpt-3.5-turbo"
        assert body["temperature"] == 0.6

    async def test_signature_verifies_with_signer(self, driver: Driver) -> None:
        transport = mock()
        await driver.collect(transport, [{"role": "user", "content": "hi😀"}])
        body = body_of(transport)
        t = body["t"]
        assert isinstance(t, str)
        assert int(t) % 2 == 1
        expected = Signer().sign("hi😀", now_ms=int(t))
        assert body["s"] == expected.s
        assert body["d"] == expected.d

    async def test_signature_matches_the_golden_vector_with_an_injected_clock(
        self, driver: Driver
    ) -> None:
        signer = Signer(clock=lambda: 1_700_000_000_000, tz=timezone.utc)
        profile = attrs.evolve(Profile.ails(), signer=signer)
        transport = mock()
        await driver.collect(transport, [Message.user("Привет")], profile=profile)
        body = body_of(transport)
        assert (body["d"], body["t"], body["s"]) == (
            "2023-11-14",
            "1700000000001",
            "516be8e93b284395416973afad1eccd8fce9ceb6df5267909c6b320adbc888a1",
        )

    async def test_signature_covers_the_last_message(self, driver: Driver) -> None:
        transport = mock()
        messages = [Message.user("first"), Message.assistant("second"), Message.user("third")]
        await driver.collect(transport, messages)
        body = body_of(transport)
        assert body["s"] == Signer().sign("third", now_ms=int(str(body["t"]))).s

    async def test_each_request_gets_a_fresh_uuid4_client_id(self, driver: Driver) -> None:
        transport = MockTransport(lambda request: ok())
        for _ in range(3):
            await driver.collect(transport)
        ids = [request.header("client-id") for request in transport.requests]
        assert len(set(ids)) == 3
        for value in ids:
            assert value is not None
            assert uuid.UUID(value).version == 4

    async def test_client_v_authority_and_browser_headers(self, driver: Driver) -> None:
        transport = mock()
        await driver.collect(transport, base_url="https://chat.example.test")
        request = transport.requests[0]
        assert request.header("client-v") == AILS_CLIENT_VERSION
        assert request.header("authority") == "chat.example.test"
        assert request.header("authorization") == "Bearer free"
        assert request.header("origin") == "https://ai.ls"
        assert request.header("content-type") == "application/json"
        assert "Chrome" in (request.header("user-agent") or "")

    async def test_authority_keeps_a_port_but_never_credentials(self, driver: Driver) -> None:
        transport = mock(ok(), ok())
        await driver.collect(transport, base_url="http://chat.example.test:8443")
        await driver.collect(transport, base_url="https://user:s3cret@chat.example.test")
        assert transport.requests[0].header("authority") == "chat.example.test:8443"
        assert transport.requests[1].header("authority") == "chat.example.test"

    async def test_user_headers_override_profile_headers_case_insensitively(
        self, driver: Driver
    ) -> None:
        transport = mock()
        headers = {"User-Agent": "mine/1.0", "X-Trace": "abc", "AUTHORIZATION": "Bearer k"}
        await driver.collect(transport, headers=headers)
        request = transport.requests[0]
        names = [name.lower() for name, _ in request.headers]
        assert names.count("user-agent") == 1
        assert names.count("authorization") == 1
        assert request.header("user-agent") == "mine/1.0"
        assert request.header("authorization") == "Bearer k"
        assert request.header("x-trace") == "abc"
        assert request.header("origin") == "https://ai.ls"  # the rest of the profile stays

    @pytest.mark.parametrize(
        "headers",
        [
            {"x-evil": "a\r\nX-Injected: 1"},
            {"x-evil": "a\nb"},
            {"x-evil": "a\rb"},
            {"x-evil": "a\0b"},
            {"x evil": "a"},
            {"x-evil:": "a"},
        ],
    )
    async def test_unsafe_headers_are_rejected_before_anything_is_sent(
        self, driver: Driver, headers: dict[str, str]
    ) -> None:
        transport = mock()
        with pytest.raises(ValidationError):
            driver.client(transport, headers=headers)
        assert transport.requests == []

    @pytest.mark.parametrize("base_url", [123, b"http://example.test"])
    async def test_base_url_must_be_a_string(self, driver: Driver, base_url: object) -> None:
        with pytest.raises(ValidationError, match="string"):
            driver.client(mock(), base_url=base_url)

    @pytest.mark.parametrize(
        "base_url",
        [
            "ftp://example.test",
            "example.test",
            "http://",
            "http://example.test?x=1",
            "http://example.test/#frag",
            "http://exa mple.test",
            "http://example.test:port",
            "",
        ],
    )
    async def test_invalid_base_url_is_a_validation_error(
        self, driver: Driver, base_url: str
    ) -> None:
        transport = mock()
        with pytest.raises(ValidationError):
            driver.client(transport, base_url=base_url)
        assert transport.requests == []

    async def test_base_url_comes_from_the_environment(
        self, driver: Driver, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("AILS_BASE_URL", "http://10.1.2.3:9000/")
        transport = mock()
        assert driver.client(transport).base_url == "http://10.1.2.3:9000"
        await driver.collect(transport)
        assert transport.requests[0].url == "http://10.1.2.3:9000/v1/chat/completions?full=false"

    async def test_explicit_base_url_beats_the_environment(
        self, driver: Driver, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("AILS_BASE_URL", "http://10.1.2.3:9000")
        assert driver.client(mock(), base_url=URL).base_url == URL

    @pytest.mark.parametrize("env", [None, ""])
    async def test_base_url_defaults_to_the_service(
        self, driver: Driver, monkeypatch: pytest.MonkeyPatch, env: str | None
    ) -> None:
        if env is None:
            monkeypatch.delenv("AILS_BASE_URL", raising=False)
        else:
            monkeypatch.setenv("AILS_BASE_URL", env)
        transport = mock()
        await driver.collect(transport)
        request = transport.requests[0]
        assert request.url == "https://api.caipacity.com/v1/chat/completions?full=false"
        assert request.header("authority") == "api.caipacity.com"

    async def test_invalid_base_url_from_the_environment_is_a_validation_error(
        self, driver: Driver, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("AILS_BASE_URL", "localhost:8787")
        with pytest.raises(ValidationError, match="localhost:8787"):
            driver.client(mock())

    async def test_openai_profile_sends_no_signature_and_no_client_id(self, driver: Driver) -> None:
        transport = mock()
        await driver.collect(transport, profile=Profile.openai("sk-test-123"))
        request = transport.requests[0]
        body = json.loads(request.body)
        assert list(body) == ["model", "temperature", "stream", "messages"]
        assert request.header("client-id") is None
        assert request.header("client-v") is None
        assert request.header("authority") is None
        assert request.header("authorization") == "Bearer sk-test-123"
        assert request.header("user-agent") == f"ails/{ails.__version__}"

    async def test_profile_with_secret_changes_secret_and_client_v_together(
        self, driver: Driver
    ) -> None:
        transport = mock()
        profile = Profile.ails().with_secret("new-secret", "0.1.300")
        await driver.collect(transport, [Message.user("hey")], profile=profile)
        request = transport.requests[0]
        body = json.loads(request.body)
        assert request.header("client-v") == "0.1.300"
        assert body["s"] == Signer(secret="new-secret").sign("hey", now_ms=int(body["t"])).s
        assert body["s"] != Signer().sign("hey", now_ms=int(body["t"])).s

    async def test_default_timeouts_ride_on_the_request(self, driver: Driver) -> None:
        transport = mock()
        await driver.collect(transport)
        request = transport.requests[0]
        assert (request.connect_timeout, request.read_timeout) == (10.0, 60.0)


class TestAnswer:
    async def test_stream_yields_the_tokens_in_order(self, driver: Driver) -> None:
        transport = mock(ok("Hel", "lo", ", ", "мир", "!"))
        assert await driver.collect(transport) == ["Hel", "lo", ", ", "мир", "!"]
        assert transport.open_responses == 0

    async def test_complete_returns_the_whole_answer(self, driver: Driver) -> None:
        transport = mock(ok("Four", "."))
        assert await driver.complete(transport, [{"role": "user", "content": "2+2?"}]) == "Four."
        assert transport.open_responses == 0

    async def test_complete_passes_model_and_temperature(self, driver: Driver) -> None:
        transport = mock()
        await driver.complete(transport, stream_kw={"model": "m-1", "temperature": 1.5})
        body = body_of(transport)
        assert (body["model"], body["temperature"]) == ("m-1", 1.5)

    async def test_messages_may_be_dicts_message_objects_or_a_generator(
        self, driver: Driver
    ) -> None:
        transport = mock()
        messages = (m for m in [{"role": "system", "content": "s"}, Message.user("u")])
        assert await driver.collect(transport, messages) == ["Hello", " world"]
        assert body_of(transport)["messages"] == [
            {"role": "system", "content": "s"},
            {"role": "user", "content": "u"},
        ]

    async def test_multibyte_characters_split_across_chunks_are_decoded(
        self, driver: Driver
    ) -> None:
        raw = b"".join(chat_stream(["Привет", " 😀"]))
        chunks = [raw[i : i + 3] for i in range(0, len(raw), 3)]
        transport = mock(MockResponse(chunks=chunks))
        assert "".join(await driver.collect(transport)) == "Привет 😀"

    async def test_closing_the_client_closes_the_transport(self, driver: Driver) -> None:
        transport = mock()
        await driver.collect(transport)
        assert transport.closed

    async def test_repr_names_base_url_and_profile_but_no_secret(self, driver: Driver) -> None:
        text = repr(driver.client(mock(), base_url=URL))
        assert URL in text
        assert "'ails'" in text
        assert DEFAULT_SECRET not in text


class TestValidation:
    @pytest.mark.parametrize(
        ("messages", "stream_kw"),
        [
            ([], {}),
            ("hello", {}),
            ({"role": "user", "content": "hi"}, {}),
            ([{"role": "bot", "content": "hi"}], {}),
            ([{"role": "user"}], {}),
            ([{"role": "user", "content": 42}], {}),
            ([{"role": "user", "content": "hi", "name": "x"}], {}),
            (["hi"], {}),
            (HELLO, {"model": ""}),
            (HELLO, {"temperature": 2.5}),
            (HELLO, {"temperature": "hot"}),
        ],
    )
    async def test_bad_input_raises_at_stream_call_time_before_any_request(
        self, driver: Driver, messages: object, stream_kw: dict[str, object]
    ) -> None:
        transport = mock()
        client = driver.client(transport)
        with pytest.raises(ValidationError) as info:
            client.stream(messages, **stream_kw)
        assert isinstance(info.value, ValueError)
        assert info.value.attempts == 0
        assert transport.requests == []
        assert driver.logger.events == []

    async def test_complete_validates_too(self, driver: Driver) -> None:
        transport = mock()
        with pytest.raises(ValidationError):
            await driver.complete(transport, [])
        assert transport.requests == []

    @pytest.mark.parametrize("max_retries", [-1, True, 1.5, "2"])
    async def test_bad_max_retries(self, driver: Driver, max_retries: object) -> None:
        with pytest.raises(ValidationError):
            driver.client(mock(), max_retries=max_retries)


class TestEarlyClose:
    @pytest.mark.parametrize("how", ["break", "close", "gc"])
    async def test_leaving_early_releases_the_response_without_reading_on(
        self, driver: Driver, how: str
    ) -> None:
        response = ok("a", "b", "c", "d", "e")
        transport = mock(response)
        tokens = await driver.take(transport, 2, how)  # type: ignore[arg-type]
        assert tokens == ["a", "b"]
        assert response.closed
        assert transport.open_responses == 0
        assert response.consumed == 3  # the role chunk, "a", "b": nothing more was read
        assert len(transport.requests) == 1

    async def test_exhausting_the_stream_releases_the_response(self, driver: Driver) -> None:
        transport = mock()
        await driver.collect(transport)
        assert transport.responses[0].closed

    async def test_closing_before_iterating_sends_nothing(self, driver: Driver) -> None:
        transport = mock()
        client = driver.client(transport)
        stream = client.stream(HELLO)
        if driver.is_async:
            await stream.aclose()
        else:
            stream.close()
        assert transport.requests == []
        assert driver.logger.events == []

    async def test_a_closed_stream_yields_nothing_more(self, driver: Driver) -> None:
        transport = mock(ok("a", "b", "c"))
        client = driver.client(transport)
        stream = client.stream(HELLO)
        if driver.is_async:
            assert await stream.__anext__() == "a"
            await stream.aclose()
            assert [item async for item in stream] == []
        else:
            assert next(stream) == "a"
            stream.close()
            assert list(stream) == []
        assert transport.open_responses == 0

    async def test_an_error_releases_the_response(self, driver: Driver) -> None:
        transport = mock(MockResponse(chunks=[ROLE, token("a"), b"data: {oops\n\n", token("b")]))
        error = await driver.fail(transport)
        assert isinstance(error, ails.ProtocolError)
        assert transport.open_responses == 0


class TestAsyncCancellation:
    async def test_cancelling_the_task_releases_the_response(self) -> None:
        sent, release = asyncio.Event(), asyncio.Event()
        response = MockResponse(chunks=gated([ROLE, token("Hi")], sent, release))
        transport = MockTransport(lambda request: response)
        logger = RecordingLogger()
        received: list[str] = []

        async def consume() -> None:
            async with ails.AsyncClient(transport, logger=logger) as client:
                async for item in client.stream(HELLO):
                    received.append(item)  # noqa: PERF401 -- seen before the task is cancelled

        task = asyncio.create_task(consume())
        await sent.wait()  # the body is now stalled waiting for more bytes
        assert received == ["Hi"]
        assert transport.open_responses == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert response.closed
        assert transport.open_responses == 0
        assert transport.closed
        assert logger.only["outcome"] == "closed"
        assert not release.is_set()

    async def test_an_async_chunk_source_streams_to_the_end(self) -> None:
        sent, release = asyncio.Event(), asyncio.Event()
        response = MockResponse(chunks=gated([ROLE, token("Hi")], sent, release))
        transport = MockTransport(lambda request: response)
        received: list[str] = []

        async def consume() -> None:
            async with ails.AsyncClient(transport) as client:
                async for item in client.stream(HELLO):
                    received.append(item)  # noqa: PERF401 -- seen before the task is cancelled

        task = asyncio.create_task(consume())
        await sent.wait()
        release.set()
        await task
        assert received == ["Hi"]
        assert transport.open_responses == 0

    def test_a_sync_client_cannot_read_an_async_chunk_source(self) -> None:
        sent, release = asyncio.Event(), asyncio.Event()
        response = MockResponse(chunks=gated([], sent, release))
        with pytest.raises(TypeError, match="aiter_bytes"):
            next(response.iter_bytes())


class TestDefaultTransports:
    def test_client_defaults_to_requests_transport(self) -> None:
        from ails.transports.requests_transport import RequestsTransport

        with ails.Client(base_url=URL) as client:
            assert isinstance(client._transport, RequestsTransport)

    async def test_async_client_defaults_to_aiohttp_transport(self) -> None:
        from ails.transports.aiohttp_transport import AiohttpTransport

        async with ails.AsyncClient(base_url=URL) as client:
            assert isinstance(client._transport, AiohttpTransport)


class PlainResponse:
    """A minimal port response whose bodies are plain iterators, with no close of their own."""

    def __init__(self, status: int, chunks: list[bytes]) -> None:
        self.status = status
        self.headers = {"Content-Type": "text/event-stream"}
        self._chunks = chunks
        self.closed = False

    def iter_bytes(self) -> Iterator[bytes]:
        return iter(self._chunks)

    def aiter_bytes(self) -> AsyncIterator[bytes]:
        return PlainAsyncIterator(self._chunks)

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


class PlainAsyncIterator(AsyncIterator[bytes]):
    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = iter(chunks)

    async def __anext__(self) -> bytes:
        try:
            return next(self._chunks)
        except StopIteration:
            raise StopAsyncIteration from None


class PlainTransport:
    """A user's own transport: implements the port and nothing else."""

    def __init__(self, *responses: PlainResponse) -> None:
        self._responses = list(responses)
        self.requests: list[HttpRequest] = []
        self.closed = False

    def send(self, request: HttpRequest) -> PlainResponse:
        self.requests.append(request)
        return self._responses.pop(0)

    async def asend(self, request: HttpRequest) -> PlainResponse:
        return self.send(request)

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


class TestOwnTransport:
    async def test_any_transport_implementing_the_port_works(self, driver: Driver) -> None:
        response = PlainResponse(200, chat_stream(["Hi", "!"]))
        transport = PlainTransport(response)
        assert isinstance(transport, Transport)
        assert isinstance(transport, AsyncTransport)
        assert await driver.collect(transport) == ["Hi", "!"]  # type: ignore[arg-type]
        assert response.closed
        assert transport.closed

    async def test_an_error_status_through_a_plain_transport(self, driver: Driver) -> None:
        failed = PlainResponse(503, [b"busy"])
        transport = PlainTransport(failed, PlainResponse(200, chat_stream(["ok"])))
        assert await driver.collect(transport) == ["ok"]  # type: ignore[arg-type]
        assert failed.closed
        assert len(transport.requests) == 2

    async def test_a_foreign_exception_from_send_propagates_unchanged(self, driver: Driver) -> None:
        bug = RuntimeError("bug in the transport")
        transport = mock(bug, ok())
        error = await driver.fail(transport)
        assert error is bug
        assert len(transport.requests) == 1
        assert driver.logger.only["error"] == "RuntimeError"

    async def test_a_foreign_exception_mid_body_propagates_and_releases(
        self, driver: Driver
    ) -> None:
        bug = KeyError("oops")
        response = MockResponse(chunks=[ROLE, token("a"), bug])
        outcome = await driver.drain(mock(response))
        assert outcome.error is bug
        assert outcome.tokens == ["a"]
        assert response.closed


def bare_request() -> HttpRequest:
    return HttpRequest(method="POST", url="http://x.test/", headers=(), body=b"{}")


class TestMockTransport:
    def test_a_tuple_answer_becomes_a_response_with_case_insensitive_headers(self) -> None:
        transport = MockTransport(lambda request: (201, {"X-Thing": "1"}, [b"x"]))
        request = bare_request()
        response = transport.send(request)
        assert isinstance(response, MockResponse)
        assert response.status == 201
        assert response.headers["x-thing"] == "1"
        assert response.headers.get("X-THING") == "1"
        assert response.headers.get("missing") is None
        assert "x-THING" in response.headers
        assert 1 not in response.headers
        assert transport.requests == [request]
        assert transport.responses == [response]
        assert transport.open_responses == 1
        response.close()
        assert transport.open_responses == 0

    def test_a_closed_response_hands_out_nothing_more(self) -> None:
        response = MockResponse(chunks=[b"a", b"b", b"c"])
        body = response.iter_bytes()
        assert next(body) == b"a"
        response.close()
        assert list(body) == []
        assert response.consumed == 1

    async def test_a_closed_async_response_hands_out_nothing_more(self) -> None:
        async def source() -> AsyncIterator[bytes]:
            for chunk in (b"a", b"b", b"c"):
                yield chunk

        for chunks in ([b"a", b"b", b"c"], source()):
            response = MockResponse(chunks=chunks)
            body = response.aiter_bytes()
            assert await body.__anext__() == b"a"
            await response.aclose()
            assert [chunk async for chunk in body] == []
            assert response.consumed == 1

    async def test_an_async_source_is_read_to_its_end_and_may_raise(self) -> None:
        async def source() -> AsyncIterator[bytes | BaseException]:
            yield b"a"
            yield b"b"

        response = MockResponse(chunks=source())
        assert [chunk async for chunk in response.aiter_bytes()] == [b"a", b"b"]
        # Any async iterable will do, even one without aclose().
        response = MockResponse(chunks=PlainAsyncIterator([b"c"]))
        assert [chunk async for chunk in response.aiter_bytes()] == [b"c"]

        async def failing() -> AsyncIterator[bytes | BaseException]:
            yield b"a"
            yield ConnectionResetError("reset")

        response = MockResponse(chunks=failing())
        with pytest.raises(ConnectionResetError):
            [chunk async for chunk in response.aiter_bytes()]
        assert response.consumed == 1

    async def test_async_send_and_close(self) -> None:
        transport = MockTransport(lambda request: MockResponse(chunks=[DONE]))
        response = await transport.asend(bare_request())
        assert [chunk async for chunk in response.aiter_bytes()] == [DONE]
        await transport.aclose()
        assert transport.closed
