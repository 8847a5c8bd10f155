"""``Conversation`` and ``AsyncConversation``: a history that drives a client.

Each question goes out with the system message and the last ``window``
complete messages (:func:`ails.domain.history.context`); each answer joins
the history when its stream ends, complete or not, and is saved to the store
if there is one. Both classes share :class:`_History`; they differ only in
the client and the stream they hand out.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ails.conversations.records import (
    ConversationInfo,
    HistoryStore,
    SavedConversation,
    public_url,
)
from ails.conversations.stream import (
    Answer,
    AsyncConversationStream,
    ConversationStream,
    Exchange,
)
from ails.domain.history import (
    DEFAULT_WINDOW,
    Turn,
    check_window,
    context,
    derive_title,
    last_question,
)
from ails.domain.messages import DEFAULT_MODEL, Message, Role

if TYPE_CHECKING:
    from ails.client import AsyncClient, Client

__all__ = ["AsyncConversation", "Conversation"]


def _profile_name(client: object) -> str | None:
    profile = getattr(client, "profile", None)
    if profile is None:  # the clients keep it in their settings
        profile = getattr(getattr(client, "_settings", None), "profile", None)
    name = getattr(profile, "name", profile)
    return name if isinstance(name, str) else None


class _History:
    """What both conversations share: the turns, the rules and the store."""

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
        clock: Callable[[], float],
        wall_clock: Callable[[], float],
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
        self.model: str | None = None

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

    def exchange(self, question: Turn, options: dict[str, Any]) -> Exchange:
        """The recorder for one answer to ``question``."""
        model = options.get("model")

        def on_end(answer: Answer) -> None:
            self.record(question, answer, model if isinstance(model, str) else DEFAULT_MODEL)

        return Exchange(on_end, self.clock)

    def record(self, question: Turn, answer: Answer, model: str) -> None:
        """Add the question and its answer to the history (and the store)."""
        now = self.wall_clock()
        reply = Turn(
            Role.ASSISTANT,
            answer.text,
            created=now,
            tokens=answer.tokens,
            time_to_first_token=answer.time_to_first_token,
            duration=answer.duration,
        )
        if answer.complete:
            turns = [question, reply]
        else:
            # Both are kept, marked, and left out of the context from now on;
            # an answer of which nothing arrived is not kept at all.
            turns = [question.incomplete(answer.error)]
            if answer.text:
                turns.append(reply.incomplete(answer.error))
        self.turns.extend(turns)
        self.model = model
        if self.store is not None:
            self.store.append(self.info(now), turns)

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
        return SavedConversation(self.info(), tuple(self.turns))


_DOC = """
    ``system`` goes first with every question. ``window`` is how many of the
    latest complete user/assistant messages go with each question (6, as the
    ai.ls web client; ``None`` for all). An answer that failed or was left
    early is kept with its question, both marked ``complete=False``, and is
    not sent as context unless ``include_incomplete=True``. ``store`` (a
    :class:`~ails.ConversationStore` or any :class:`HistoryStore`) saves each
    exchange as it ends; ``id`` defaults to a new uuid4 hex. ``turns`` starts
    from an earlier history (see :meth:`resume`).
"""


class _Base:
    _history: _History

    @property
    def id(self) -> str:
        """The conversation id (a uuid4 hex unless given)."""
        return self._history.id

    @property
    def title(self) -> str | None:
        """The first line of the first question, cut to about 60 characters."""
        return derive_title(self._history.turns)

    @property
    def messages(self) -> tuple[Turn, ...]:
        """The whole history, complete or not, whatever the window."""
        return tuple(self._history.turns)

    @property
    def system(self) -> str | None:
        """The system message sent first with every question (settable)."""
        return self._history.system

    @system.setter
    def system(self, value: str | None) -> None:
        self._history.system = value

    @property
    def window(self) -> int | None:
        """How many complete messages go with each question (settable)."""
        return self._history.window

    @window.setter
    def window(self, value: int | None) -> None:
        check_window(value)
        self._history.window = value

    @property
    def store(self) -> HistoryStore | None:
        """Where each exchange is saved, if anywhere."""
        return self._history.store

    def context(self, question: str) -> list[Message]:
        """The messages that :meth:`stream` would send for ``question`` now."""
        return self._history.prepare(question)[0]

    def snapshot(self) -> SavedConversation:
        """The conversation as a store would return it, for export or comparison."""
        return self._history.snapshot()

    def export(self, format: str = "markdown") -> str:
        """The conversation as Markdown or JSON (see :mod:`ails.conversations.export`)."""
        from ails.conversations.export import export

        return export(self.snapshot(), format)


class Conversation(_Base):
    """A multi-turn chat over a :class:`~ails.Client`."""

    __doc__ = (__doc__ or "") + _DOC

    def __init__(
        self,
        client: Client,
        *,
        system: str | None = None,
        window: int | None = DEFAULT_WINDOW,
        store: HistoryStore | None = None,
        id: str | None = None,
        include_incomplete: bool = False,
        turns: Iterable[Turn] = (),
        created: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._history = _History(
            client,
            system=system,
            window=window,
            store=store,
            id=id,
            include_incomplete=include_incomplete,
            turns=turns,
            created=created,
            clock=clock,
            wall_clock=wall_clock,
        )

    @classmethod
    def resume(
        cls,
        client: Client,
        saved: SavedConversation,
        *,
        store: HistoryStore | None = None,
        window: int | None = DEFAULT_WINDOW,
        include_incomplete: bool = False,
    ) -> Conversation:
        """Go on with a saved conversation (``store.load(id)``, ``store.latest()``)."""
        return cls(
            client,
            system=saved.info.system,
            window=window,
            store=store,
            id=saved.info.id,
            include_incomplete=include_incomplete,
            turns=saved.turns,
            created=saved.info.created,
        )

    def stream(self, text: str, **options: Any) -> ConversationStream:
        """Ask ``text``; the answer streams token by token.

        ``options`` go to ``Client.stream`` (``model=``, ``temperature=``...).
        The exchange joins the history when the stream ends or is closed.
        """
        messages, question = self._history.prepare(text)
        return self._send(messages, question, options)

    def complete(self, text: str, **options: Any) -> str:
        """Ask ``text`` and return the whole answer."""
        with self.stream(text, **options) as tokens:
            return "".join(tokens)

    def retry(self, **options: Any) -> ConversationStream:
        """Ask the last question again, with the context it was first asked in.

        The earlier attempt stays in the history; raises ``ValidationError``
        when there is no question yet.
        """
        index = last_question(self._history.turns)
        messages, question = self._history.prepare(self._history.turns[index].content, index)
        return self._send(messages, question, options)

    def _send(
        self, messages: list[Message], question: Turn, options: dict[str, Any]
    ) -> ConversationStream:
        inner = self._client.stream(messages, **options)
        return ConversationStream(inner, self._history.exchange(question, options))

    def __repr__(self) -> str:
        return f"Conversation(id={self.id!r}, turns={len(self._history.turns)})"


class AsyncConversation(_Base):
    """A multi-turn chat over an :class:`~ails.AsyncClient` (``async for``)."""

    __doc__ = (__doc__ or "") + _DOC

    def __init__(
        self,
        client: AsyncClient,
        *,
        system: str | None = None,
        window: int | None = DEFAULT_WINDOW,
        store: HistoryStore | None = None,
        id: str | None = None,
        include_incomplete: bool = False,
        turns: Iterable[Turn] = (),
        created: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._history = _History(
            client,
            system=system,
            window=window,
            store=store,
            id=id,
            include_incomplete=include_incomplete,
            turns=turns,
            created=created,
            clock=clock,
            wall_clock=wall_clock,
        )

    @classmethod
    def resume(
        cls,
        client: AsyncClient,
        saved: SavedConversation,
        *,
        store: HistoryStore | None = None,
        window: int | None = DEFAULT_WINDOW,
        include_incomplete: bool = False,
    ) -> AsyncConversation:
        """Go on with a saved conversation (``store.load(id)``, ``store.latest()``)."""
        return cls(
            client,
            system=saved.info.system,
            window=window,
            store=store,
            id=saved.info.id,
            include_incomplete=include_incomplete,
            turns=saved.turns,
            created=saved.info.created,
        )

    def stream(self, text: str, **options: Any) -> AsyncConversationStream:
        """Ask ``text``; the answer streams token by token (``async for``).

        ``options`` go to ``AsyncClient.stream``. The exchange joins the
        history when the stream ends or is closed. The store, if any, is
        written synchronously: one short SQLite transaction per exchange.
        """
        messages, question = self._history.prepare(text)
        return self._send(messages, question, options)

    async def complete(self, text: str, **options: Any) -> str:
        """Ask ``text`` and return the whole answer."""
        async with self.stream(text, **options) as tokens:
            return "".join([token async for token in tokens])

    def retry(self, **options: Any) -> AsyncConversationStream:
        """Ask the last question again, with the context it was first asked in.

        The earlier attempt stays in the history; raises ``ValidationError``
        when there is no question yet.
        """
        index = last_question(self._history.turns)
        messages, question = self._history.prepare(self._history.turns[index].content, index)
        return self._send(messages, question, options)

    def _send(
        self, messages: list[Message], question: Turn, options: dict[str, Any]
    ) -> AsyncConversationStream:
        inner = self._client.stream(messages, **options)
        return AsyncConversationStream(inner, self._history.exchange(question, options))

    def __repr__(self) -> str:
        return f"AsyncConversation(id={self.id!r}, turns={len(self._history.turns)})"
