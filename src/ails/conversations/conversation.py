"""``Conversation`` and ``AsyncConversation``: a history that drives a client.

Each question goes out with the system message and the last ``window``
complete messages (:func:`ails.domain.history.context`); each answer joins
the history when its stream ends, complete or not, and is saved to the store
if there is one. Everything but the client and the stream they hand out is
shared, in :class:`~ails.conversations.history.History` (the turns, the
rules, the store) and :class:`_Base` (the public API). A stream dropped
before it ended is recorded at the conversation's next call (see
:mod:`ails.conversations.leftovers`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ails.conversations.history import History
from ails.conversations.records import HistoryStore, SavedConversation
from ails.conversations.stream import AsyncConversationStream, ConversationStream
from ails.conversations.writer import StoreWriter, Write, shared_writer, write_logged
from ails.domain.history import (
    DEFAULT_WINDOW,
    SUPERSEDED,
    Turn,
    check_window,
    derive_title,
    last_question,
)
from ails.domain.messages import Message

if TYPE_CHECKING:
    # Named in the base classes below as strings: the clients load only when used.
    from ails.client import AsyncClient, Client  # noqa: F401

__all__ = ["AsyncConversation", "Conversation"]


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
        self._history = History(
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
            run_later=self._run_later(store),
        )

    @staticmethod
    def _run_later(store: HistoryStore | None) -> Callable[[Write], None]:
        """How a store write no call waits for is run (a dropped stream's)."""
        return write_logged  # inline, its failure logged

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
        return derive_title(self._history.settled().turns)

    @property
    def model(self) -> str | None:
        """The model of the last answer: the one the server named, else the one asked."""
        return self._history.settled().model

    @property
    def messages(self) -> tuple[Turn, ...]:
        """The whole history, complete or not, whatever the window."""
        return tuple(self._history.settled().turns)

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
        return self._history.settled().prepare(question)[0]

    def stream(self, text: str, **options: Any) -> StreamT:
        """Ask ``text``; the answer streams token by token.

        ``options`` go to the client's ``stream`` (``model=``,
        ``temperature=``...). The exchange joins the history when the stream
        ends or is closed; a stream dropped before that (garbage-collected)
        joins it at the conversation's next call.
        """
        messages, question = self._history.settled().prepare(text)
        return self._send(messages, question, options, None)

    def retry(self, **options: Any) -> StreamT:
        """Ask the last question again, with the context it was first asked in.

        When the new answer completes, the exchange it replaces stays in the
        history marked ``complete=False, error="superseded"`` and is no
        longer sent as context. Raises ``ValidationError`` when there is no
        question yet.
        """
        history = self._history.settled()
        index = last_question(history.turns)
        messages, question = history.prepare(history.turns[index].content, index)
        return self._send(messages, question, options, index)

    def _send(
        self, messages: list[Message], question: Turn, options: dict[str, Any], retried: int | None
    ) -> StreamT:
        raise NotImplementedError

    def snapshot(self) -> SavedConversation:
        """The conversation as a store would return it, for export or comparison."""
        return self._history.settled().snapshot()

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


def _writer(store: HistoryStore | None) -> StoreWriter:
    # A ConversationStore brings its own (one thread per store); any other
    # store is written by the one writer the process shares.
    writer = getattr(store, "writer", None)
    return writer if isinstance(writer, StoreWriter) else shared_writer()


def _queue_on_writer(store: HistoryStore | None, write: Write) -> None:
    _writer(store).detached(write)


class AsyncConversation(_Base["AsyncClient", AsyncConversationStream]):
    """A multi-turn chat over an :class:`~ails.AsyncClient` (``async for``).

    The store, if any, is written on a worker thread, one exchange after the
    other: a writer waiting for another process never stalls the event loop.
    A :class:`~ails.ConversationStore` has one such thread for all its
    conversations, stopped by its ``close()``.
    """

    __doc__ = (__doc__ or "") + _DOC

    @staticmethod
    def _run_later(store: HistoryStore | None) -> Callable[[Write], None]:
        return functools.partial(_queue_on_writer, store)

    async def complete(self, text: str, **options: Any) -> str:
        """Ask ``text`` and return the whole answer."""
        async with self.stream(text, **options) as tokens:
            return "".join([token async for token in tokens])

    def _send(
        self, messages: list[Message], question: Turn, options: dict[str, Any], retried: int | None
    ) -> AsyncConversationStream:
        inner = self._client.stream(messages, **options)
        history = self._history
        exchange = history.exchange(inner, question, options, retried)
        return AsyncConversationStream(inner, exchange, _writer(history.store))
