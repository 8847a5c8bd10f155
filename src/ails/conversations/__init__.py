"""Conversations: multi-turn chat over a client, and the local history that keeps them.

:class:`Conversation` and :class:`AsyncConversation` hold a history (the pure
rules live in :mod:`ails.domain.history`) and drive a ``Client`` or
``AsyncClient``; :class:`ConversationStore` is the SQLite adapter (standard
library ``sqlite3``) that saves each exchange, behind the small
:class:`HistoryStore` protocol so a conversation works without it. This
package may import the domain, the ports and the clients; nothing below it
imports it, and the store's ``sqlite3`` loads only with :mod:`.store`.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ails.conversations.conversation import AsyncConversation, Conversation
    from ails.conversations.records import ConversationInfo, HistoryStore, SavedConversation
    from ails.conversations.store import ConversationStore
    from ails.conversations.stream import AsyncConversationStream, ConversationStream

__all__ = [
    "AsyncConversation",
    "AsyncConversationStream",
    "Conversation",
    "ConversationInfo",
    "ConversationStore",
    "ConversationStream",
    "HistoryStore",
    "SavedConversation",
]

_HOMES = {
    "AsyncConversation": "ails.conversations.conversation",
    "Conversation": "ails.conversations.conversation",
    "ConversationInfo": "ails.conversations.records",
    "HistoryStore": "ails.conversations.records",
    "SavedConversation": "ails.conversations.records",
    "ConversationStore": "ails.conversations.store",
    "AsyncConversationStream": "ails.conversations.stream",
    "ConversationStream": "ails.conversations.stream",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'ails.conversations' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
