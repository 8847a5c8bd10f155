"""``History``: what both conversations share: the turns, the rules and the store.

The pure rules (what is sent, what a retry supersedes, which tool results
may follow) are :mod:`ails.domain.history`'s; this class applies them to one
conversation's turns, keeps the answers it handed out until they are
recorded (:class:`~ails.conversations.pending.PendingAnswer`), and prepares
the store write of each exchange as it ends.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ails.conversations.pending import PendingAnswer, completion_source
from ails.conversations.saved import ConversationInfo, HistoryStore, SavedConversation, public_url
from ails.conversations.writer import Write, write_logged
from ails.domain.completion import Completion
from ails.domain.errors import ValidationError
from ails.domain.history import (
    Turn,
    check_tool_results,
    check_window,
    context,
    derive_title,
    supersede,
)
from ails.domain.messages import DEFAULT_MODEL, Message, Role

__all__ = ["History", "Input", "to_inputs"]

#: What a conversation is asked: a question's text, a message (a question or a
#: tool result), or a list of them (the results of every call the last answer asked for).
Input = str | Message | Mapping[str, Any] | Iterable[Message | Mapping[str, Any]]


def _profile_name(client: object) -> str | None:
    # Any client-shaped object will do (tests pass fakes): read it if it is there.
    name = getattr(getattr(client, "profile", None), "name", None)
    return name if isinstance(name, str) else None


def to_inputs(value: Input, created: float) -> list[Turn]:
    """``value`` as the turns of one input; raises ``ValidationError`` for anything else.

    An input is questions (``user`` messages) and tool results (``tool``
    messages); the answer and the system message are the conversation's.
    """
    if isinstance(value, str):
        return [Turn.user(value, created=created)]
    items = [value] if isinstance(value, (Message, Mapping)) else list(value)
    if not items:
        raise ValidationError("nothing to send: give a question or the tool results")
    turns = []
    for index, item in enumerate(items):
        where = "input" if len(items) == 1 else f"input[{index}]"
        message = item if isinstance(item, Message) else Message.from_dict(item, where=where)
        if message.role not in (Role.USER, Role.TOOL):
            raise ValidationError(
                f"{where} is a {message.role.value!r} message; a conversation is asked "
                "questions and tool results (Message.tool(...)); set system= for the "
                "system message, and the answers are its own"
            )
        turns.append(Turn.of(message, created=created))
    return turns


class History:
    """One conversation's turns, rules and store, and the answers it handed out.

    ``run_later`` runs a store write no call awaits (a dropped stream's).
    """

    def __init__(
        self,
        client: object,
        *,
        system: str | None,
        window: int | None,
        store: HistoryStore | None,
        id: str | None,
        include_incomplete: bool,
        turns: Iterable[Turn],
        created: float | None,
        model: str | None,
        clock: Callable[[], float],
        wall_clock: Callable[[], float],
        run_later: Callable[[Write], None],
    ) -> None:
        check_window(window)
        self.client = client
        self.system = system
        self.window = window
        self.store = store
        self.id = id if id is not None else uuid.uuid4().hex
        self.include_incomplete = include_incomplete
        self.turns: list[Turn] = list(turns)
        self.clock = clock
        self.wall_clock = wall_clock
        self.created = created if created is not None else wall_clock()
        self.model = model
        self.run_later = run_later
        #: The answers handed out and not yet recorded, in the order they were asked.
        self.open: list[PendingAnswer] = []

    # -- the answers handed out -----------------------------------------------------------

    def take_dropped(self) -> list[Write]:
        """Record the answers whose streams were dropped; returns their store writes, in order."""
        writes = []
        for pending in [p for p in self.open if p.dropped]:
            write = pending.end("closed")
            if write is not None:
                writes.append(write)
        return writes

    def settle(self) -> History:
        """Record the answers whose streams were dropped, and run (or queue) their writes."""
        for write in self.take_dropped():
            self.run_later(write)
        return self

    def still_open(self) -> list[Any]:
        """The streams handed out, still alive and not recorded (for ``close()``)."""
        return [stream for stream in (p.stream for p in self.open) if stream is not None]

    # -- asking ---------------------------------------------------------------------------

    def inputs(self, value: Input) -> list[Turn]:
        """The turns of a new input, checked against the history (tool results answer calls)."""
        turns = to_inputs(value, self.wall_clock())
        check_tool_results(self.turns, turns)
        return turns

    def prepare(self, inputs: list[Turn], before: int | None = None) -> list[Message]:
        """The messages to send for ``inputs`` (after the turns before index ``before``)."""
        earlier = self.turns if before is None else self.turns[:before]
        return context(
            earlier,
            inputs,
            system=self.system,
            window=self.window,
            include_incomplete=self.include_incomplete,
        )

    def hand_out(
        self, stream: object, inputs: list[Turn], options: Mapping[str, Any], retried: int | None
    ) -> PendingAnswer:
        """Keep the answer ``stream`` brings to ``inputs`` until it is recorded."""
        asked = options.get("model")
        pending = PendingAnswer(
            inputs,
            retried,
            asked if isinstance(asked, str) else None,
            source=completion_source(stream),
            record=self._record,
            clock=self.clock,
        )
        self.open.append(pending)
        return pending

    # -- recording ------------------------------------------------------------------------

    def _record(self, pending: PendingAnswer, done: Completion, error: str | None) -> Write | None:
        # Answers asked before it and dropped meanwhile go first (their
        # writes logged: not this call's business), in the order they were asked.
        index = self.open.index(pending)
        dropped = [p for p in self.open[:index] if p.dropped]
        del self.open[index]
        earlier = [w for w in (p.end("closed") for p in dropped) if w is not None]
        write = self.record(pending, done, error)
        if not earlier:
            return write

        def both() -> None:
            for each in earlier:
                write_logged(each)
            if write is not None:
                write()

        return both

    def record(self, pending: PendingAnswer, done: Completion, error: str | None) -> Write | None:
        """Add the input and its answer to the history; returns the store write."""
        now = self.wall_clock()
        reply = Turn(
            Role.ASSISTANT,
            done.text,
            created=now,
            tokens=pending.tokens,
            time_to_first_token=done.time_to_first_token,
            duration=done.duration,
            tool_calls=done.tool_calls,
        )
        replaced: list[Turn] = []
        retried = pending.retried
        if done.outcome == "complete":
            turns = [*pending.inputs, reply]
            if retried is not None:
                # The retried exchange (and anything after it) gives way to
                # this one. The store is told which turns, not how many: it
                # may lack some (a write that failed) and must mark no other.
                replaced = [turn for turn in self.turns[retried:] if turn.complete]
                self.turns[retried:] = supersede(self.turns[retried:])
        else:
            # Both are kept, marked, and left out of the context from now on;
            # an answer of which nothing arrived is not kept at all.
            turns = [turn.incomplete(error) for turn in pending.inputs]
            if done.text or done.tool_calls:
                turns.append(reply.incomplete(error))
        self.turns.extend(turns)
        # The model the server says answered; else the one asked for.
        self.model = done.model or pending.asked_model or DEFAULT_MODEL
        store = self.store
        if store is None:
            return None
        info = self.info(now)
        if replaced:
            return lambda: store.append(info, turns, supersede=replaced)
        return lambda: store.append(info, turns)

    # -- what the store keeps ---------------------------------------------------------------

    def info(self, updated: float | None = None) -> ConversationInfo:
        """The conversation's row as the store keeps it."""
        return ConversationInfo(
            id=self.id,
            created=self.created,
            updated=self.wall_clock() if updated is None else updated,
            title=derive_title(self.turns),
            model=self.model,
            profile=_profile_name(self.client),
            base_url=public_url(getattr(self.client, "base_url", None)),
            system=self.system,
            turns=len(self.turns),
        )

    def snapshot(self) -> SavedConversation:
        """The conversation as a store would return it."""
        return SavedConversation(self.info(), tuple(self.turns))
