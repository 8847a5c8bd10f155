"""The history database's schema, in one place, and its forward migrations.

``PRAGMA user_version`` is the schema version: ``MIGRATIONS[n]`` takes a file
from version ``n`` to ``n + 1``, and version 1 is the first release's schema.
A new release appends a step and never edits an old one. ``PRAGMA
application_id`` marks the file as an ails history, so a foreign SQLite file
is refused instead of being written to.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence

from ails.domain.errors import HistoryError

__all__ = [
    "APPLICATION_ID",
    "BUSY_TIMEOUT",
    "MESSAGE_SEARCH",
    "MIGRATIONS",
    "latest_version",
    "prepare",
]

#: Seconds a writer waits for another process's transaction before giving up.
BUSY_TIMEOUT = 10.0
_WAL_RETRY = 0.005

#: "AiLs" in ASCII: SQLite's documented way to tell one file format from another.
APPLICATION_ID = 0x41694C73

#: The full-text index of every message and the triggers that keep it in step
#: with ``messages``. FTS5 with an external content table: the index keeps no
#: copy of the text, it reads ``messages`` by rowid (which VACUUM keeps).
#: ``unicode61`` folds case in every script (Cyrillic included) and, with
#: ``remove_diacritics 2``, matches "cafe" with "café". A later migration that
#: rebuilds the ``messages`` table drops these triggers with it: it runs
#: these statements again (they end by rebuilding the index from the rows).
MESSAGE_SEARCH: tuple[str, ...] = (
    """
    CREATE VIRTUAL TABLE message_search USING fts5(
        content,
        content = 'messages',
        content_rowid = 'rowid',
        tokenize = 'unicode61 remove_diacritics 2'
    )
    """,
    """
    CREATE TRIGGER message_search_insert AFTER INSERT ON messages BEGIN
        INSERT INTO message_search (rowid, content) VALUES (new.rowid, new.content);
    END
    """,
    """
    CREATE TRIGGER message_search_delete AFTER DELETE ON messages BEGIN
        INSERT INTO message_search (message_search, rowid, content)
        VALUES ('delete', old.rowid, old.content);
    END
    """,
    # Only a change of the text touches the index (a retry marks rows
    # superseded without changing their text).
    """
    CREATE TRIGGER message_search_update AFTER UPDATE OF content ON messages BEGIN
        INSERT INTO message_search (message_search, rowid, content)
        VALUES ('delete', old.rowid, old.content);
        INSERT INTO message_search (rowid, content) VALUES (new.rowid, new.content);
    END
    """,
    # The rows saved before this version are indexed now.
    "INSERT INTO message_search (message_search) VALUES ('rebuild')",
)

#: Each step is a list of statements run in one transaction.
MIGRATIONS: list[Sequence[str]] = [
    # 1: the first release.
    (
        """
        CREATE TABLE conversations (
            id TEXT PRIMARY KEY,
            created REAL NOT NULL,
            updated REAL NOT NULL,
            title TEXT,
            model TEXT,
            profile TEXT,
            base_url TEXT,
            system TEXT
        )
        """,
        """
        CREATE TABLE messages (
            conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
            content TEXT NOT NULL,
            created REAL NOT NULL,
            complete INTEGER NOT NULL CHECK (complete IN (0, 1)),
            tokens INTEGER,
            time_to_first_token REAL,
            duration REAL,
            error TEXT,
            PRIMARY KEY (conversation_id, seq)
        )
        """,
        "CREATE INDEX conversations_by_update ON conversations (updated)",
    ),
    # 2: tool calls. An assistant message keeps the calls it asked for
    # (``tool_calls``: JSON, the OpenAI wire list) and a ``tool`` message the
    # call it answers. SQLite cannot change a CHECK constraint in place, so
    # the table is rebuilt the way its documentation describes
    # (https://www.sqlite.org/lang_altertable.html#otheralter): create the
    # new one, copy, drop the old, rename; nothing else refers to it yet.
    (
        """
        CREATE TABLE messages_v2 (
            conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'tool')),
            content TEXT NOT NULL,
            created REAL NOT NULL,
            complete INTEGER NOT NULL CHECK (complete IN (0, 1)),
            tokens INTEGER,
            time_to_first_token REAL,
            duration REAL,
            error TEXT,
            tool_calls TEXT CHECK (tool_calls IS NULL OR role = 'assistant'),
            tool_call_id TEXT CHECK ((role = 'tool') = (tool_call_id IS NOT NULL)),
            PRIMARY KEY (conversation_id, seq)
        )
        """,
        """
        INSERT INTO messages_v2 (conversation_id, seq, role, content, created, complete,
                                 tokens, time_to_first_token, duration, error)
        SELECT conversation_id, seq, role, content, created, complete,
               tokens, time_to_first_token, duration, error
        FROM messages
        """,
        "DROP TABLE messages",
        "ALTER TABLE messages_v2 RENAME TO messages",
    ),
    # 3: the full-text index behind ConversationStore.search and ails logs -q
    # (after 2, which rebuilt the messages table: its triggers start here).
    MESSAGE_SEARCH,
    # 4: branches. Each message names the one it answers or follows (``parent``, a
    # ``seq`` of the same conversation; NULL for a first question), so an edited
    # question or a regenerated answer is a sibling and the old one stays. A
    # conversation's ``head`` is the last message of the branch shown last
    # (NULL: its newest message), the one ``ails chat -c`` goes on from. The
    # history so far becomes one branch: each message follows the one before.
    (
        "ALTER TABLE messages ADD COLUMN parent INTEGER",
        """
        UPDATE messages SET parent = (
            SELECT max(before.seq) FROM messages AS before
            WHERE before.conversation_id = messages.conversation_id AND before.seq < messages.seq
        )
        """,
        "ALTER TABLE conversations ADD COLUMN head INTEGER",
        "CREATE INDEX messages_by_parent ON messages (conversation_id, parent)",
    ),
]


def latest_version() -> int:
    """The schema version this ails writes."""
    return len(MIGRATIONS)


def _read_identity(conn: sqlite3.Connection) -> tuple[int, int, int]:
    application_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    return int(application_id), int(version), int(tables)


def _identity(conn: sqlite3.Connection) -> tuple[int, int, int]:
    # One read transaction: another process may be creating the schema, and
    # three separate reads could see the tables but not yet the mark.
    with conn:
        conn.execute("BEGIN")
        return _read_identity(conn)


def _switched_to_wal(conn: sqlite3.Connection, give_up: bool) -> bool:
    try:
        conn.execute("PRAGMA journal_mode=WAL")
    except sqlite3.OperationalError as exc:
        # Switching needs the file to itself, and SQLite answers "locked" at
        # once (no busy handler) while another process opens or switches it
        # too: a new history opened by two processes at the same moment.
        if "locked" not in str(exc) or give_up:
            raise
        return False
    return True


def _use_wal(conn: sqlite3.Connection) -> None:
    if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
        return
    deadline = time.monotonic() + BUSY_TIMEOUT
    while not _switched_to_wal(conn, give_up=time.monotonic() > deadline):
        time.sleep(_WAL_RETRY)


def prepare(conn: sqlite3.Connection, path: str) -> None:
    """Check that the file at ``path`` is an ails history; create or upgrade it.

    Only reads happen until the file is known to be ours (or empty), so a
    foreign or newer file is never changed. Raises ``HistoryError``.
    """
    application_id, version, tables = _identity(conn)
    if application_id != APPLICATION_ID and (application_id or tables):
        raise HistoryError(
            f"{path} is an SQLite file but not an ails history; "
            "move it away or give ails another path (AILS_HOME)",
            path=path,
        )
    if version > latest_version():
        raise HistoryError(
            f"{path} was written by a newer ails (schema {version}, this one knows "
            f"{latest_version()}); upgrade ails to read it",
            path=path,
        )
    # WAL lets readers go on while another process writes; it must be set
    # outside a transaction, and only now that the file is known to be ours.
    _use_wal(conn)
    if version == latest_version():
        return
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        # Another process may have upgraded the file while this one waited.
        _, version, _ = _read_identity(conn)
        for step in MIGRATIONS[version:]:
            for statement in step:
                conn.execute(statement)
        # PRAGMAs take no bound parameters; both values are our own integers.
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID:d}")
        conn.execute(f"PRAGMA user_version = {latest_version():d}")
