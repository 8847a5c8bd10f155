"""Conversations: multi-turn chat over a client, and the local history that keeps them.

:class:`Conversation` and :class:`AsyncConversation` hold a history (the pure
rules live in :mod:`ails.domain.history`) and drive a ``Client`` or
``AsyncClient``; :class:`ConversationStore` is the SQLite adapter (standard
library ``sqlite3``) that saves each exchange, behind the small
:class:`HistoryStore` protocol so a conversation works without it. This
package may import the domain, the ports and the clients; nothing below it
imports it. Only the store loads ``sqlite3``, so it alone is imported when
first asked for: a conversation without a store never pays for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ails.conversations.conversation import AsyncConversation, Conversation
from ails.conversations.saved import (
    ConversationInfo,
    HistoryStore,
    SavedConversation,
    SearchHit,
)
from ails.conversations.stream import AsyncConversationStream, ConversationStream

if TYPE_CHECKING:
    from ails.conversations.store import ConversationStore

__all__ = [
    "AsyncConversation",
    "AsyncConversationStream",
    "Conversation",
    "ConversationInfo",
    "ConversationStore",
    "ConversationStream",
    "HistoryStore",
    "SavedConversation",
    "SearchHit",
]


def __getattr__(name: str) -> Any:
    if name != "ConversationStore":
        raise AttributeError(f"module 'ails.conversations' has no attribute {name!r}")
    from ails.conversations.store import ConversationStore

    return ConversationStore
