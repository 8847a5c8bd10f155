"""Stored responses for ``previous_response_id``, ``GET`` and ``DELETE /v1/responses/{id}``.

SQLite at ``$AILS_HOME/responses.db`` (mode 0600), apart from the chat
history: a response is stored as its response object and its context, the
input items it answered (those of the responses before it included), so a
follow-up's conversation is ``context + output + its own input`` without
walking a chain; its own input is kept apart too, for
``GET /v1/responses/{id}/input_items``. The schema is versioned with
``PRAGMA user_version`` (:data:`MIGRATIONS`; step ``n`` takes version ``n``
to ``n + 1``).

One worker thread owns the connection: the event loop never waits on the
disk, and there is one writer per store. The file is created on first use,
so a gateway that never serves the Responses API leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs

__all__ = [
    "MIGRATIONS",
    "RESPONSES_FILE",
    "ResponsesStore",
    "ResponsesStoreError",
    "StoredResponse",
    "default_path",
]

RESPONSES_FILE = "responses.db"

#: "AiLr" in ASCII: marks the file as ails's responses store (not its history).
APPLICATION_ID = 0x41694C72

#: Seconds a writer waits for another process's transaction before giving up.
BUSY_TIMEOUT = 10.0

MIGRATIONS: list[Sequence[str]] = [
    # 1: the first stored responses.
    (
        """
        CREATE TABLE responses (
            id TEXT PRIMARY KEY,
            created_at REAL NOT NULL,
            response BLOB NOT NULL, -- the response object, UTF-8 JSON
            context TEXT NOT NULL
        )
        """,
        # Output items by id, for item_reference inputs (the AI SDK sends them).
        """
        CREATE TABLE items (
            id TEXT PRIMARY KEY,
            response_id TEXT NOT NULL,
            item BLOB NOT NULL -- UTF-8 JSON
        )
        """,
        "CREATE INDEX items_by_response ON items (response_id)",
    ),
    # 2: each response's own input items, apart from the earlier turns in its context.
    # NULL for a response stored before: its context is all the input it has.
    ("ALTER TABLE responses ADD COLUMN input TEXT",),
]


def default_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$AILS_HOME/responses.db``, with ``AILS_HOME`` resolved as for the history.

    The same rule as ``ails.conversations.paths.ails_home`` (the gateway may
    not import the conversations package): ``$AILS_HOME``, else
    ``$XDG_DATA_HOME/ails`` when absolute, else ``~/.local/share/ails``.
    """
    env = os.environ if environ is None else environ
    home = env.get("AILS_HOME")
    if home:
        return Path(home).expanduser() / RESPONSES_FILE
    xdg = env.get("XDG_DATA_HOME")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "ails" / RESPONSES_FILE
    return Path.home() / ".local" / "share" / "ails" / RESPONSES_FILE


@attrs.frozen
class StoredResponse:
    """A stored response: the object the API returns, and the input items it answered."""

    response: dict[str, Any]
    context: list[dict[str, Any]]

    @property
    def conversation(self) -> list[dict[str, Any]]:
        """What a follow-up continues: the context, then this response's output."""
        return [*self.context, *self.response.get("output", [])]


class ResponsesStoreError(Exception):
    """The responses database cannot be opened or written; the message says what to do."""


class ResponsesStore:
    """Stored responses in SQLite; every method runs on the store's own thread.

    ``path`` defaults to :func:`default_path`. :meth:`close` ends the thread
    and the connection (the gateway's cleanup does it).
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ails-responses")
        self._conn: sqlite3.Connection | None = None

    async def _run(self, work: Any, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, work, *args)

    async def save(
        self,
        response_id: str,
        response: bytes,
        context: Sequence[Mapping[str, Any]],
        items: Sequence[tuple[str, bytes]] = (),
        input: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        """Store ``response`` (the response object as UTF-8 JSON) with the items it answered.

        ``items`` are its output items, ``(id, UTF-8 JSON)``, kept for
        ``item_reference`` inputs. ``input`` is the request's own input
        items, where ``context`` also holds earlier turns (``None``: the
        context is all of it).
        """
        own = None if input is None else list(input)
        await self._run(self._save, response_id, response, list(context), list(items), own)

    async def items(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored output items among ``ids``, by id."""
        found: dict[str, dict[str, Any]] = await self._run(self._items, list(ids))
        return found

    async def load(self, response_id: str) -> StoredResponse | None:
        """The stored response ``response_id``, or ``None``."""
        found: StoredResponse | None = await self._run(self._load, response_id)
        return found

    async def input_items(self, response_id: str) -> list[dict[str, Any]] | None:
        """The input items the request of ``response_id`` sent, or ``None`` if not stored."""
        found: list[dict[str, Any]] | None = await self._run(self._input_items, response_id)
        return found

    async def delete(self, response_id: str) -> bool:
        """Forget ``response_id``; true if it was stored."""
        deleted: bool = await self._run(self._delete, response_id)
        return deleted

    async def close(self) -> None:
        """Close the connection and end the thread."""
        await self._run(self._close)
        self._executor.shutdown(wait=True)

    # -- on the store's thread --------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = _open(self.path)
        return self._conn

    def _save(
        self,
        response_id: str,
        response: bytes,
        context: list[dict[str, Any]],
        items: list[tuple[str, bytes]],
        input: list[dict[str, Any]] | None,
    ) -> None:
        conn = self._connection()
        with conn:
            conn.executemany(
                "INSERT OR REPLACE INTO items (id, response_id, item) VALUES (?, ?, ?)",
                [(item_id, response_id, item) for item_id, item in items],
            )
            conn.execute(
                "INSERT OR REPLACE INTO responses (id, created_at, response, context, input) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    response_id,
                    time.time(),
                    response,
                    json.dumps(context, ensure_ascii=False),
                    None if input is None else json.dumps(input, ensure_ascii=False),
                ),
            )

    def _load(self, response_id: str) -> StoredResponse | None:
        if self._conn is None and not self.path.exists():
            return None  # reading never creates the file
        row = (
            self._connection()
            .execute("SELECT response, context FROM responses WHERE id = ?", (response_id,))
            .fetchone()
        )
        if row is None:
            return None
        return StoredResponse(json.loads(row[0]), json.loads(row[1]))

    def _input_items(self, response_id: str) -> list[dict[str, Any]] | None:
        if self._conn is None and not self.path.exists():
            return None
        row = (
            self._connection()
            .execute("SELECT input, context FROM responses WHERE id = ?", (response_id,))
            .fetchone()
        )
        if row is None:
            return None
        found: list[dict[str, Any]] = json.loads(row[1] if row[0] is None else row[0])
        return found

    def _items(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        if not ids or (self._conn is None and not self.path.exists()):
            return {}
        # Only "?" marks go into the query text; the ids are bound.
        query = f"SELECT id, item FROM items WHERE id IN ({','.join('?' * len(ids))})"
        rows = self._connection().execute(query, ids).fetchall()
        return {row[0]: json.loads(row[1]) for row in rows}

    def _delete(self, response_id: str) -> bool:
        if self._conn is None and not self.path.exists():
            return False
        conn = self._connection()
        with conn:
            cursor = conn.execute("DELETE FROM responses WHERE id = ?", (response_id,))
            conn.execute("DELETE FROM items WHERE response_id = ?", (response_id,))
        return cursor.rowcount > 0

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _open(path: Path) -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Created 0600 before SQLite opens it: stored answers are the user's own.
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise ResponsesStoreError(
            f"cannot open the responses store {path}: {exc}; check the folder's "
            "permissions or set AILS_HOME"
        ) from exc
    try:
        _migrate(conn, path)
    except BaseException:
        conn.close()
        raise
    return conn


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            application_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if application_id not in (0, APPLICATION_ID) or (application_id == 0 and tables):
                raise ResponsesStoreError(
                    f"{path} is not an ails responses store; move it away or set AILS_HOME"
                )
            if version > len(MIGRATIONS):
                raise ResponsesStoreError(
                    f"{path} was written by a newer ails (schema {version}); upgrade ails"
                )
            for step in MIGRATIONS[version:]:
                for statement in step:
                    conn.execute(statement)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
    except sqlite3.Error as exc:
        raise ResponsesStoreError(
            f"cannot use the responses store {path}: {exc}; move it away or set AILS_HOME"
        ) from exc
