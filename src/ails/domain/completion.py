"""What one completion was, as one frozen record, and the typed deltas of its stream.

:class:`Completion` is produced once, by the run that owned the completion,
when it ends; every report about a completion (the stream's properties, the
log event, the CLI's closing line, the gateway's answers, the history) reads
it. The deltas are what ``stream.events()`` yields, in arrival order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import attrs

if TYPE_CHECKING:
    from ails.domain.errors import AilsError
    from ails.domain.messages import Message

__all__ = [
    "Completion",
    "Outcome",
    "ReasoningDelta",
    "StreamEvent",
    "TextDelta",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
]

#: How a completion ended: ``"complete"`` (``[DONE]`` or a ``finish_reason``),
#: ``"incomplete"`` (the stream stopped before that), ``"error"`` (an error was
#: raised) or ``"closed"`` (the caller left early).
Outcome = Literal["complete", "incomplete", "error", "closed"]


@attrs.frozen
class TextDelta:
    """A piece of the answer's text, as it arrived."""

    text: str


@attrs.frozen
class ReasoningDelta:
    """A piece of the model's reasoning (``delta.reasoning_content`` or ``delta.reasoning``)."""

    text: str


@attrs.frozen
class ToolCallDelta:
    """A piece of a tool call, identified by its ``index`` in the answer.

    The first delta of a call carries its ``id`` and ``name``; later ones carry
    only more of ``arguments`` (JSON text, split anywhere).
    """

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


#: What ``stream.events()`` yields.
StreamEvent = TextDelta | ToolCallDelta | ReasoningDelta


@attrs.frozen
class ToolCall:
    """A whole tool call the model asked for: ``arguments`` is the JSON text as sent."""

    id: str
    name: str
    arguments: str

    def to_dict(self) -> dict[str, object]:
        """The OpenAI wire form, ``{"id", "type": "function", "function": {...}}``."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@attrs.frozen
class Usage:
    """Token counts of one completion, as the server (or the gateway) counted them."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int

    def to_dict(self) -> dict[str, int]:
        """The OpenAI wire form."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


@attrs.frozen
class Completion:
    """Everything known about one completion once it ended; produced once, by its run.

    ``outcome`` says how it ended and ``error`` holds the error that ended it,
    if one did. ``message`` is the assistant message to put back into the
    history, tool calls included.
    """

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    reasoning: str | None = None
    finish_reason: str | None = None
    usage: Usage | None = None
    id: str | None = None
    model: str | None = None
    time_to_first_token: float | None = None
    duration: float | None = None
    attempts: int = 0
    outcome: Outcome = "complete"
    error: AilsError | None = attrs.field(default=None, eq=False)

    @property
    def message(self) -> Message:
        """The assistant message to append to the history (tool calls included)."""
        from ails.domain.messages import Message

        return Message.assistant(self.text, tool_calls=self.tool_calls)
