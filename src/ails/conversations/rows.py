"""The history's SQL and the conversion between its rows and ails values.

:class:`~ails.conversations.store.ConversationStore` runs these statements;
the schema itself (tables, triggers, migrations) is in
:mod:`ails.conversations.schema`.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Sequence
from typing import Any

from ails.conversations.saved import MATCH_END, MATCH_START, ConversationInfo
from ails.domain.completion import ToolCall
from ails.domain.history import SUPERSEDED, Turn

INFO_COLUMNS = "id, created, updated, title, model, profile, base_url, system"
TURN_COLUMNS = (
    "role, content, created, complete, tokens, time_to_first_token, duration, error, "
    "tool_calls, tool_call_id"
)
HEAD = """
    SELECT coalesce(head, (SELECT max(seq) FROM messages WHERE conversation_id = ?1))
    FROM conversations WHERE id = ?1
"""
UPSERT = f"""
    INSERT INTO conversations ({INFO_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (id) DO UPDATE SET
        updated = excluded.updated,
        title = coalesce(conversations.title, excluded.title),
        model = coalesce(excluded.model, conversations.model),
        profile = coalesce(excluded.profile, conversations.profile),
        base_url = coalesce(excluded.base_url, conversations.base_url),
        system = excluded.system
"""
LIST = f"""
    SELECT {INFO_COLUMNS},
        (SELECT count(*) FROM messages AS m WHERE m.conversation_id = c.id),
        (SELECT m.complete = 0 AND coalesce(m.error, '') != '{SUPERSEDED}'
         FROM messages AS m WHERE m.conversation_id = c.id ORDER BY m.seq DESC LIMIT 1)
    FROM conversations AS c
    WHERE ?1 IS NULL
        OR ails_contains(c.title, ?1)
        OR EXISTS (SELECT 1 FROM messages AS m
                   WHERE m.conversation_id = c.id AND ails_contains(m.content, ?1))
    ORDER BY c.updated DESC, c.rowid DESC
    LIMIT ?2
"""


# Best match first (bm25 is lower for a better match), then the newest.
SEARCH = f"""
    SELECT m.conversation_id, c.title, m.seq, m.role,
        snippet(message_search, 0, '{MATCH_START}', '{MATCH_END}', '…', 16),
        bm25(message_search), c.updated
    FROM message_search
    JOIN messages AS m ON m.rowid = message_search.rowid
    JOIN conversations AS c ON c.id = m.conversation_id
    WHERE message_search MATCH ?
    ORDER BY bm25(message_search), c.updated DESC, m.seq
    LIMIT ?
"""
#: What FTS5's unicode61 tokenizer takes for part of a word.
_WORD = re.compile(r"\w+")


def match_expression(query: str) -> str | None:
    """The FTS5 query for what a person typed: every word, each as a prefix.

    Words are quoted, so FTS5's own syntax (``AND``, ``-``, ``"``, ``:``) in
    the text is searched for, never run; ``None`` when there is no word.
    A prefix finds other forms of a word ("привет" finds "приветствую").
    """
    words = _WORD.findall(query)
    return " ".join(f'"{word}"*' for word in words) or None


def contains_folded(haystack: str | None, needle: str) -> bool:
    """True when ``needle`` is in ``haystack``, case folded."""
    # Case-insensitive for every script; SQLite's own LIKE folds ASCII only.
    return haystack is not None and needle.casefold() in haystack.casefold()


def info_row(info: ConversationInfo) -> tuple[Any, ...]:
    """The ``conversations`` row of ``info``, in ``INFO_COLUMNS`` order."""
    return (
        info.id,
        info.created,
        info.updated,
        info.title,
        info.model,
        info.profile,
        info.base_url,
        info.system,
    )


def insert_turns(
    conn: sqlite3.Connection, id: str, parent: int | None, turns: Sequence[Turn]
) -> list[int]:
    """Insert ``turns`` each after the one before, the first after ``parent``; show the last."""
    (last,) = conn.execute(
        "SELECT coalesce(max(seq), 0) FROM messages WHERE conversation_id = ?", (id,)
    ).fetchone()
    seqs = list(range(last + 1, last + 1 + len(turns)))
    parents = [parent, *seqs][: len(seqs)]
    conn.executemany(
        f"INSERT INTO messages (conversation_id, seq, parent, {TURN_COLUMNS}) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                id,
                seq,
                above,
                turn.role.value,
                turn.content,
                turn.created,
                int(turn.complete),
                turn.tokens,
                turn.time_to_first_token,
                turn.duration,
                turn.error,
                calls_to_json(turn.tool_calls),
                turn.tool_call_id,
            )
            for seq, above, turn in zip(seqs, parents, turns, strict=True)
        ],
    )
    if seqs:
        conn.execute("UPDATE conversations SET head = ? WHERE id = ?", (seqs[-1], id))
    return seqs


def info_from_row(row: Any) -> ConversationInfo:
    """A ``ConversationInfo`` from a row of ``INFO_COLUMNS``, its turn count and failed mark."""
    id, created, updated, title, model, profile, base_url, system, turns, *failed = row
    return ConversationInfo(
        failed=bool(failed and failed[0]),
        id=id,
        created=created,
        updated=updated,
        title=title,
        model=model,
        profile=profile,
        base_url=base_url,
        system=system,
        turns=turns,
    )


def calls_to_json(calls: Sequence[ToolCall]) -> str | None:
    """The ``tool_calls`` column: the calls as JSON, ``None`` for none."""
    # The OpenAI wire shape, so the column reads as what was sent.
    if not calls:
        return None
    return json.dumps([call.to_dict() for call in calls], ensure_ascii=False, separators=(",", ":"))


def calls_from_json(text: str | None) -> tuple[ToolCall, ...]:
    """The calls a ``tool_calls`` column holds."""
    if not text:
        return ()
    return tuple(
        ToolCall(str(item["id"]), str(item["function"]["name"]), str(item["function"]["arguments"]))
        for item in json.loads(text)
    )


def turn_from_row(row: Any) -> Turn:
    """A ``Turn`` from a row of ``TURN_COLUMNS``."""
    role, content, created, complete, tokens, ttft, duration, error, calls, call_id = row
    return Turn(
        role,
        content,
        complete=bool(complete),
        error=error,
        created=created,
        tokens=tokens,
        time_to_first_token=ttft,
        duration=duration,
        tool_calls=calls_from_json(calls),
        tool_call_id=call_id,
    )
