"""What the history keeps of a conversation, and the protocol a store implements."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit, urlunsplit

import attrs

from ails.domain.history import Turn, derive_title
from ails.ports.http import redact_url

__all__ = [
    "MATCH_END",
    "MATCH_START",
    "ConversationInfo",
    "ConversationTree",
    "HistoryStore",
    "Node",
    "SavedConversation",
    "SearchHit",
    "branch_to",
    "newest_leaf",
    "public_url",
]

#: Around each matched word in :attr:`SearchHit.snippet` (STX and ETX: characters
#: no answer shows, so a screen or a page replaces them with its own marks).
MATCH_START = "\x02"
MATCH_END = "\x03"


def public_url(url: str | None) -> str | None:
    """``url`` fit to be stored: no ``user:password@``, no query, no fragment.

    A query may carry a key (``?key=...``), so none of it is kept.
    """
    if not url:
        return None
    redacted = redact_url(url)
    try:
        parts = urlsplit(redacted)
    except ValueError:  # pragma: no cover - redact_url already replaced a malformed URL
        return None
    return urlunsplit(parts._replace(query="", fragment=""))


@attrs.frozen
class ConversationInfo:
    """A conversation's row in the history: who, when, what about.

    ``created`` and ``updated`` are Unix times in seconds; ``base_url`` never
    holds credentials (see :func:`public_url`); ``turns`` counts the stored
    messages (questions and answers); ``failed`` is true when its last answer
    ended in an error or was interrupted (``ConversationStore.list`` sets it).
    No key, signature or client-id is kept.
    """

    id: str
    created: float
    updated: float
    title: str | None = None
    model: str | None = None
    profile: str | None = None
    base_url: str | None = None
    system: str | None = None
    turns: int = 0
    failed: bool = False


def _to_turns(turns: Iterable[Turn]) -> tuple[Turn, ...]:
    return tuple(turns)


@attrs.frozen
class SavedConversation:
    """A conversation as the history holds it: its row and all its turns.

    Pass it to :meth:`ails.Conversation.resume` to go on with it.
    """

    info: ConversationInfo
    turns: tuple[Turn, ...] = attrs.field(converter=_to_turns)

    @property
    def id(self) -> str:
        """The conversation id."""
        return self.info.id

    @property
    def title(self) -> str | None:
        """The title, from the first question."""
        return self.info.title or derive_title(self.turns)


@attrs.frozen
class Node:
    """One stored message and where it sits: its ``seq`` and the ``seq`` it follows.

    ``parent`` is ``None`` for a first question. Two nodes with the same
    parent are branches: an edited question, or a regenerated answer.
    """

    seq: int
    parent: int | None
    turn: Turn


def _to_nodes(nodes: Iterable[Node]) -> tuple[Node, ...]:
    return tuple(nodes)


def newest_leaf(nodes: Sequence[Node], seq: int) -> int:
    """The last message of the newest branch through ``seq``: follow the newest child down."""
    newest: dict[int, int] = {}
    for node in nodes:
        if node.parent is not None and node.seq > newest.get(node.parent, -1):
            newest[node.parent] = node.seq
    while seq in newest:
        seq = newest[seq]
    return seq


def branch_to(nodes: Sequence[Node], head: int | None) -> list[Node]:
    """The messages from the first question down to ``head`` (``None``: the newest message)."""
    if not nodes:
        return []
    by_seq = {node.seq: node for node in nodes}
    seq: int | None = head if head in by_seq else max(by_seq)
    path: list[Node] = []
    while seq is not None and seq in by_seq and len(path) <= len(by_seq):
        node = by_seq[seq]
        path.append(node)
        seq = node.parent
    path.reverse()
    return path


@attrs.frozen
class ConversationTree:
    """A conversation with every branch: its row, all its messages, and the one shown last.

    ``head`` is the ``seq`` of the last message of the branch shown last
    (what :meth:`~ails.ConversationStore.load` returns and ``ails chat -c``
    goes on from); ``None`` before the first message.
    """

    info: ConversationInfo
    nodes: tuple[Node, ...] = attrs.field(converter=_to_nodes)
    head: int | None = None

    def branch(self) -> list[Node]:
        """The messages of the branch shown last, first question first."""
        return branch_to(self.nodes, self.head)


@attrs.frozen
class SearchHit:
    """One message that matched :meth:`ails.ConversationStore.search`.

    ``seq`` numbers the message in its conversation from 1 (as ``ails logs
    show`` and the export count them); ``role`` is the message's role
    (``"user"``, ``"assistant"``...); ``snippet`` is the text around the match, each matched
    word between :data:`MATCH_START` and :data:`MATCH_END`, cut with "…";
    ``rank`` is FTS5's bm25 score, lower is a better match (hits come best
    first); ``updated`` is the conversation's last change (Unix seconds).
    """

    conversation_id: str
    title: str | None
    seq: int
    role: str
    snippet: str
    rank: float
    updated: float

    def marked(self, start: str, end: str) -> str:
        """The snippet with ``start`` and ``end`` around each match instead of the markers."""
        return self.snippet.replace(MATCH_START, start).replace(MATCH_END, end)


@runtime_checkable
class HistoryStore(Protocol):
    """Where a conversation saves each exchange as it ends.

    :class:`~ails.ConversationStore` is the SQLite one; a test may pass any
    object with this method (a list in memory, a fake that fails).
    """

    def append(
        self, info: ConversationInfo, turns: Sequence[Turn], *, supersede: Sequence[Turn] = ()
    ) -> None:
        """Create or update the conversation row ``info`` and add ``turns`` after its last.

        ``supersede`` (given after a retry whose answer completed): first mark
        the stored messages that are these turns (same role, ``created`` and
        text), those still complete, as ``complete=False,
        error="superseded"`` (see :func:`ails.domain.history.supersede`); a
        turn this store never got marks nothing. All of it in one transaction.
        """
        ...
