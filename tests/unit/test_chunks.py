"""Chat semantics over events: tokens, the end of an answer, and the service's errors."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from ails.domain.chunks import (
    DEFAULT_NOTICE_PATTERN,
    NEED_REFRESH,
    ChunkInterpreter,
    provider_error,
)
from ails.domain.errors import ProtocolError, ProviderError
from ails.domain.sse import ServerSentEvent
from ails.testing import chat_chunk


def event(data: str | dict[str, Any] | list[Any], *, type_: str = "message") -> ServerSentEvent:
    text = data if isinstance(data, str) else json.dumps(data)
    return ServerSentEvent(data=text, event=type_)


def choice(delta: Any = None, **extra: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta, **extra}]}


class TestTokens:
    def test_content_of_the_delta_is_a_token(self) -> None:
        assert ChunkInterpreter().feed([event(chat_chunk("Hi"))]) == ["Hi"]

    def test_tokens_are_returned_verbatim(self) -> None:
        text = "  Привет,\n мир 😀 \u2028"

        assert ChunkInterpreter().feed([event(chat_chunk(text))]) == [text]

    def test_role_only_first_chunk_yields_nothing(self) -> None:
        assert ChunkInterpreter().feed([event(chat_chunk(role="assistant"))]) == []

    def test_finish_reason_chunk_yields_nothing(self) -> None:
        assert ChunkInterpreter().feed([event(chat_chunk(finish_reason="stop"))]) == []

    @pytest.mark.parametrize("content", [None, ""])
    def test_null_or_empty_content_yields_nothing(self, content: str | None) -> None:
        assert ChunkInterpreter().feed([event(choice({"content": content}))]) == []

    def test_missing_or_null_delta_yields_nothing(self) -> None:
        interpreter = ChunkInterpreter()

        assert interpreter.feed([event({"choices": [{"index": 0}]})]) == []
        assert interpreter.feed([event(choice(None))]) == []

    @pytest.mark.parametrize(("id", "model"), [(7, "m"), ("chatcmpl-1", ["m"])])
    def test_an_id_or_model_that_is_not_text_waits_for_a_later_chunk(
        self, id: object, model: object
    ) -> None:
        interpreter = ChunkInterpreter()

        assert interpreter.feed([event({**chat_chunk("Hi"), "id": id, "model": model})]) == ["Hi"]
        later = {**chat_chunk(" there"), "id": "chatcmpl-2", "model": "later"}
        interpreter.feed([event(later)])

        # What was text is kept from the first chunk, the other from the later one.
        assert (interpreter.id, interpreter.model) == (
            id if isinstance(id, str) else "chatcmpl-2",
            model if isinstance(model, str) else "later",
        )

    def test_empty_choices_are_fine(self) -> None:
        usage = {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 5}}

        assert ChunkInterpreter().feed([event(usage)]) == []

    def test_object_without_choices_yields_nothing(self) -> None:
        assert ChunkInterpreter().feed([event({"id": "x", "object": "ping"})]) == []

    def test_every_choice_contributes_its_token(self) -> None:
        chunk = {"choices": [{"delta": {"content": "a"}}, {"delta": {"content": "b"}}]}

        assert ChunkInterpreter().feed([event(chunk)]) == ["a", "b"]

    def test_null_error_field_is_not_an_error(self) -> None:
        assert ChunkInterpreter().feed([event({"error": None, **chat_chunk("ok")})]) == ["ok"]


class TestCompletion:
    def test_nothing_is_complete_at_first(self) -> None:
        interpreter = ChunkInterpreter()

        assert (interpreter.done, interpreter.finish_reason, interpreter.complete) == (
            False,
            None,
            False,
        )

    def test_done_sentinel_completes_the_answer(self) -> None:
        interpreter = ChunkInterpreter()

        assert interpreter.feed([ServerSentEvent(data="[DONE]")]) == []
        assert interpreter.done
        assert interpreter.complete

    def test_finish_reason_completes_the_answer(self) -> None:
        interpreter = ChunkInterpreter()
        interpreter.feed([event(chat_chunk(finish_reason="length"))])

        assert interpreter.finish_reason == "length"
        assert interpreter.complete
        assert not interpreter.done

    def test_finish_reason_may_come_with_the_last_token(self) -> None:
        interpreter = ChunkInterpreter()

        assert interpreter.feed([event(chat_chunk("end", finish_reason="stop"))]) == ["end"]
        assert interpreter.finish_reason == "stop"

    def test_content_tokens_do_not_complete_the_answer(self) -> None:
        interpreter = ChunkInterpreter()
        interpreter.feed([event(chat_chunk("Hi"))])

        assert not interpreter.complete


class TestErrorObjects:
    def test_error_object_raises_provider_error_with_its_code(self) -> None:
        error = {"error": {"code": "quota_exceeded", "message": "Too many requests today"}}

        with pytest.raises(ProviderError, match="Too many requests today") as info:
            ChunkInterpreter().feed([event(error)])

        assert info.value.code == "quota_exceeded"
        assert info.value.detail == "Too many requests today"
        assert "quota_exceeded" in str(info.value)

    def test_need_refresh_tells_the_user_to_update_secret_and_client_version(self) -> None:
        error = {"error": {"code": NEED_REFRESH, "message": "refresh the page"}}

        with pytest.raises(ProviderError) as info:
            ChunkInterpreter().feed([event(error)])

        message = str(info.value)
        assert info.value.code == "AI.LS: NEED REFRESH"
        assert "secret" in message
        assert "client-v" in message
        assert "with_secret" in message

    def test_need_refresh_is_recognised_in_any_case(self) -> None:
        with pytest.raises(ProviderError, match="out of date"):
            ChunkInterpreter().feed([event({"error": {"code": "ai.ls: need refresh"}})])

    def test_error_as_a_plain_string(self) -> None:
        with pytest.raises(ProviderError, match="model overloaded") as info:
            ChunkInterpreter().feed([event({"error": "model overloaded"})])

        assert info.value.code is None

    def test_event_type_error_raises_provider_error(self) -> None:
        data = {"error": {"code": 503, "message": "upstream down"}}

        with pytest.raises(ProviderError, match="upstream down") as info:
            ChunkInterpreter().feed([event(data, type_="error")])

        assert info.value.code == "503"

    def test_event_type_error_with_plain_text(self) -> None:
        with pytest.raises(ProviderError, match="something broke") as info:
            ChunkInterpreter().feed([event("something broke", type_="error")])

        assert info.value.detail == "something broke"

    def test_event_type_error_with_a_bare_error_object(self) -> None:
        data = {"code": "bad_request", "message": "no model"}

        with pytest.raises(ProviderError, match="no model") as info:
            ChunkInterpreter().feed([event(data, type_="error")])

        assert info.value.code == "bad_request"

    def test_event_type_error_with_other_json(self) -> None:
        with pytest.raises(ProviderError, match="42"):
            ChunkInterpreter().feed([event("42", type_="error")])

    def test_event_type_error_with_deeply_nested_json_still_raises_provider_error(self) -> None:
        with pytest.raises(ProviderError):
            ChunkInterpreter().feed([event("[" * 100_000, type_="error")])


class TestProviderErrorFactory:
    def test_error_without_message_says_so(self) -> None:
        error = provider_error({"code": "x"})

        assert str(error) == "the service answered with an error (x): no message"

    def test_error_without_code_omits_it(self) -> None:
        error = provider_error({"message": "boom"})

        assert str(error) == "the service answered with an error: boom"
        assert error.code is None

    def test_long_detail_is_cut_in_the_message_but_kept_whole(self) -> None:
        detail = "x" * 1000

        error = provider_error({"message": detail})

        assert len(str(error)) < 300
        assert str(error).endswith("...")
        assert error.detail == detail


class TestNotices:
    @pytest.mark.parametrize(
        "notice",
        [
            "Вы исчерпали лимит запросов. Подробнее на ai.ls",
            "Rate limit reached, visit https://ai.ci/pricing",
            "Visit AI.LS for more",
        ],
    )
    def test_notice_in_the_first_token_raises_provider_error(self, notice: str) -> None:
        with pytest.raises(ProviderError, match="notice instead of an answer") as info:
            ChunkInterpreter().feed([event(chat_chunk(notice))])

        assert info.value.code == "notice"
        assert info.value.detail == notice

    def test_notice_after_a_role_only_chunk_still_counts_as_first(self) -> None:
        interpreter = ChunkInterpreter()
        interpreter.feed([event(chat_chunk(role="assistant"))])
        interpreter.feed([event(chat_chunk(""))])

        with pytest.raises(ProviderError):
            interpreter.feed([event(chat_chunk("limit reached, see ai.ls"))])

    def test_later_token_mentioning_ai_ls_is_an_ordinary_token(self) -> None:
        interpreter = ChunkInterpreter()
        interpreter.feed([event(chat_chunk("The site"))])

        assert interpreter.feed([event(chat_chunk(" ai.ls is a chat"))]) == [" ai.ls is a chat"]

    @pytest.mark.parametrize("text", ["mail.lsd", "aixls", "chai.lsx", "ai.lst"])
    def test_lookalikes_are_not_notices(self, text: str) -> None:
        assert ChunkInterpreter().feed([event(chat_chunk(text))]) == [text]

    def test_pattern_none_disables_the_check(self) -> None:
        interpreter = ChunkInterpreter(notice_pattern=None)

        assert interpreter.feed([event(chat_chunk("see ai.ls"))]) == ["see ai.ls"]

    def test_custom_pattern_is_used(self) -> None:
        interpreter = ChunkInterpreter(notice_pattern=re.compile("quota"))

        with pytest.raises(ProviderError):
            interpreter.feed([event(chat_chunk("quota exceeded"))])

    def test_default_pattern_matches_both_domains(self) -> None:
        assert DEFAULT_NOTICE_PATTERN.search("ai.ls")
        assert DEFAULT_NOTICE_PATTERN.search("AI.CI")


class TestMalformedEvents:
    @pytest.mark.parametrize("data", ["not json", "{", "", "{'single': 1}", "[" * 100_000])
    def test_non_json_data_raises_protocol_error(self, data: str) -> None:
        with pytest.raises(ProtocolError, match="not JSON"):
            ChunkInterpreter().feed([event(data)])

    @pytest.mark.parametrize("data", ["[1, 2]", "42", '"text"', "null"])
    def test_json_that_is_not_an_object_raises_protocol_error(self, data: str) -> None:
        with pytest.raises(ProtocolError, match="JSON object"):
            ChunkInterpreter().feed([event(data)])

    @pytest.mark.parametrize("choices", [{}, "abc", 1])
    def test_choices_not_a_list_raises(self, choices: object) -> None:
        with pytest.raises(ProtocolError, match="'choices' is not a list"):
            ChunkInterpreter().feed([event({"choices": choices})])

    @pytest.mark.parametrize("item", ["abc", 1, None, []])
    def test_choice_not_an_object_raises(self, item: object) -> None:
        with pytest.raises(ProtocolError, match="choice is not an object"):
            ChunkInterpreter().feed([event({"choices": [item]})])

    @pytest.mark.parametrize("delta", ["abc", 1, []])
    def test_delta_not_an_object_raises(self, delta: object) -> None:
        with pytest.raises(ProtocolError, match="'delta' is not an object"):
            ChunkInterpreter().feed([event(choice(delta))])

    @pytest.mark.parametrize("content", [1, ["a"], {"text": "a"}, True])
    def test_content_not_a_string_raises(self, content: object) -> None:
        with pytest.raises(ProtocolError, match="'content' is not a string"):
            ChunkInterpreter().feed([event(choice({"content": content}))])

    def test_error_message_quotes_an_excerpt_of_the_data(self) -> None:
        data = "<html>" + "x" * 1000

        with pytest.raises(ProtocolError) as info:
            ChunkInterpreter().feed([event(data)])

        assert "<html>" in str(info.value)
        assert len(str(info.value)) < 400
