"""What ``ails chat`` and ``ails logs`` share about the history: opening it, finding one."""

from __future__ import annotations

import argparse
import os

from ails.cli.errors import CliError
from ails.conversations.records import SavedConversation
from ails.conversations.store import ConversationStore

__all__ = ["logging_enabled", "open_store", "saved_conversation"]

_TRUE = frozenset({"1", "true", "yes", "on"})


def logging_enabled(args: argparse.Namespace) -> bool:
    """False with ``--no-log`` or ``AILS_NO_LOG=1`` (also ``true``, ``yes``, ``on``)."""
    if getattr(args, "no_log", False):
        return False
    return os.environ.get("AILS_NO_LOG", "").strip().lower() not in _TRUE


def open_store(args: argparse.Namespace) -> ConversationStore | None:
    """The history, when this command saves to it or continues from it."""
    wanted = logging_enabled(args) or getattr(args, "cid", None) or getattr(args, "cont", False)
    return ConversationStore() if wanted else None


def saved_conversation(
    args: argparse.Namespace, store: ConversationStore | None
) -> SavedConversation | None:
    """The conversation ``--cid ID`` or ``-c`` asks to go on with, if any."""
    if store is None:
        return None
    if getattr(args, "cid", None):
        return store.load(args.cid)
    if getattr(args, "cont", False):
        latest = store.latest()
        if latest is None:
            raise CliError("there is no conversation to continue yet; start one with ails chat")
        return latest
    return None
