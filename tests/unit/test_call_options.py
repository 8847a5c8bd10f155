"""Per-call options: what goes on the wire with each profile, and what is refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from client_support import HELLO, Driver, mock, ok

import ails
from ails.domain.errors import ValidationError
from ails.domain.messages import ChatRequest, Message
from ails.domain.options import OPTION_NAMES, RequestOptions

OPENAI = {"profile": "openai", "api_key": "sk-test"}
ALL_OPTIONS: dict[str, Any] = {
    "max_tokens": 64,
    "top_p": 0.5,
    "stop": ["\n\n", "END"],
    "presence_penalty": -0.5,
    "frequency_penalty": 1.5,
    "seed": 7,
    "user": "user-1234",
    "max_completion_tokens": 128,
    "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}],
    "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    "parallel_tool_calls": False,
    "response_format": {"type": "json_object"},
    "reasoning_effort": "low",
    "verbosity": "low",
    "logprobs": True,
    "top_logprobs": 3,
    "logit_bias": {"50256": -100},
    "n": 1,
    "modalities": ["text"],
    "prediction": {"type": "content", "content": "x"},
    "web_search_options": {},
    "stream_options": {"include_usage": True},
    "prompt_cache_key": "k-1",
    "safety_identifier": "hash-1",
    "service_tier": "auto",
    "store": False,
    "metadata": {"run": "1"},
}


def sent(transport: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(transport.requests[-1].body)
    return body


class TestTheDeclaration:
    def test_every_declared_option_has_a_test_value(self) -> None:
        assert set(ALL_OPTIONS) == set(OPTION_NAMES)

    def test_the_typed_keywords_are_the_declaration(self) -> None:
        from ails.client.settings import CallOptions
        from ails.domain.options import OptionFields

        assert list(OptionFields.__annotations__) == list(OPTION_NAMES)
        own = {"model", "temperature", "extra_body", "timeout", "headers"}
        assert set(CallOptions.__annotations__) == set(OPTION_NAMES) | own

    def test_the_three_methods_take_the_same_keywords(self) -> None:
        import inspect

        for cls in (ails.Client, ails.AsyncClient):
            shapes = {
                str(inspect.signature(getattr(cls, name)))
                for name in ("stream", "complete", "create")
            }
            assert len({shape.split(" -> ")[0] for shape in shapes}) == 1, shapes

    def test_an_unknown_keyword_is_a_type_error(self) -> None:
        with ails.Client(mock()) as client, pytest.raises(TypeError, match="colour"):
            client.stream(HELLO, colour="red")  # type: ignore[call-arg]

    @pytest.mark.parametrize(
        ("name", "value", "message"),
        [
            ("tools", {"type": "function"}, "tools must be a list of objects"),
            ("tool_choice", 3, "tool_choice must be 'auto', 'none', 'required' or an object"),
            ("parallel_tool_calls", "yes", "parallel_tool_calls must be true or false"),
            ("response_format", "json", "response_format must be an object"),
            ("reasoning_effort", 1, "reasoning_effort must be a string"),
            ("max_completion_tokens", 0, "max_completion_tokens must be at least 1"),
            ("top_logprobs", 21, "top_logprobs must be at most 20"),
            ("n", 2, "n must be 1: ails reads one answer per request"),
            ("modalities", "text", "modalities must be a list of strings"),
            ("stream_options", {"include_usage": 1}, "include_usage must be true or false"),
            ("metadata", {"x": object()}, "metadata must be plain JSON values"),
        ],
    )
    def test_bad_values_name_the_option(self, name: str, value: Any, message: str) -> None:
        with pytest.raises(ValidationError, match=message):
            RequestOptions(**{name: value})

    def test_no_op_values_are_known(self) -> None:
        from ails.domain.options import option

        assert option("n").is_no_op(1)
        assert not option("n").is_no_op(True)
        assert option("top_p").is_no_op(1.0)
        assert option("user").is_no_op("anyone")  # neutral: changes nothing about the answer
        assert not option("tools").is_no_op([{"type": "function"}])


class TestTemperature:
    async def test_none_sends_no_temperature(self, driver: Driver) -> None:
        transport = mock()
        await driver.collect(transport, stream_kw={"temperature": None}, **OPENAI)
        assert "temperature" not in sent(transport)

    async def test_the_default_is_sent_on_the_ails_profile(self, driver: Driver) -> None:
        transport = mock()
        await driver.collect(transport)
        assert sent(transport)["temperature"] == 0.6


class TestOpenAIProfile:
    async def test_every_option_goes_on_the_wire_as_given(self, driver: Driver) -> None:
        transport = mock()
        await driver.collect(transport, stream_kw=ALL_OPTIONS, **OPENAI)
        body = sent(transport)
        for name, value in ALL_OPTIONS.items():
            assert body[name] == value
        assert body["stream"] is True

    async def test_unset_options_are_not_sent(self, driver: Driver) -> None:
        transport = mock()
        await driver.collect(transport, **OPENAI)
        assert set(sent(transport)) == {"model", "temperature", "stream", "messages"}

    async def test_extra_body_is_merged_last(self, driver: Driver) -> None:
        transport = mock()
        extra = {"max_tokens": 5, "logit_bias": {"50256": -100}}
        await driver.collect(transport, stream_kw={"max_tokens": 64, "extra_body": extra}, **OPENAI)
        body = sent(transport)
        assert body["max_tokens"] == 5
        assert body["logit_bias"] == {"50256": -100}

    async def test_names_and_text_parts_are_sent(self, driver: Driver) -> None:
        transport = mock()
        messages = [
            {"role": "system", "name": "rules", "content": "Be brief."},
            {
                "role": "user",
                "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
            },
        ]
        await driver.collect(transport, messages, **OPENAI)
        assert sent(transport)["messages"] == messages


class TestAilsProfile:
    @pytest.mark.parametrize("name", OPTION_NAMES)
    async def test_each_option_is_refused_by_name(self, driver: Driver, name: str) -> None:
        transport = mock()
        with pytest.raises(ValidationError, match=f"^{name} is not sent with the 'ails' profile"):
            await driver.collect(transport, stream_kw={name: ALL_OPTIONS[name]})
        assert transport.requests == []

    async def test_extra_body_sends_them_on_purpose(self, driver: Driver) -> None:
        transport = mock()
        await driver.collect(transport, stream_kw={"extra_body": {"max_tokens": 10}})
        body = sent(transport)
        assert body["max_tokens"] == 10
        assert {"d", "t", "s"} <= set(body)  # still signed

    async def test_a_message_name_is_refused(self, driver: Driver) -> None:
        with pytest.raises(ValidationError, match=r"messages\[0\] has a name"):
            await driver.collect(mock(), [{"role": "user", "content": "hi", "name": "bob"}])

    async def test_text_parts_are_refused(self, driver: Driver) -> None:
        messages = [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
        with pytest.raises(ValidationError, match=r"messages\[0\] has content parts"):
            await driver.collect(mock(), messages)


class TestPerCallTimeoutAndHeaders:
    async def test_headers_merge_over_the_clients(self, driver: Driver) -> None:
        transport = mock()
        await driver.collect(
            transport,
            headers={"x-a": "client", "x-b": "client"},
            stream_kw={"headers": {"X-B": "call"}},
        )
        headers = dict(transport.requests[-1].headers)
        assert (headers["x-a"], headers["x-b"]) == ("client", "call")

    async def test_a_bad_header_is_refused_before_sending(self, driver: Driver) -> None:
        transport = mock()
        with pytest.raises(ValidationError, match="CR, LF or NUL"):
            await driver.collect(transport, stream_kw={"headers": {"x-a": "a\r\nb: c"}})
        assert transport.requests == []

    async def test_timeout_replaces_the_clients(self, driver: Driver) -> None:
        transport = mock()
        await driver.collect(transport, timeout=30, stream_kw={"timeout": 2.5})
        request = transport.requests[-1]
        assert (request.connect_timeout, request.read_timeout) == (2.5, 2.5)

    async def test_timeout_none_disables_the_limits(self, driver: Driver) -> None:
        transport = mock()
        await driver.collect(transport, stream_kw={"timeout": None})
        request = transport.requests[-1]
        assert (request.connect_timeout, request.read_timeout) == (None, None)

    async def test_without_a_per_call_timeout_the_clients_applies(self, driver: Driver) -> None:
        transport = mock()
        await driver.collect(transport, timeout=3)
        assert transport.requests[-1].read_timeout == 3

    async def test_complete_takes_the_same_options(self, driver: Driver) -> None:
        transport = mock(ok("4"))
        text = await driver.complete(transport, stream_kw={"max_tokens": 1, "seed": 1}, **OPENAI)
        assert text == "4"
        assert sent(transport)["seed"] == 1


class TestOptionValues:
    @pytest.mark.parametrize(
        ("kw", "message"),
        [
            ({"max_tokens": 0}, "max_tokens must be at least 1"),
            ({"max_tokens": 1.5}, "max_tokens must be an integer"),
            ({"max_tokens": True}, "max_tokens must be an integer"),
            ({"top_p": 1.5}, "top_p must be between 0 and 1"),
            ({"top_p": float("nan")}, "top_p must be between"),
            ({"presence_penalty": "1"}, "presence_penalty must be a number"),
            ({"frequency_penalty": -3}, "frequency_penalty must be between -2 and 2"),
            ({"stop": 5}, "stop must be a string or a list of strings"),
            ({"stop": ["a", 1]}, "stop must be a string or a list of strings"),
            ({"seed": "7"}, "seed must be an integer"),
            ({"user": 5}, "user must be a string"),
            ({"extra_body": []}, "extra_body must be a dict"),
            ({"extra_body": {"stream": False}}, "may not set 'stream'"),
            ({"extra_body": {1: 2}}, "extra_body keys must be strings"),
            ({"extra_body": {"x": object()}}, "extra_body must be plain JSON values"),
            ({"extra_body": {"x": float("inf")}}, "extra_body must be plain JSON values"),
        ],
    )
    def test_bad_values_are_refused(self, kw: dict[str, Any], message: str) -> None:
        with pytest.raises(ValidationError, match=message):
            RequestOptions(**kw)

    def test_a_single_stop_string_is_kept(self) -> None:
        body: dict[str, Any] = {}
        RequestOptions(stop="END").add_to(body)
        assert body == {"stop": "END"}

    def test_wants_usage_reads_stream_options(self) -> None:
        assert RequestOptions(extra_body={"stream_options": {"include_usage": True}}).wants_usage
        assert not RequestOptions(extra_body={"stream_options": {"include_usage": 1}}).wants_usage
        assert not RequestOptions().wants_usage

    def test_the_openai_profile_accepts_options_and_ails_does_not(self) -> None:
        assert ails.Profile.openai("k").accepts_options
        assert not ails.Profile.ails().accepts_options


class TestMessageParts:
    def test_parts_join_into_content(self) -> None:
        message = Message.from_parts("user", ["a", "b"], name="me")
        assert message.content == "a\nb"
        assert message.to_dict() == {
            "role": "user",
            "name": "me",
            "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
        }

    def test_content_must_match_its_parts(self) -> None:
        with pytest.raises(ValidationError, match="joined by newlines"):
            Message(ails.Role.USER, "ab", parts=("a", "b"))

    def test_one_string_is_not_a_list_of_parts(self) -> None:
        with pytest.raises(ValidationError, match="not one string"):
            Message.from_parts("user", "ab")

    @pytest.mark.parametrize(
        ("content", "message"),
        [
            ([{"type": "image_url", "image_url": {"url": "x"}}], "only text parts"),
            (["plain"], "only text parts"),
            ([{"type": "text", "text": 5}], r"content\[0\].text must be a string"),
        ],
    )
    def test_only_text_parts(self, content: list[Any], message: str) -> None:
        with pytest.raises(ValidationError, match=message):
            Message.from_dict({"role": "user", "content": content})

    @pytest.mark.parametrize("name", ["", 5])
    def test_name_must_be_a_non_empty_string(self, name: object) -> None:
        with pytest.raises(ValidationError, match="name must be a non-empty string"):
            Message.from_dict({"role": "user", "content": "hi", "name": name})

    def test_check_profile_passes_plain_messages(self) -> None:
        ChatRequest(HELLO).check_profile(False, "ails")
