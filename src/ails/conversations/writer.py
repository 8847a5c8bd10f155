"""``StoreWriter``: the one worker thread that writes a store for async conversations.

SQLite may wait up to its busy timeout for another process's writer: off the
event loop, that wait stalls nothing else. A :class:`~ails.ConversationStore`
owns one writer (so one thread and one connection, however many
conversations use it) and drains and stops it in ``close()``; any other
:class:`~ails.conversations.HistoryStore` is written by one writer shared by
the process. One thread keeps the writes in the order the exchanges ended.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from ails.domain.errors import HistoryError

__all__ = ["StoreWriter", "Write", "shared_writer", "write_logged"]

_log = logging.getLogger("ails")

#: A store write prepared by the history, run where the stream decides.
Write = Callable[[], None]


def write_logged(write: Write) -> None:
    """Run ``write`` where nobody is left to raise to; a failure is logged by class name."""
    try:
        write()
    except Exception as exc:
        # The class name only: a store's message may quote what it failed to save.
        _log.warning("ails: could not save a conversation's exchange: %s", type(exc).__name__)


class StoreWriter:
    """Runs store writes on one worker thread, in order; created lazily.

    ``closed`` builds the error a write queued after :meth:`close` raises.
    """

    def __init__(self, closed: Callable[[], HistoryError] | None = None) -> None:
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._worker: int | None = None
        self._closed_error = closed or (lambda: HistoryError("the history writer is closed"))

    def submit(self, write: Write) -> Future[None]:
        """Queue ``write``; its future tells when it ran and how.

        Raises ``HistoryError`` after :meth:`close`, and ``RuntimeError``
        when the interpreter is shutting down (no new threads).
        """
        with self._lock:
            if self._closed:
                raise self._closed_error()
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="ails-history", initializer=self._started
                )
            return self._executor.submit(write)

    def _started(self) -> None:
        self._worker = threading.get_ident()

    async def run(self, write: Write) -> None:
        """Run ``write`` on the worker and wait for it; a store error is raised here."""
        import asyncio  # only async conversations come here

        # Shielded: a second cancellation while waiting must not drop the write.
        await asyncio.shield(asyncio.wrap_future(self.submit(write)))

    def detached(self, write: Write) -> None:
        """Queue ``write`` without waiting; its failure is logged, never raised."""
        try:
            self.submit(lambda: write_logged(write))
        except RuntimeError:  # the interpreter is shutting down: no new threads
            write_logged(write)
        except HistoryError as exc:
            _log.warning("ails: could not save a conversation's exchange: %s", type(exc).__name__)

    def close(self) -> None:
        """Run the writes already queued, then stop the thread; later writes raise."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            # From the worker itself (a write that closes its store) it cannot wait for itself.
            executor.shutdown(wait=self._worker != threading.get_ident())


_shared: StoreWriter | None = None
_shared_lock = threading.Lock()


def shared_writer() -> StoreWriter:
    """The writer for stores that bring none of their own (one for the process)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = StoreWriter()
        return _shared
