"""Tool calls in a conversation: results go back as input, the history and the store keep both."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_conversation import MemoryStore, Replies, broken

from ails import AsyncClient, AsyncConversation, Client, Conversation, ConversationStore, Message
from ails.domain.completion import ToolCall
from ails.domain.history import SUPERSEDED, Turn
from ails.domain.messages import Role
from ails.errors import IncompleteStreamError, TransportError, ValidationError
from ails.testing import DONE, MockResponse, MockTransport, sse_event

WEATHER = ToolCall("call_1", "get_weather", '{"city":"Paris"}')
TIME = ToolCall("call_2", "get_time", "{}")
#: A history whose last answer asked for two tool calls.
ASKED = (
    Turn.user("weather and time in Paris?"),
    Turn(Role.ASSISTANT, "", tool_calls=(WEATHER, TIME)),
)
RESULTS = [Message.tool("call_1", '{"temp": 21}'), Message.tool("call_2", "12:00")]
TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}


def wire(transport: MockTransport, index: int = -1) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = json.loads(transport.requests[index].body)["messages"]
    return messages


def openai_conversation(
    *answers: MockResponse, turns: tuple[Turn, ...] = ASKED, **kw: Any
) -> tuple[Conversation, MockTransport]:
    transport = MockTransport(Replies(*answers))
    client = Client(transport, base_url="http://127.0.0.1:8787", profile="openai", api_key="k")
    return Conversation(client, turns=turns, wall_clock=lambda: 5.0, **kw), transport


class TestResultsGoBackAsInput:
    def test_the_results_go_with_the_call_they_answer(self) -> None:
        conv, transport = openai_conversation()
        assert conv.complete(RESULTS) == "A1"
        assert wire(transport) == [
            {"role": "user", "content": "weather and time in Paris?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [WEATHER.to_dict(), TIME.to_dict()],
            },
            {"role": "tool", "content": '{"temp": 21}', "tool_call_id": "call_1"},
            {"role": "tool", "content": "12:00", "tool_call_id": "call_2"},
        ]
        assert [(t.role.value, t.tool_call_id, t.created) for t in conv.messages[2:]] == [
            ("tool", "call_1", 5.0),
            ("tool", "call_2", 5.0),
            ("assistant", None, 5.0),
        ]

    def test_whatever_the_window(self) -> None:
        conv, transport = openai_conversation(window=0)
        conv.complete(RESULTS)
        assert [m["role"] for m in wire(transport)] == ["assistant", "tool", "tool"]

    def test_one_call_one_message_and_dicts_too(self) -> None:
        turns = (Turn.user("weather?"), Turn(Role.ASSISTANT, "", tool_calls=(WEATHER,)))
        conv, transport = openai_conversation(turns=turns)
        conv.complete(Message.tool("call_1", "21"))
        conv.complete("thanks")
        conv2, transport2 = openai_conversation(turns=turns)
        conv2.complete({"role": "tool", "tool_call_id": "call_1", "content": "21"})
        assert wire(transport2) == wire(transport, 0)
        assert [m["role"] for m in wire(transport)] == [
            "user",
            "assistant",
            "tool",
            "assistant",
            "user",
        ]

    def test_a_question_may_follow_the_results(self) -> None:
        conv, transport = openai_conversation()
        conv.complete([*RESULTS, Message.user("and in Celsius?")])
        assert [m["role"] for m in wire(transport)][-3:] == ["tool", "tool", "user"]
        assert conv.title == "weather and time in Paris?"

    def test_the_stream_takes_them_too(self) -> None:
        conv, _ = openai_conversation()
        with conv.stream(RESULTS) as tokens:
            assert list(tokens) == ["A1"]
        assert tokens.completion is not None
        assert tokens.completion.text == "A1"
        assert tokens.completion.outcome == "complete"

    def test_context_shows_it_without_sending(self) -> None:
        conv, transport = openai_conversation()
        assert [m.role.value for m in conv.context(RESULTS)] == [
            "user",
            "assistant",
            "tool",
            "tool",
        ]
        assert transport.requests == []

    def test_a_question_instead_of_results_leaves_the_call_out(self) -> None:
        conv, transport = openai_conversation()
        conv.complete("never mind, what is 2+2?")
        assert wire(transport) == [
            {"role": "user", "content": "weather and time in Paris?"},
            {"role": "user", "content": "never mind, what is 2+2?"},
        ]


class TestResultsThatCannotGo:
    @pytest.mark.parametrize(
        ("given", "match"),
        [
            ([RESULTS[0]], "'call_2' too"),
            ([*RESULTS, Message.tool("call_9", "x")], "'call_9' answer no open call"),
            ([], "nothing to send"),
            (Message.assistant("I said"), "'assistant' message"),
            ([Message.user("q"), Message.system("s")], r"input\[1\] is a 'system' message"),
            ({"role": "tool", "content": "x"}, "input: a 'tool' message needs"),
        ],
    )
    def test_refused_before_anything_is_sent_or_kept(self, given: Any, match: str) -> None:
        conv, transport = openai_conversation()
        with pytest.raises(ValidationError, match=match):
            conv.stream(given)
        assert transport.requests == []
        assert conv.messages == ASKED

    def test_a_result_when_no_call_is_open(self) -> None:
        conv, _ = openai_conversation(turns=())
        with pytest.raises(ValidationError, match="asked for none"):
            conv.complete(Message.tool("call_1", "21"))

    def test_the_ails_profile_refuses_tool_messages(self) -> None:
        transport = MockTransport(Replies())
        conv = Conversation(Client(transport, base_url="http://127.0.0.1:8787"), turns=ASKED)
        with pytest.raises(ValidationError, match="only the 'openai' profile sends"):
            conv.complete(RESULTS)
        assert transport.requests == []


class TestFailedAndRetried:
    def test_a_failed_answer_marks_the_results_and_they_may_be_given_again(self) -> None:
        conv, transport = openai_conversation(broken("x"))
        with pytest.raises(TransportError):
            conv.complete(RESULTS)
        assert [(t.role.value, t.complete) for t in conv.messages[2:]] == [
            ("tool", False),
            ("tool", False),
            ("assistant", False),
        ]
        # Not sent as context: a question now goes without the call it left open.
        assert [m.role.value for m in conv.context("so?")] == ["user", "user"]
        assert conv.complete(RESULTS) == "A2"
        assert [m["role"] for m in wire(transport)] == ["user", "assistant", "tool", "tool"]

    def test_retry_gives_the_results_again_in_their_context(self) -> None:
        store = MemoryStore()
        conv, transport = openai_conversation(store=store)
        conv.complete(RESULTS)
        assert "".join(conv.retry()) == "A2"
        assert wire(transport, 1) == wire(transport, 0)
        assert [(t.role.value, t.error) for t in conv.messages[2:]] == [
            ("tool", SUPERSEDED),
            ("tool", SUPERSEDED),
            ("assistant", SUPERSEDED),
            ("tool", None),
            ("tool", None),
            ("assistant", None),
        ]
        assert [[t for t, _ in marked] for marked in store.superseded] == [
            [],
            ["tool", "tool", "assistant"],
        ]

    def test_retry_after_a_failure_sends_each_result_once(self) -> None:
        conv, transport = openai_conversation(broken("x"))
        with pytest.raises(TransportError):
            conv.complete(RESULTS)
        assert "".join(conv.retry()) == "A2"
        assert [m["role"] for m in wire(transport)] == ["user", "assistant", "tool", "tool"]


class TestTheStoreKeepsThem:
    def test_round_trip_and_resume(self, tmp_path: Path) -> None:
        with ConversationStore(tmp_path / "h.db") as store:
            conv, _ = openai_conversation(turns=(), store=store)
            conv.complete("weather?")
            # As if that answer had asked for a call: the store keeps what it is given.
            store.append(conv._history.info(), [Turn(Role.ASSISTANT, "", tool_calls=(WEATHER,))])
            saved = store.load(conv.id)
            transport = MockTransport(Replies())
            client = Client(transport, base_url="http://127.0.0.1:1", profile="openai", api_key="k")
            again = Conversation.resume(client, saved, store=store)
            again.complete(Message.tool("call_1", "21"))
            turns = store.load(conv.id).turns
        assert [(t.role.value, t.tool_call_id) for t in turns[2:]] == [
            ("assistant", None),
            ("tool", "call_1"),
            ("assistant", None),
        ]
        assert turns[2].tool_calls == (WEATHER,)
        assert "`get_weather`" in again.export()


class TestAsync:
    async def test_results_go_back_and_are_kept(self) -> None:
        transport = MockTransport(Replies())
        client = AsyncClient(
            transport, base_url="http://127.0.0.1:8787", profile="openai", api_key="k"
        )
        conv = AsyncConversation(client, turns=ASKED)
        done = await conv.create(RESULTS)
        assert (done.text, done.outcome) == ("A1", "complete")
        assert [m["role"] for m in wire(transport)] == ["user", "assistant", "tool", "tool"]
        assert [t.role.value for t in conv.messages] == [
            "user",
            "assistant",
            "tool",
            "tool",
            "assistant",
        ]
        with pytest.raises(ValidationError, match="asked for none"):
            conv.stream(RESULTS)


def tool_call_answer(*calls: ToolCall, split: int = 7) -> MockResponse:
    """An answer asking for ``calls`` in parallel, each call's arguments cut at ``split``."""

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return sse_event(
            {
                "id": "chatcmpl-tools",
                "object": "chat.completion.chunk",
                "model": "gpt-4o-mini",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
        )

    events = [chunk({"role": "assistant", "content": None})]
    for index, call in enumerate(calls):
        head, tail = call.arguments[:split], call.arguments[split:]
        first = {
            "index": index,
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": head},
        }
        events += [
            chunk({"tool_calls": [first]}),
            chunk({"tool_calls": [{"index": index, "function": {"arguments": tail}}]}),
        ]
    return MockResponse(chunks=[*events, chunk({}, "tool_calls"), DONE])


class TestARoundTrip:
    def test_the_call_the_result_and_the_answer(self, tmp_path: Path) -> None:
        with ConversationStore(tmp_path / "h.db") as store:
            conv, transport = openai_conversation(
                tool_call_answer(WEATHER, TIME), turns=(), store=store
            )
            done = conv.create("weather and time in Paris?", tools=[TOOL], tool_choice="auto")
            body = json.loads(transport.requests[0].body)
            assert (body["tools"], body["tool_choice"]) == ([TOOL], "auto")
            assert (done.finish_reason, done.tool_calls) == ("tool_calls", (WEATHER, TIME))
            assert conv.messages[1].tool_calls == (WEATHER, TIME)
            assert conv.model == "gpt-4o-mini"
            final = conv.create(RESULTS)
            assert final.text == "A2"
            assert wire(transport)[1] == {
                "role": "assistant",
                "content": None,
                "tool_calls": [WEATHER.to_dict(), TIME.to_dict()],
            }
            assert store.load(conv.id).turns == conv.messages
        assert [t.role.value for t in conv.messages] == [
            "user",
            "assistant",
            "tool",
            "tool",
            "assistant",
        ]

    async def test_async(self) -> None:
        transport = MockTransport(Replies(tool_call_answer(WEATHER)))
        client = AsyncClient(
            transport, base_url="http://127.0.0.1:8787", profile="openai", api_key="k"
        )
        conv = AsyncConversation(client)
        done = await conv.create("weather?")
        assert done.tool_calls == (WEATHER,)
        assert await conv.complete(Message.tool("call_1", "21")) == "A2"
        assert [m["role"] for m in wire(transport)] == ["user", "assistant", "tool"]

    def test_a_stream_cut_inside_a_call_keeps_no_call_as_context(self) -> None:
        cut = tool_call_answer(WEATHER)
        conv, _ = openai_conversation(MockResponse(chunks=list(cut.chunks)[:2]), turns=())
        with pytest.raises(IncompleteStreamError):
            conv.create("weather?")
        question, partial = conv.messages
        assert (question.complete, partial.complete) == (False, False)
        assert partial.error == "IncompleteStreamError"
        # What arrived of the call is kept, and never sent as context.
        assert [(c.id, c.arguments) for c in partial.tool_calls] == [("call_1", '{"city"')]
        assert [m.role.value for m in conv.context("again?")] == ["user"]
        with pytest.raises(ValidationError, match="asked for none"):
            conv.stream(Message.tool("call_1", "21"))

    def test_an_answer_of_calls_only_has_no_text_tokens_and_keeps_its_calls(self) -> None:
        conv, transport = openai_conversation(tool_call_answer(WEATHER), turns=())
        stream = conv.stream("weather?")
        with pytest.raises(StopIteration):
            next(stream)  # a tool-call answer has no text tokens: the stream ends at once
        assert conv.messages[-1].tool_calls == (WEATHER,)
        assert transport.open_responses == 0
