"""``Conversation`` and ``AsyncConversation``: a history that drives a client.

Each question goes out with the system message and the last ``window``
complete messages (:func:`ails.domain.history.context`); each answer joins
the history when its stream ends, complete or not, and is saved to the store
if there is one. A question may be text or a message, and the results of
the tool calls an answer asked for go back the same way
(``conv.stream(Message.tool(call.id, result))``). Everything but the client
and the stream they hand out is shared, in
:class:`~ails.conversations.history.History` (the turns, the rules, the
store, the answers handed out) and :class:`_Base` (the public API). A
stream dropped before it ended is recorded at the conversation's next call
(see :mod:`ails.conversations.pending`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ails.conversations.history import History, Input
from ails.conversations.saved import HistoryStore, SavedConversation
from ails.conversations.stream import AsyncConversationStream, ConversationStream
from ails.conversations.writer import StoreWriter, Write, shared_writer, write_logged
from ails.domain.completion import Completion
from ails.domain.history import (
    DEFAULT_WINDOW,
    SUPERSEDED,
    Turn,
    check_window,
    derive_title,
    last_input,
)
from ails.domain.messages import Message, Role

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
        return derive_title(self._history.turns)

    @property
    def model(self) -> str | None:
        """The model of the last answer: the one the server named, else the one asked."""
        return self._history.model

    @property
    def messages(self) -> tuple[Turn, ...]:
        """The whole history as recorded, complete or not, whatever the window.

        A stream dropped before it ended is in it from the conversation's
        next call (``stream()``, ``retry()``, ``close()``) on: reading this
        changes nothing.
        """
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

    def context(self, question: Input) -> list[Message]:
        """The messages that :meth:`stream` would send for ``question`` now."""
        history = self._history
        return history.prepare(history.inputs(question))

    def stream(self, question: Input, **options: Any) -> StreamT:
        """Ask ``question``; the answer streams token by token.

        ``question`` is the question's text or a ``Message``, or the results
        of the tool calls the last answer asked for: ``Message.tool(call.id,
        result)``, a list of them for several calls (each call needs its
        result; a question may follow them in the list). ``options`` go to
        the client's ``stream`` (``model=``, ``temperature=``, ``tools=``...).
        The exchange joins the history when the stream ends or is closed; a
        stream dropped before that joins it at the conversation's next call.
        """
        history = self._history.settle()
        inputs = history.inputs(question)
        return self._send(history.prepare(inputs), inputs, options, None)

    def retry(self, **options: Any) -> StreamT:
        """Ask the last input (a question, or tool results) again, in the context it had.

        When the new answer completes, the exchange it replaces stays in the
        history marked ``complete=False, error="superseded"`` and is no
        longer sent as context. Raises ``ValidationError`` when there is no
        question yet.
        """
        history = self._history.settle()
        turns = history.turns
        start = end = last_input(turns)
        while end < len(turns) and turns[end].role is not Role.ASSISTANT:
            end += 1
        now = history.wall_clock()
        inputs = [Turn.of(turn.to_message(), created=now) for turn in turns[start:end]]
        return self._send(history.prepare(inputs, start), inputs, options, start)

    def _send(
        self,
        messages: list[Message],
        inputs: list[Turn],
        options: dict[str, Any],
        retried: int | None,
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


def _completion(stream: ConversationStream | AsyncConversationStream) -> Completion:
    done = stream.completion
    assert done is not None, "a stream read to its end has recorded its answer"
    return done


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

    An answer's tool calls are kept with it; give their results back with
    ``stream(Message.tool(call.id, result))`` (a list for several calls),
    and the call and its results go together as context from then on. The
    conversation keeps every stream it hands out until its answer is
    recorded: a stream dropped unread or half-read is recorded at the next
    call, or by ``close()`` (also the end of a ``with`` block), which closes
    the streams still open too.
"""


class Conversation(_Base["Client", ConversationStream]):
    """A multi-turn chat over a :class:`~ails.Client`."""

    __doc__ = (__doc__ or "") + _DOC

    def complete(self, question: Input, **options: Any) -> str:
        """Ask ``question`` and return the whole answer's text."""
        return self.create(question, **options).text

    def create(self, question: Input, **options: Any) -> Completion:
        """Ask ``question`` and return the answer as a :class:`~ails.Completion`.

        Its ``tool_calls`` are the calls the model asked for: answer them
        with ``conv.create(Message.tool(call.id, result))``.
        """
        with self.stream(question, **options) as tokens:
            for _ in tokens:
                pass
        return _completion(tokens)

    def close(self) -> None:
        """Record every answer handed out: close the streams still open, save the dropped ones.

        The conversation may be used again afterwards; its client and store
        stay open (they are the caller's).
        """
        for stream in self._history.still_open():
            stream.close()
        self._history.settle()

    def __enter__(self) -> Conversation:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _send(
        self,
        messages: list[Message],
        inputs: list[Turn],
        options: dict[str, Any],
        retried: int | None,
    ) -> ConversationStream:
        inner = self._client.stream(messages, **options)
        return ConversationStream(inner, self._history.hand_out(inner, inputs, options, retried))


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

    async def complete(self, question: Input, **options: Any) -> str:
        """Ask ``question`` and return the whole answer's text."""
        return (await self.create(question, **options)).text

    async def create(self, question: Input, **options: Any) -> Completion:
        """Ask ``question`` and return the answer as a :class:`~ails.Completion`.

        Its ``tool_calls`` are the calls the model asked for: answer them
        with ``await conv.create(Message.tool(call.id, result))``.
        """
        async with self.stream(question, **options) as tokens:
            async for _ in tokens:
                pass
        return _completion(tokens)

    async def aclose(self) -> None:
        """Record every answer handed out: close the streams still open, save the dropped ones.

        Returns once their writes are done. The conversation may be used
        again afterwards; its client and store stay open (they are the caller's).
        """
        history = self._history
        for stream in history.still_open():
            await stream.aclose()
        writer = _writer(history.store)
        for write in history.take_dropped():
            await writer.run(functools.partial(write_logged, write))

    async def __aenter__(self) -> AsyncConversation:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _send(
        self,
        messages: list[Message],
        inputs: list[Turn],
        options: dict[str, Any],
        retried: int | None,
    ) -> AsyncConversationStream:
        inner = self._client.stream(messages, **options)
        history = self._history
        pending = history.hand_out(inner, inputs, options, retried)
        return AsyncConversationStream(inner, pending, _writer(history.store))
