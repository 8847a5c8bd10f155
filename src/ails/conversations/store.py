"""``ConversationStore``: the conversation history in a local SQLite file.

The standard library's ``sqlite3``, the way sqlite-utils and Datasette use
it: the schema in :mod:`.schema`, WAL so readers and writers of several
processes get along, short ``BEGIN IMMEDIATE`` transactions (so two writers
queue on the busy timeout instead of failing), every value a bound
parameter, and one connection per thread: the thread that uses it, and the
one writer thread (:attr:`ConversationStore.writer`) that all its async
conversations share. The folder is created 0700 and the file 0600 (SQLite
gives its ``-wal`` and ``-shm`` files the same mode).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from ails.conversations import schema
from ails.conversations.paths import history_path
from ails.conversations.rows import (
    HEAD,
    INFO_COLUMNS,
    LIST,
    SEARCH,
    TURN_COLUMNS,
    UPSERT,
    contains_folded,
    info_from_row,
    info_row,
    insert_turns,
    match_expression,
    turn_from_row,
)
from ails.conversations.saved import (
    ConversationInfo,
    ConversationTree,
    Node,
    SavedConversation,
    SearchHit,
    newest_leaf,
)
from ails.conversations.writer import StoreWriter
from ails.domain.errors import ConversationNotFoundError, HistoryError
from ails.domain.history import SUPERSEDED, Turn

__all__ = ["BUSY_TIMEOUT", "ConversationStore"]

# The class has a method named list: these aliases keep the builtin in annotations.
_Connections = list[sqlite3.Connection]
_Infos = list[ConversationInfo]
_Hits = list[SearchHit]

BUSY_TIMEOUT = schema.BUSY_TIMEOUT


def _create(path: Path) -> None:
    """Create the folder (0700) and an empty file (0600) unless they exist."""
    folder = path.parent
    if not folder.exists():
        folder.mkdir(parents=True, mode=0o700)
        os.chmod(folder, 0o700)  # whatever the umask
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)
    os.chmod(path, 0o600)


class ConversationStore:
    """The conversation history: one SQLite file, safe for several processes.

    ``path`` defaults to ``$AILS_HOME/history.db`` (``AILS_HOME`` defaults to
    ``$XDG_DATA_HOME/ails``, else ``~/.local/share/ails``). A file that is not
    an ails history, or is damaged, raises ``HistoryError`` naming it and is
    never written to. Keys, signatures, client-ids and authorization values
    are never stored: a conversation row holds its id, times, title, model,
    profile name, the server URL without credentials and the system message.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._path = Path(path) if path is not None else history_path()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: _Connections = []
        self._closed = False
        self._writer = StoreWriter(closed=self._closed_error)
        with self._errors():
            _create(self._path)
            schema.prepare(self._connection(), str(self._path))

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    @property
    def writer(self) -> StoreWriter:
        """The one worker thread the async conversations write this store on.

        Its thread starts with the first write and stops in :meth:`close`.
        """
        return self._writer

    # -- connections and errors ---------------------------------------------------------

    def _closed_error(self) -> HistoryError:
        return HistoryError(
            f"the history {self._path} was closed; open a new ConversationStore to use it",
            path=str(self._path),
        )

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise self._closed_error()
            # isolation_level=None: transactions are the explicit BEGINs below.
            conn = sqlite3.connect(
                self._path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA foreign_keys = ON")
            conn.create_function("ails_contains", 2, contains_folded, deterministic=True)
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.DatabaseError as exc:
            raise HistoryError(
                f"{self._path} cannot be used as the ails history ({exc}); it was not changed: "
                "move it away or give ails another path (AILS_HOME)",
                path=str(self._path),
            ) from exc
        except sqlite3.Error as exc:
            raise HistoryError(f"{self._path}: {exc}", path=str(self._path)) from exc
        except OSError as exc:
            raise HistoryError(
                f"cannot create the history at {self._path}: {exc.strerror or exc}; "
                "check the folder's permissions or set AILS_HOME",
                path=str(self._path),
            ) from exc

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._errors():
            conn = self._connection()
            with conn:  # commits, or rolls back on any error
                conn.execute("BEGIN IMMEDIATE")
                yield conn

    def close(self) -> None:
        """Save what is still on its way, then close every connection this store opened.

        The writes queued on :attr:`writer` are saved first (``close`` waits
        for them); then the writer thread stops and each thread's connection
        closes. A conversation's answers whose streams were dropped unread are
        recorded by the conversation (its next call, or its ``close()``), so
        close the conversations first. Using the store afterwards raises
        ``HistoryError``. Closing twice does nothing more.
        """
        self._writer.close()
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
        self._local = threading.local()

    def __enter__(self) -> ConversationStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ConversationStore({str(self._path)!r})"

    # -- writing ------------------------------------------------------------------------

    def append(
        self, info: ConversationInfo, turns: Sequence[Turn], *, supersede: Sequence[Turn] = ()
    ) -> None:
        """Create or update the conversation ``info`` and add ``turns`` after its last.

        ``supersede``: first mark the stored messages that are these turns
        (same role, time and text) and still complete as replaced by a retry
        (``error="superseded"``). A turn that was never stored marks nothing.
        """
        with self._write() as conn:
            conn.execute(UPSERT, info_row(info))
            if supersede:
                # Matched by what the turns are, not counted from the end:
                # the file may lack turns the memory has (a failed write).
                conn.executemany(
                    "UPDATE messages SET complete = 0, error = ? WHERE conversation_id = ? "
                    "AND complete = 1 AND role = ? AND created = ? AND content = ?",
                    [
                        (SUPERSEDED, info.id, turn.role.value, turn.created, turn.content)
                        for turn in supersede
                    ],
                )
            # After the branch shown last: what ``ails chat -c`` resumed.
            (head,) = conn.execute(HEAD, (info.id,)).fetchone()
            insert_turns(conn, info.id, head, turns)

    def add(
        self,
        info: ConversationInfo,
        turns: Sequence[Turn],
        *,
        parent: int | None,
        settle: tuple[int, bool, str | None] | None = None,
    ) -> list[int]:
        """Add ``turns`` as a branch below message ``parent`` and show it; returns their seqs.

        ``parent=None`` starts from the top (an edited first question). The
        conversation row ``info`` is created or updated as by :meth:`append`,
        and the new last message becomes the one shown (``head``).
        ``settle=(seq, complete, error)`` first marks that message's
        ``complete`` and ``error`` (a question whose answer came in, or did
        not), in the same transaction.
        """
        with self._write() as conn:
            conn.execute(UPSERT, info_row(info))
            if parent is not None:
                self._node(conn, info.id, parent)
            if settle is not None:
                seq, complete, error = settle
                conn.execute(
                    "UPDATE messages SET complete = ?, error = ? "
                    "WHERE conversation_id = ? AND seq = ?",
                    (int(complete), error, info.id, seq),
                )
            return insert_turns(conn, info.id, parent, turns)

    def select(self, id: str, seq: int) -> int:
        """Show the branch through message ``seq``: its newest continuation; returns its last seq.

        ``load`` and ``ails chat -c`` then go on from that branch.
        """
        with self._write() as conn:
            full = self._resolve(conn, id)
            self._node(conn, full, seq)
            rows = conn.execute(
                "SELECT seq, parent FROM messages WHERE conversation_id = ?", (full,)
            ).fetchall()
            nodes = [Node(row[0], row[1], Turn.user("")) for row in rows]
            head = newest_leaf(nodes, seq)
            conn.execute("UPDATE conversations SET head = ? WHERE id = ?", (head, full))
        return head

    def rename(self, id: str, title: str) -> str:
        """Give a conversation its own title; returns its full id."""
        with self._write() as conn:
            full = self._resolve(conn, id)
            conn.execute("UPDATE conversations SET title = ? WHERE id = ?", (title, full))
        return full

    def set_system(self, id: str, system: str | None) -> str:
        """Change the system message sent with the conversation's next questions."""
        with self._write() as conn:
            full = self._resolve(conn, id)
            conn.execute("UPDATE conversations SET system = ? WHERE id = ?", (system, full))
        return full

    def _node(self, conn: sqlite3.Connection, id: str, seq: int) -> None:
        found = conn.execute(
            "SELECT 1 FROM messages WHERE conversation_id = ? AND seq = ?", (id, seq)
        ).fetchone()
        if not found:
            raise ConversationNotFoundError(
                f"conversation {id!r} in {self._path} has no message {seq}; reload it",
                path=str(self._path),
                conversation_id=id,
            )

    def delete(self, id: str) -> str:
        """Delete a conversation (an id or a unique prefix); returns its full id."""
        with self._write() as conn:
            full = self._resolve(conn, id)
            conn.execute("DELETE FROM messages WHERE conversation_id = ?", (full,))
            conn.execute("DELETE FROM conversations WHERE id = ?", (full,))
        return full

    # -- reading ------------------------------------------------------------------------

    def _resolve(self, conn: sqlite3.Connection, id: str) -> str:
        if conn.execute("SELECT 1 FROM conversations WHERE id = ?", (id,)).fetchone():
            return id
        found = conn.execute(
            "SELECT id FROM conversations WHERE substr(id, 1, ?) = ? LIMIT 2", (len(id), id)
        ).fetchall()
        if len(found) == 1 and id:
            return str(found[0][0])
        why = "several conversations start with it; give more of it" if found else "none has it"
        raise ConversationNotFoundError(
            f"no conversation {id!r} in {self._path}: {why} (see ails logs)",
            path=str(self._path),
            conversation_id=id,
        )

    def list(self, limit: int | None = 20, search: str | None = None) -> _Infos:
        """The most recently updated conversations first, at most ``limit`` (``None``: all).

        ``search`` keeps those whose title or any message contains it
        (case-insensitive).
        """
        with self._errors():
            rows = self._connection().execute(LIST, (search, -1 if limit is None else limit))
            return [info_from_row(row) for row in rows]

    def search(self, query: str, *, limit: int = 20) -> _Hits:
        """The messages holding every word of ``query``, best match first, at most ``limit``.

        Full-text search (SQLite FTS5, ranked with bm25) over every message
        of every conversation: case and diacritics do not matter in any
        script ("Привет" finds "привет", "cafe" finds "café"), each word
        also matches as the start of a longer one, and punctuation is
        ignored. A query with no word finds nothing.
        """
        expression = match_expression(query)
        if expression is None or limit <= 0:
            return []
        with self._errors():
            rows = self._connection().execute(SEARCH, (expression, limit))
            return [
                SearchHit(
                    conversation_id=id,
                    title=title,
                    seq=seq,
                    role=role,
                    snippet=snippet,
                    rank=rank,
                    updated=updated,
                )
                for id, title, seq, role, snippet, rank, updated in rows
            ]

    def load(self, id: str) -> SavedConversation:
        """One conversation with the turns of the branch shown last; ``id`` may be a unique prefix.

        A conversation never edited or regenerated in the page has one
        branch: all its turns. Raises ``ConversationNotFoundError`` when there
        is none. :meth:`tree` has every branch.
        """
        tree = self.tree(id)
        return SavedConversation(tree.info, tuple(node.turn for node in tree.branch()))

    def tree(self, id: str) -> ConversationTree:
        """One conversation with every message of every branch, and the branch shown last."""
        with self._errors():
            conn = self._connection()
            with conn:  # one read transaction: the row and its turns agree
                conn.execute("BEGIN")
                full = self._resolve(conn, id)
                (row,) = conn.execute(
                    f"SELECT {INFO_COLUMNS}, "
                    "(SELECT count(*) FROM messages WHERE conversation_id = ?1) "
                    "FROM conversations WHERE id = ?1",
                    (full,),
                ).fetchall()
                (head,) = conn.execute(HEAD, (full,)).fetchone()
                rows = conn.execute(
                    f"SELECT seq, parent, {TURN_COLUMNS} FROM messages "
                    "WHERE conversation_id = ? ORDER BY seq",
                    (full,),
                ).fetchall()
        nodes = tuple(Node(r[0], r[1], turn_from_row(r[2:])) for r in rows)
        return ConversationTree(info_from_row(row), nodes, head)

    def latest(self) -> SavedConversation | None:
        """The most recently updated conversation, or ``None`` when there is none."""
        found = self.list(limit=1)
        return self.load(found[0].id) if found else None

    def export(self, id: str, format: str = "markdown") -> str:
        """One conversation as ``"markdown"`` or ``"json"`` text."""
        from ails.conversations.export import export

        return export(self.load(id), format)
