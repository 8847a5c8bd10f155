"""Endings of streams dropped before they ended, waiting to be recorded.

A conversation stream left without being closed (a ``break`` out of a
``for`` loop, one never read) is ended by its finalizer, and garbage
collection runs finalizers on any thread, at any allocation: in the middle
of another store write, or while the same history is being changed. So the
finalizer only hands the ending to a :class:`Leftovers` queue, with a
``deque.append`` and a dict store (no lock that could deadlock, no I/O).
What waits there is recorded at the conversation's next call, by
``ConversationStore.close()`` for its own conversations, and by an
``atexit`` hook for whatever is left when the interpreter exits.
"""

from __future__ import annotations

import atexit
from collections import deque
from collections.abc import Callable

from ails.conversations.writer import Write

__all__ = ["Leftovers", "record_waiting"]

#: Ends an exchange in the history; returns the store write to run, if any.
Ending = Callable[[], "Write | None"]

# Every queue with something in it, by id: kept alive (with its conversation)
# until recorded, so an ending is not lost with a conversation dropped early.
_waiting: dict[int, Leftovers] = {}


class Leftovers:
    """One conversation's endings waiting to be recorded, in the order they came.

    ``run`` runs a store write outside a call that could raise it (inline
    and logged for a sync conversation, queued on the writer for an async
    one); ``store`` is the conversation's store, for ``close()`` to find.
    """

    __slots__ = ("_queue", "run", "store")

    def __init__(self, run: Callable[[Write], None], store: object) -> None:
        self._queue: deque[Ending] = deque()
        self.run = run
        self.store = store

    def put(self, ending: Ending) -> None:
        """Queue ``ending``; safe in a finalizer, on any thread."""
        self._queue.append(ending)
        _waiting[id(self)] = self

    def take(self) -> list[Write]:
        """Record every waiting ending in the history; returns their store writes, in order."""
        if not self._queue:  # the usual case: nothing was dropped
            return []
        # Unregistered first: an ending queued meanwhile registers itself again.
        _waiting.pop(id(self), None)
        writes: list[Write] = []
        while True:
            try:
                ending = self._queue.popleft()
            except IndexError:
                return writes
            write = ending()
            if write is not None:
                writes.append(write)

    def record(self) -> None:
        """Record every waiting ending and run (or queue) its store write."""
        for write in self.take():
            self.run(write)


def record_waiting(store: object | None = None) -> None:
    """Record the endings waiting for ``store``'s conversations (``None``: all of them)."""
    # A copy: a finalizer on another thread may add to the dict meanwhile.
    for leftovers in tuple(_waiting.copy().values()):
        if store is None or leftovers.store is store:
            leftovers.record()


atexit.register(record_waiting)
