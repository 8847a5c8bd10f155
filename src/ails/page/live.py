"""Answers being streamed for the page: they belong to the gateway, not to a browser tab.

An answer runs in its own task, so a reload, a closed tab or a phone that put
the page in the background does not stop it: the gateway finishes it and
saves it to the history, and whoever asks again (the reloaded page) follows
the same answer from its first token. Only Stop (or shutdown) ends one early;
then what arrived is saved, marked incomplete.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import attrs

__all__ = ["STOPPED", "LiveAnswer", "LiveAnswers"]

#: The ``error`` of an answer the user stopped (the terminal's Ctrl-C records its class too).
STOPPED = "Stopped"


@attrs.define(eq=False)
class LiveAnswer:
    """One answer on its way: the text so far, and how it ended once it did.

    ``question`` is the seq of the question it answers; ``seq`` the answer's
    own once saved. Followers read :meth:`follow`.
    """

    conversation: str
    question: int
    model: str
    started: float = attrs.field(factory=time.time)
    parts: list[str] = attrs.field(factory=list)
    done: bool = False
    seq: int | None = None
    complete: bool = False
    error: str | None = None
    #: What to show about the error (the upstream's message); never stored.
    message: str | None = None
    task: asyncio.Task[None] | None = None
    _changed: asyncio.Event = attrs.field(factory=asyncio.Event)

    @property
    def text(self) -> str:
        """Everything that arrived so far."""
        return "".join(self.parts)

    def push(self, text: str) -> None:
        """Add a token and wake the followers."""
        self.parts.append(text)
        self._wake()

    def finish(
        self, *, seq: int | None, complete: bool, error: str | None, message: str | None
    ) -> None:
        """Record how the answer ended and wake the followers one last time."""
        self.seq, self.complete, self.error, self.message = seq, complete, error, message
        self.done = True
        self._wake()

    def _wake(self) -> None:
        # A fresh event per change: each follower waits on the one it saw.
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def follow(self) -> AsyncIterator[str]:
        """The text in pieces as it arrives, from the first token; ends with the answer.

        What arrived between two reads comes as one piece: a slow reader
        gets fewer, larger pieces, never a backlog of tiny ones.
        """
        sent = 0
        while True:
            changed = self._changed
            if len(self.parts) > sent:
                piece = "".join(self.parts[sent:])
                sent = len(self.parts)
                yield piece
                continue
            if self.done:
                return
            await changed.wait()


class LiveAnswers:
    """The answers streaming now, one per conversation at most."""

    def __init__(self) -> None:
        self._live: dict[str, LiveAnswer] = {}

    def get(self, conversation: str) -> LiveAnswer | None:
        """The answer streaming in ``conversation``, if any."""
        return self._live.get(conversation)

    def start(self, answer: LiveAnswer, run: Callable[[LiveAnswer], Awaitable[None]]) -> None:
        """Run ``run(answer)`` in a task of its own; it is forgotten when it ends."""

        async def task() -> None:
            try:
                await run(answer)
            finally:
                if self._live.get(answer.conversation) is answer:
                    del self._live[answer.conversation]

        self._live[answer.conversation] = answer
        answer.task = asyncio.create_task(task(), name=f"ails-page-answer-{answer.conversation}")

    def stop(self, conversation: str) -> LiveAnswer | None:
        """Stop the answer in ``conversation`` (its upstream stream closes); returns it."""
        answer = self._live.get(conversation)
        if answer is not None and answer.task is not None:
            answer.task.cancel()
        return answer

    async def wait(self, answer: LiveAnswer) -> None:
        """Until ``answer``'s task (its saving included) is over."""
        if answer.task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(answer.task)

    async def drain(self, grace: float) -> None:
        """On shutdown: let answers finish for ``grace`` seconds, then stop and save the rest."""
        tasks = [answer.task for answer in self._live.values() if answer.task is not None]
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
