"""One background thread that runs callbacks at deadlines: wall-clock limits for blocking I/O.

A blocking read in ``http.client`` waits per ``recv``, so a server that sends a
byte now and then never trips a socket timeout. The sync transport schedules
a callback that shuts the socket down at the deadline instead, which wakes
the blocked read at once. One daemon thread serves every transport; a
schedule or cancel costs a lock and a heap push, never a new thread.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import threading
import time
from collections.abc import Callable

__all__ = ["Alarm", "schedule"]


class Alarm:
    """A scheduled callback; :meth:`cancel` stops it if it has not run yet."""

    __slots__ = ("_owner", "callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], None], owner: _Watchdog) -> None:
        self.when = when
        self.callback: Callable[[], None] | None = callback
        self.cancelled = False
        self._owner = owner

    def cancel(self) -> None:
        """Do not run the callback (it leaves the heap at its time, or at the next compaction)."""
        if not self.cancelled:
            self.cancelled = True
            self.callback = None  # drop references to the socket at once
            self._owner.cancelled += 1


class _Watchdog:
    def __init__(self) -> None:
        self._lock = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int, Alarm]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._waiting_until = float("inf")
        self.cancelled = 0  # cancelled alarms still in the heap (approximate, unlocked)

    def schedule(self, delay: float, callback: Callable[[], None]) -> Alarm:
        alarm = Alarm(time.monotonic() + max(delay, 0.0), callback, self)
        with self._lock:
            if self.cancelled > 1024 and self.cancelled * 2 > len(self._heap):
                # Most answers end long before their deadline: drop their alarms
                # now rather than keep them until their time comes.
                self._heap = [entry for entry in self._heap if not entry[2].cancelled]
                heapq.heapify(self._heap)
                self.cancelled = 0
            heapq.heappush(self._heap, (alarm.when, next(self._order), alarm))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ails-watchdog", daemon=True)
                self._thread.start()
            elif alarm.when < self._waiting_until:
                # Wake the thread only when it sleeps past the new deadline.
                self._lock.notify()
        return alarm

    def _run(self) -> None:
        while True:
            due: list[Alarm] = []
            with self._lock:
                now = time.monotonic()
                heap = self._heap
                while heap and (heap[0][0] <= now or heap[0][2].cancelled):
                    alarm = heapq.heappop(heap)[2]
                    if alarm.cancelled:
                        self.cancelled = max(self.cancelled - 1, 0)
                    else:
                        due.append(alarm)
                if not due:
                    self._waiting_until = heap[0][0] if heap else float("inf")
                    timeout = None if not heap else self._waiting_until - now
                    self._lock.wait(timeout)
                    self._waiting_until = float("inf")
                    continue
            for alarm in due:
                callback = alarm.callback
                if callback is not None and not alarm.cancelled:
                    with contextlib.suppress(Exception):
                        callback()


_WATCHDOG = _Watchdog()


def schedule(delay: float, callback: Callable[[], None]) -> Alarm:
    """Run ``callback`` on the watchdog thread in ``delay`` seconds, unless cancelled."""
    return _WATCHDOG.schedule(delay, callback)
