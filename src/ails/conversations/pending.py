"""``PendingAnswer``: an answer a conversation handed out and has not recorded yet.

A conversation keeps one for each stream it hands out, until the answer is
in its history. The stream records it when it sees its own end (the last
token, an error, ``close()``, the end of a ``with`` block). A stream dropped
before that (a ``break`` out of a ``for`` loop, one never read) ends its
client run in the client stream's own ``finally`` as it is collected, and
the conversation records it at its next call (``stream()``, ``retry()``,
``close()``): no finalizer, no registry, no work in the garbage collector.
The pending answer holds the stream only weakly (so dropping it still
releases the connection at once), and what the client run tells about the
answer strongly: the tokens are the run's, never copied here.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import attrs

from ails.conversations.writer import Write
from ails.domain.completion import Completion, Outcome, Usage
from ails.domain.errors import AilsError
from ails.domain.history import Turn

__all__ = ["PendingAnswer", "completion_source"]

#: Records an answer in the history; returns the store write to run, if any.
Recorder = Callable[["PendingAnswer", Completion, "str | None"], "Write | None"]


def completion_source(stream: object) -> object:
    """The run of a client stream: what keeps its answer, without the stream itself.

    The stream holds its :class:`~ails.client.run.CompletionRun` from the
    moment it is made, and the run makes the answer's
    :class:`~ails.Completion` when it ends (in the stream's own ``finally``
    when the stream is collected). It outlives the stream: a conversation
    holds it while the stream may be collected. Any client-shaped object
    will do (tests pass fakes); one without a run gives an empty answer.
    """
    # The run is the stream's own attribute (ails.client.streams); read by
    # name so that a fake client's stream needs none.
    return getattr(stream, "_run", None)


def _fact(run: object, name: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
    value = getattr(run, name, default)
    return value if isinstance(value, kind) else default


class PendingAnswer:
    """One answer to ``inputs`` (a retry of turn ``retried``), until it is recorded.

    ``tokens`` and ``size`` count what the stream handed out (the run may
    hold more, decoded from the same chunk): the answer kept is what the
    caller saw. :meth:`end` builds the :class:`~ails.Completion` and records
    it, once.
    """

    __slots__ = (
        "_clock",
        "_record",
        "_source",
        "_started",
        "_stream",
        "asked_model",
        "completion",
        "inputs",
        "retried",
        "size",
        "tokens",
    )

    def __init__(
        self,
        inputs: list[Turn],
        retried: int | None,
        asked_model: str | None,
        *,
        source: object,
        record: Recorder,
        clock: Callable[[], float],
    ) -> None:
        self.inputs = inputs
        self.retried = retried
        self.asked_model = asked_model
        self._source = source
        self._record = record
        self._clock = clock
        self._started: float | None = None
        self._stream: weakref.ref[Any] | None = None
        #: How many tokens, and characters, the stream handed out.
        self.tokens = 0
        self.size = 0
        #: How the answer ended, once it is recorded.
        self.completion: Completion | None = None

    def watch(self, stream: object) -> None:
        """Hold ``stream`` weakly: once it is gone unrecorded, the answer was dropped."""
        self._stream = weakref.ref(stream)

    @property
    def dropped(self) -> bool:
        """True when its stream was collected before it recorded the answer."""
        return self.completion is None and self._stream is not None and self._stream() is None

    @property
    def stream(self) -> Any:
        """The stream while it is alive (``None`` once collected, or before :meth:`watch`)."""
        return None if self._stream is None else self._stream()

    def begin(self) -> None:
        """Start the clock for the duration: the request goes out when iteration starts."""
        if self._started is None:
            self._started = self._clock()

    @property
    def text(self) -> str:
        """The answer so far (the client run's, as handed out), or all of it once recorded."""
        if self.completion is not None:
            return self.completion.text
        text: str = _fact(self._source, "text", str, "")
        return text[: self.size]

    def _completion(self, outcome: Outcome, error: BaseException | None) -> Completion:
        run = self._source
        done = getattr(run, "completion", None)
        if isinstance(done, Completion):
            # The run's own record, its text cut to what the caller saw.
            if len(done.text) == self.size:
                return done
            return attrs.evolve(done, text=done.text[: self.size])
        # The run has not ended: a stream dropped unread (its generator never
        # ran), or an async one whose close the event loop has not run yet.
        # What the run knows so far, and the conversation's own clock.
        return Completion(
            text=_fact(run, "text", str, "")[: self.size],
            tool_calls=_fact(run, "tool_calls", tuple, ()),
            finish_reason=_fact(run, "finish_reason", str),
            usage=_fact(run, "usage", Usage),
            id=_fact(run, "id", str),
            model=_fact(run, "model", str),
            time_to_first_token=_fact(run, "time_to_first_token", (int, float)),
            duration=None if self._started is None else self._clock() - self._started,
            attempts=_fact(run, "attempts", int, 0),
            outcome=outcome,
            error=error if isinstance(error, AilsError) else None,
        )

    def end(self, outcome: Outcome, error: BaseException | None = None) -> Write | None:
        """Record how the answer ended; later calls do nothing (and return ``None``).

        ``error`` is what ended it, if anything did (its class name is kept
        with the turns, ``KeyboardInterrupt`` and ``CancelledError`` too).
        """
        if self.completion is not None:
            return None
        completion = self.completion = self._completion(outcome, error)
        return self._record(self, completion, None if error is None else type(error).__name__)
