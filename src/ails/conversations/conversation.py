"""``Conversation`` and ``AsyncConversation``: a history that drives a client.

Each question goes out with the system message and the last ``window``
complete messages (:func:`ails.domain.history.context`); each answer joins
the history when its stream ends, complete or not, and is saved to the store
if there is one. Everything but the client and the stream they hand out is
shared, in :class:`_History` (the turns, the rules, the store) and
:class:`_Base` (the public API).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

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
    StoreWriter,
    Write,
)
from ails.domain.history import (
    DEFAULT_WINDOW,
    SUPERSEDED,
    Turn,
    check_window,
    context,
    derive_title,
    last_question,
    supersede,
)
from ails.domain.messages import DEFAULT_MODEL, Message, Role

if TYPE_CHECKING:
    # Named in the base classes below as strings: the clients load only when used.
    from ails.client import AsyncClient, Client  # noqa: F401

__all__ = ["AsyncConversation", "Conversation"]


def _profile_name(client: object) -> str | None:
    # Any client-shaped object will do (tests pass fakes): read it if it is there.
    name = getattr(getattr(client, "profile", None), "name", None)
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
        model: str | None,
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
        self.model = model

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

        def on_end(answer: Answer) -> Write | None:
            # The model the server says answered; else the one asked for.
            model = answer.model or (asked if isinstance(asked, str) else None) or DEFAULT_MODEL
            return self.record(question, answer, model, retried)

        return Exchange(inner, on_end, self.clock)

    def record(
        self, question: Turn, answer: Answer, model: str, retried: int | None = None
    ) -> Write | None:
        """Add the question and its answer to the history; returns the store write."""
        now = self.wall_clock()
        reply = Turn(
            Role.ASSISTANT,
            answer.text,
            created=now,
            tokens=answer.tokens,
            time_to_first_token=answer.time_to_first_token,
            duration=answer.duration,
        )
        replaced = 0
        if answer.complete:
            turns = [question, reply]
            if retried is not None and any(t.complete for t in self.turns[retried:]):
                # The retried exchange (and anything after it) gives way to this one.
                replaced = len(self.turns) - retried
                self.turns[retried:] = supersede(self.turns[retried:])
        else:
            # Both are kept, marked, and left out of the context from now on;
            # an answer of which nothing arrived is not kept at all.
            turns = [question.incomplete(answer.error)]
            if answer.text:
                turns.append(reply.incomplete(answer.error))
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
        return SavedConversation(self.info(), tuple(self.turns))


ClientT = TypeVar("ClientT")
StreamT = TypeVar("StreamT")
ConversationT = TypeVar("ConversationT", bound="_Base[Any, Any]")


class _Base(Generic[ClientT, StreamT]):
    """The API both conversations share; they differ in the client and the stream."""

    def __init__(
        self,
        client: ClientT,
        *,
        system: str | None = None,
        window: int | None = DEFAULT_WINDOW,
        store: HistoryStore | None = None,
        id: str | None = None,
        include_incomplete: bool = False,
        turns: Iterable[Turn] = (),
        created: float | None = None,
        model: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        """See the class's documentation; ``model`` is the one last answered, if known."""
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
            model=model,
            clock=clock,
            wall_clock=wall_clock,
        )

    @classmethod
    def resume(
        cls: type[ConversationT],
        client: Any,
        saved: SavedConversation,
        *,
        store: HistoryStore | None = None,
        window: int | None = DEFAULT_WINDOW,
        include_incomplete: bool = False,
    ) -> ConversationT:
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
            model=saved.info.model,
        )

    @property
    def id(self) -> str:
        """The conversation id (a uuid4 hex unless given)."""
        return self._history.id

    @property
    def title(self) -> str | None:
        """The first line of the first question, cut to about 60 characters."""
        return derive_title(self._history.turns)

    @property
    def model(self) -> str | None:
        """The model of the last answer: the one the server named, else the one asked."""
        return self._history.model

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

    def stream(self, text: str, **options: Any) -> StreamT:
        """Ask ``text``; the answer streams token by token.

        ``options`` go to the client's ``stream`` (``model=``,
        ``temperature=``...). The exchange joins the history when the stream
        ends, is closed, or is garbage-collected.
        """
        messages, question = self._history.prepare(text)
        return self._send(messages, question, options, None)

    def retry(self, **options: Any) -> StreamT:
        """Ask the last question again, with the context it was first asked in.

        When the new answer completes, the exchange it replaces stays in the
        history marked ``complete=False, error="superseded"`` and is no
        longer sent as context. Raises ``ValidationError`` when there is no
        question yet.
        """
        index = last_question(self._history.turns)
        messages, question = self._history.prepare(self._history.turns[index].content, index)
        return self._send(messages, question, options, index)

    def _send(
        self, messages: list[Message], question: Turn, options: dict[str, Any], retried: int | None
    ) -> StreamT:
        raise NotImplementedError

    def snapshot(self) -> SavedConversation:
        """The conversation as a store would return it, for export or comparison."""
        return self._history.snapshot()

    def export(self, format: str = "markdown") -> str:
        """The conversation as Markdown or JSON (see :mod:`ails.conversations.export`)."""
        from ails.conversations.export import export

        return export(self.snapshot(), format)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r}, turns={len(self._history.turns)})"


_DOC = f"""
    ``system`` goes first with every question. ``window`` is how many of the
    latest complete user/assistant messages go with each question (6, as the
    ai.ls web client; ``None`` for all). An answer that failed or was left
    early is kept with its question, both marked ``complete=False``, and is
    not sent as context unless ``include_incomplete=True``; nor is an
    exchange a :meth:`retry` replaced (``error={SUPERSEDED!r}``). ``store``
    (a :class:`~ails.ConversationStore` or any :class:`HistoryStore`) saves
    each exchange as it ends; ``id`` defaults to a new uuid4 hex. ``turns``
    starts from an earlier history (see :meth:`resume`).
"""


class Conversation(_Base["Client", ConversationStream]):
    """A multi-turn chat over a :class:`~ails.Client`."""

    __doc__ = (__doc__ or "") + _DOC

    def complete(self, text: str, **options: Any) -> str:
        """Ask ``text`` and return the whole answer."""
        with self.stream(text, **options) as tokens:
            return "".join(tokens)

    def _send(
        self, messages: list[Message], question: Turn, options: dict[str, Any], retried: int | None
    ) -> ConversationStream:
        inner = self._client.stream(messages, **options)
        return ConversationStream(inner, self._history.exchange(inner, question, options, retried))


class AsyncConversation(_Base["AsyncClient", AsyncConversationStream]):
    """A multi-turn chat over an :class:`~ails.AsyncClient` (``async for``).

    The store, if any, is written on a worker thread, one exchange after the
    other: a writer waiting for another process never stalls the event loop.
    """

    __doc__ = (__doc__ or "") + _DOC

    _writer: StoreWriter | None = None

    async def complete(self, text: str, **options: Any) -> str:
        """Ask ``text`` and return the whole answer."""
        async with self.stream(text, **options) as tokens:
            return "".join([token async for token in tokens])

    def _send(
        self, messages: list[Message], question: Turn, options: dict[str, Any], retried: int | None
    ) -> AsyncConversationStream:
        inner = self._client.stream(messages, **options)
        if self._writer is None:
            self._writer = StoreWriter()
        exchange = self._history.exchange(inner, question, options, retried)
        return AsyncConversationStream(inner, exchange, self._writer)
