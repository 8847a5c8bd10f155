"""``History``: what both conversations share: the turns, the rules and the store.

The pure rules (what is sent, what a retry supersedes) are
:mod:`ails.domain.history`'s; this class applies them to one conversation's
turns, and prepares the store write of each exchange as it ends.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

from ails.conversations.leftovers import Leftovers
from ails.conversations.records import ConversationInfo, HistoryStore, SavedConversation, public_url
from ails.conversations.stream import Exchange, Outcome
from ails.conversations.writer import Write
from ails.domain.history import Turn, check_window, context, derive_title, supersede
from ails.domain.messages import DEFAULT_MODEL, Message, Role

__all__ = ["History"]


def _profile_name(client: object) -> str | None:
    # Any client-shaped object will do (tests pass fakes): read it if it is there.
    name = getattr(getattr(client, "profile", None), "name", None)
    return name if isinstance(name, str) else None


class History:
    """One conversation's turns, rules and store; ``run_later`` runs a write no call awaits."""

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
        self.leftovers = Leftovers(run_later, store)

    def settled(self) -> History:
        """The history once the endings of streams dropped meanwhile are recorded."""
        self.leftovers.record()
        return self

    def prepare(self, question: str, before: int | None = None) -> tuple[list[Message], Turn]:
        """The messages to send for ``question`` and the turn that records it."""
        earlier = self.turns if before is None else self.turns[:before]
        messages = context(
            earlier,
            question,
            system=self.system,
            window=self.window,
            include_incomplete=self.include_incomplete,
        )
        return messages, Turn.user(question, created=self.wall_clock())

    def exchange(
        self, inner: object, question: Turn, options: dict[str, Any], retried: int | None
    ) -> Exchange:
        """The recorder for one answer to ``question`` (a retry of turn ``retried``)."""
        asked = options.get("model")

        def on_end(outcome: Outcome) -> Write | None:
            # The model the server says answered; else the one asked for.
            model = outcome.model or (asked if isinstance(asked, str) else None) or DEFAULT_MODEL
            return self.record(question, outcome, model, retried)

        return Exchange(inner, on_end, self.clock, self.leftovers)

    def record(
        self, question: Turn, outcome: Outcome, model: str, retried: int | None = None
    ) -> Write | None:
        """Add the question and its answer to the history; returns the store write."""
        now = self.wall_clock()
        reply = Turn(
            Role.ASSISTANT,
            outcome.text,
            created=now,
            tokens=outcome.tokens,
            time_to_first_token=outcome.time_to_first_token,
            duration=outcome.duration,
        )
        replaced: list[Turn] = []
        if outcome.complete:
            turns = [question, reply]
            if retried is not None:
                # The retried exchange (and anything after it) gives way to
                # this one. The store is told which turns, not how many: it
                # may lack some (a write that failed) and must mark no other.
                replaced = [turn for turn in self.turns[retried:] if turn.complete]
                self.turns[retried:] = supersede(self.turns[retried:])
        else:
            # Both are kept, marked, and left out of the context from now on;
            # an answer of which nothing arrived is not kept at all.
            turns = [question.incomplete(outcome.error)]
            if outcome.text:
                turns.append(reply.incomplete(outcome.error))
        self.turns.extend(turns)
        self.model = model
        store = self.store
        if store is None:
            return None
        info = self.info(now)
        if replaced:
            return lambda: store.append(info, turns, supersede=replaced)
        return lambda: store.append(info, turns)

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
