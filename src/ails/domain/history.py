"""A conversation's history and the rules for what of it is sent.

Pure values and functions: a :class:`Turn` is one message as the history
keeps it (with whether it completed and what it cost); :func:`context`
decides which turns go with the next question; :func:`derive_title` names a
conversation after its first question. No clock, no I/O: callers pass the
times in.

The rules, in one place:

- **The window.** A request carries the system message (if any), then the
  last ``window`` *complete* messages, then the new input (a question, or
  the results of the tool calls the last answer asked for).
  ``window=None`` sends every complete message; ``window=0`` none.
- **Tool calls go whole.** An assistant message that asked for tool calls
  and the ``tool`` messages answering them are one group: the window never
  starts inside it (it widens to the assistant message), and a group that
  is not whole (a result without its call, a call without all its results,
  because an exchange failed or a question came instead) is left out, since
  a strict OpenAI server rejects either half alone.
- **Incomplete exchanges.** When an answer fails or is left early, both the
  input and the partial answer are kept, marked ``complete=False``, and
  are not sent as context unless ``include_incomplete=True``.
- **Retries.** When a retry's answer completes, the exchange it replaces is
  kept but marked ``complete=False`` with ``error="superseded"``
  (:func:`supersede`), so the input goes as context once, with the new
  answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from ails.domain.completion import ToolCall
from ails.domain.errors import ValidationError
from ails.domain.messages import Message, Role

__all__ = [
    "DEFAULT_WINDOW",
    "SUPERSEDED",
    "TITLE_LENGTH",
    "Turn",
    "check_tool_results",
    "check_window",
    "context",
    "derive_title",
    "last_input",
    "supersede",
]

#: The ai.ls web client sends the last six user/assistant messages with each question.
DEFAULT_WINDOW = 6
#: Titles are cut to about this many characters (a line in ``ails logs``).
TITLE_LENGTH = 60
#: The ``error`` of the turns of an exchange a retry replaced (not an error class).
SUPERSEDED = "superseded"


def _to_role(value: object) -> Role:
    try:
        role = Role(value)
    except ValueError:
        raise ValidationError(
            f"turn: unknown role {value!r}; use 'user', 'assistant' or 'tool'"
        ) from None
    if role is Role.SYSTEM:
        raise ValidationError("a turn is a user, assistant or tool message; pass system= instead")
    return role


def _to_tool_calls(value: Iterable[ToolCall]) -> tuple[ToolCall, ...]:
    calls = tuple(value)
    if not all(isinstance(call, ToolCall) for call in calls):
        raise ValidationError("a turn's tool_calls must be ToolCall values")
    return calls


@attrs.frozen
class Turn:
    """One user, assistant or tool message as a conversation's history keeps it.

    ``complete`` is False for an input whose answer failed or was left
    early, and for that partial answer; ``error`` then names the error class
    (``"TimeoutError"``, ``"KeyboardInterrupt"``, ...). ``created`` is a Unix
    time in seconds; ``tokens``, ``time_to_first_token`` and ``duration``
    (seconds) describe an answer and are ``None`` for inputs. An assistant
    turn may carry the ``tool_calls`` it asked for; a ``tool`` turn is the
    result of the call ``tool_call_id``.
    """

    role: Role = attrs.field(converter=_to_role)
    content: str = attrs.field(validator=attrs.validators.instance_of(str))
    complete: bool = True
    error: str | None = None
    created: float = 0.0
    tokens: int | None = None
    time_to_first_token: float | None = None
    duration: float | None = None
    tool_calls: tuple[ToolCall, ...] = attrs.field(default=(), converter=_to_tool_calls)
    tool_call_id: str | None = None

    def __attrs_post_init__(self) -> None:
        # The same rules as Message's, so every turn can go on the wire.
        self.to_message()

    @classmethod
    def user(cls, content: str, *, created: float = 0.0) -> Turn:
        """A question, complete until its answer says otherwise."""
        return cls(Role.USER, content, created=created)

    @classmethod
    def of(cls, message: Message, *, created: float = 0.0) -> Turn:
        """``message`` (a question, or a tool result) as the history keeps it.

        Its ``name`` and content parts are not kept: only the text is.
        """
        return cls(
            message.role,
            message.content,
            created=created,
            tool_calls=message.tool_calls,
            tool_call_id=message.tool_call_id,
        )

    def to_message(self) -> Message:
        """The message as it goes on the wire."""
        return Message(
            self.role, self.content, tool_calls=self.tool_calls, tool_call_id=self.tool_call_id
        )

    def to_dict(self) -> dict[str, object]:
        """The wire form, ``{"role": ..., "content": ...}`` (and the tool fields, if set)."""
        return self.to_message().to_dict()

    def incomplete(self, error: str | None) -> Turn:
        """A copy marked as part of an exchange that did not complete."""
        return attrs.evolve(self, complete=False, error=error)


def check_window(window: int | None) -> None:
    """Raise ``ValidationError`` unless ``window`` is a whole number >= 0 or ``None``."""
    if window is not None and (isinstance(window, bool) or not isinstance(window, int)):
        raise ValidationError(f"window must be a whole number or None, got {window!r}")
    if window is not None and window < 0:
        raise ValidationError(f"window must be 0 or more (or None for all), got {window}")


def _whole_groups(turns: Sequence[Turn], following: Sequence[Turn]) -> list[Turn]:
    """``turns`` without the halves of tool-call groups.

    An assistant turn with tool calls stays only if the tool turns right
    after it (in ``turns``, then ``following``) answer every one of its
    calls; a tool turn stays only if it answers a call of the assistant
    turn it follows, and that turn stays.
    """
    line = [*turns, *following]
    kept: list[Turn] = []
    calls: set[str] = set()  # the calls of the group being read; empty outside one
    for index, turn in enumerate(turns):
        if turn.role is Role.TOOL:
            if turn.tool_call_id in calls:
                kept.append(turn)
            continue
        calls = set()
        if turn.tool_calls:
            answers = []
            for later in line[index + 1 :]:
                if later.role is not Role.TOOL:
                    break
                answers.append(later.tool_call_id)
            wanted = {call.id for call in turn.tool_calls}
            if not wanted <= set(answers):
                continue  # a call without all its results: the group goes
            calls = wanted
        kept.append(turn)
    return kept


def context(
    turns: Sequence[Turn],
    question: str | Sequence[Turn],
    *,
    system: str | None = None,
    window: int | None = DEFAULT_WINDOW,
    include_incomplete: bool = False,
) -> list[Message]:
    """The messages to send for ``question`` after ``turns``.

    ``question`` is the new input: a question's text, or turns (tool
    results, a question). The system message (if any), the last ``window``
    messages of ``turns`` (all of them for ``window=None``), then the input.
    Incomplete turns are left out unless ``include_incomplete``; so is any
    half of a tool-call group, and the window widens so as not to start
    inside one (see the module's documentation).
    """
    check_window(window)
    asked = [Turn.user(question)] if isinstance(question, str) else list(question)
    kept = _whole_groups([turn for turn in turns if include_incomplete or turn.complete], asked)
    line = [*kept, *asked]
    start = 0 if window is None else max(0, len(kept) - window)
    # Whole groups only: a window that would start on a tool result starts
    # at the assistant message that asked for it (the last non-tool before).
    while 0 < start < len(line) and line[start].role is Role.TOOL:
        start -= 1
    head = [Message.system(system)] if system else []
    return [*head, *(turn.to_message() for turn in line[start:])]


def last_input(turns: Sequence[Turn]) -> int:
    """The index of the first turn of the last input (a question or tool results), to retry it.

    That is the last user or tool turn, and the tool turns right before it
    that answer other calls (a retried tool result is a new input of its own).
    Raises ``ValidationError`` when there is no question yet.
    """
    for index in range(len(turns) - 1, -1, -1):
        if turns[index].role is not Role.ASSISTANT:
            answered = {turns[index].tool_call_id}
            while index > 0 and turns[index - 1].role is Role.TOOL:
                if turns[index - 1].tool_call_id in answered:
                    break
                index -= 1
                answered.add(turns[index].tool_call_id)
            return index
    raise ValidationError("nothing to retry: the conversation has no question yet")


def check_tool_results(turns: Sequence[Turn], results: Sequence[Turn]) -> None:
    """Raise ``ValidationError`` unless the tool turns in ``results`` answer the last answer.

    Each result must answer a call the last assistant turn of ``turns``
    asked for and no result yet answers, and together with the results
    already there they must answer all of its calls: a strict OpenAI server
    rejects a call without its results and a result without its call.
    ``results`` without tool turns pass.
    """
    given = [turn.tool_call_id for turn in results if turn.role is Role.TOOL]
    if not given:
        return
    answered: list[str | None] = []
    asked: tuple[ToolCall, ...] = ()
    for turn in reversed(turns):
        if not turn.complete:
            continue  # not sent again: a failed exchange's results and partial answer
        if turn.role is Role.TOOL:
            answered.append(turn.tool_call_id)
            continue
        if turn.role is Role.ASSISTANT:
            asked = turn.tool_calls
        break
    open_calls = [call.id for call in asked if call.id not in answered]
    if not open_calls:
        raise ValidationError(
            "a tool result answers a tool call, and the last answer asked for none "
            "that is not answered yet; send a question instead"
        )
    unknown = [id for id in given if id not in open_calls]
    if unknown or len(set(given)) != len(given):
        raise ValidationError(
            f"tool result(s) for {', '.join(map(repr, unknown or given))} answer no open call "
            f"(the last answer asked for {', '.join(map(repr, open_calls))}, each answered once)"
        )
    missing = [id for id in open_calls if id not in given]
    if missing:
        raise ValidationError(
            f"the last answer asked for tool calls {', '.join(map(repr, missing))} too; "
            "send a Message.tool(...) for each of them in the same call"
        )


def supersede(turns: Iterable[Turn]) -> list[Turn]:
    """``turns`` with each complete one marked as replaced by a retry.

    Turns already incomplete keep their own ``error``.
    """
    return [turn.incomplete(SUPERSEDED) if turn.complete else turn for turn in turns]


def derive_title(turns: Iterable[Turn], *, length: int = TITLE_LENGTH) -> str | None:
    """The first line of the first question, cut to about ``length`` characters.

    Blank lines before the text are skipped and runs of spaces collapse;
    a cut title ends with an ellipsis. ``None`` before the first question.
    """
    for turn in turns:
        if turn.role is Role.USER:
            lines = [line for line in turn.content.splitlines() if line.strip()]
            line = " ".join(lines[0].split()) if lines else ""
            if len(line) <= length:
                return line
            return line[: length - 1].rstrip() + "…"
    return None
