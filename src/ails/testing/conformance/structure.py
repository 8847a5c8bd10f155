r"""Structure: tool calls, reasoning and usage, read through ``stream.events()`` and ``create()``.

The fixtures that say what the finished :class:`~ails.Completion` holds
(``tool_calls``, ``reasoning``, ``usage``, ``events`` ... in their
``expect``) are read twice more than their tokens: once delta by delta with
``stream.events()`` (then ``stream.completion``), once whole with
``create()``. Their arguments are split at awkward places (inside a JSON
string, inside a ``\u`` escape, one event's bytes across two writes), so a
transport that reorders, drops or re-chunks bytes shows up here as well.
"""

from __future__ import annotations

from typing import Any

import pytest

import ails.errors
from ails.domain.completion import (
    Completion,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from ails.testing.conformance.base import ContractBase
from ails.testing.conformance.support import OPENAI_KEY, ChatResult, ails_class
from ails.testing.fixtures import builtin_fixtures
from ails.testing.server import FakeServer

#: What an ``expect`` block may say about the finished record.
RECORD_KEYS = ("tool_calls", "reasoning", "finish_reason", "usage", "outcome", "events")
#: The shipped fixtures that say it.
STRUCTURE_FIXTURES = sorted(
    name
    for name, fixture in builtin_fixtures().items()
    if any(key in fixture.expect for key in RECORD_KEYS)
)


def expected_event(raw: dict[str, Any]) -> StreamEvent:
    """One entry of an ``expect["events"]`` list as the delta it stands for."""
    if "text" in raw:
        return TextDelta(raw["text"])
    if "reasoning" in raw:
        return ReasoningDelta(raw["reasoning"])
    call = raw["tool_call"]
    return ToolCallDelta(
        call["index"], id=call.get("id"), name=call.get("name"), arguments=call.get("arguments", "")
    )


def check_record(name: str, completion: Completion | None, expect: dict[str, Any]) -> None:
    """The finished record holds what the fixture's ``expect`` says (absent keys: nothing)."""
    assert completion is not None, f"{name}: no Completion once the stream ended"
    text = expect["text"] if "text" in expect else expect.get("partial_text", "")
    assert completion.text == text, name
    outcome = expect.get("outcome", "complete" if "text" in expect else "error")
    assert completion.outcome == outcome, name
    calls = tuple(ToolCall(**call) for call in expect.get("tool_calls", ()))
    if outcome == "complete" or "tool_calls" in expect:
        assert completion.tool_calls == calls, name
    if outcome != "complete":
        # Whatever arrived of a call cut short, it is not a call the model finished.
        assert completion.finish_reason is None, f"{name}: an answer cut short has no finish"
        assert completion.error is not None, name
    assert completion.reasoning == expect.get("reasoning"), name
    if "finish_reason" in expect:
        assert completion.finish_reason == expect["finish_reason"], name
    usage = expect.get("usage")
    assert completion.usage == (None if usage is None else Usage(**usage)), name
    if outcome == "complete":
        assert completion.error is None, name
        message = completion.message
        assert message.tool_calls == calls, f"{name}: done.message lost its tool calls"
        assert message.content == text, name


def check_error(name: str, result: ChatResult, expect: dict[str, Any]) -> None:
    """The chat ended as ``expect`` says: no error, or exactly the class it names."""
    if "error" not in expect:
        assert result.error is None, f"{name}: unexpected {result.error!r}"
        return
    wanted = getattr(ails.errors, expect["error"])
    got = result.error
    assert got is not None, f"{name}: expected {wanted.__name__}, nothing was raised"
    assert ails_class(got) is wanted, f"{name}: expected {wanted.__name__}, got {got!r}"
    assert got.partial_text == expect.get("partial_text", ""), name


class StructureCases(ContractBase):
    """Typed deltas in arrival order, and one record per completion, on every transport."""

    def _read(self, server: FakeServer, name: str, how: str) -> tuple[ChatResult, dict[str, Any]]:
        fixture = server.fixtures[name]
        options = {"profile": "openai", "api_key": OPENAI_KEY, **fixture.client_options}
        result = self.read_structure(
            server.url_for(name), how, call_options=fixture.call_options, **options
        )
        return result, fixture.expect

    @pytest.mark.parametrize("name", STRUCTURE_FIXTURES)
    def test_events_arrive_in_order_and_agree_with_the_record(
        self, openai_server: FakeServer, name: str
    ) -> None:
        """``stream.events()``: every delta as it came, then ``stream.completion`` says the same."""
        result, expect = self._read(openai_server, name, "events")
        check_error(name, result, expect)
        if "events" in expect:
            assert result.events == [expected_event(e) for e in expect["events"]], name
        completion = result.completion
        check_record(name, completion, expect)
        assert completion is not None
        text = "".join(e.text for e in result.events if isinstance(e, TextDelta))
        assert text == completion.text, f"{name}: the text deltas are not the record's text"
        reasoning = "".join(e.text for e in result.events if isinstance(e, ReasoningDelta))
        assert reasoning == (completion.reasoning or ""), name
        if result.error is not None:
            assert completion.error is result.error, f"{name}: the record holds another error"

    @pytest.mark.parametrize("name", STRUCTURE_FIXTURES)
    def test_create_returns_the_record(self, openai_server: FakeServer, name: str) -> None:
        """``create()``: the whole completion as one record, or the error ``complete()`` raises."""
        result, expect = self._read(openai_server, name, "create")
        check_error(name, result, expect)
        if result.error is None:
            check_record(name, result.completion, expect)
        else:
            assert result.completion is None
