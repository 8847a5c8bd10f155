"""What ``ails chat`` and ``ails logs`` share about the history: opening it, finding one.

Reading never creates the file: ``ails logs`` on a fresh ``AILS_HOME``, or
``ails chat -c`` before anything was saved, says so instead.
"""

from __future__ import annotations

import argparse
import os

from ails.cli.errors import CliError
from ails.conversations.paths import history_path
from ails.conversations.saved import SavedConversation
from ails.conversations.store import ConversationStore

__all__ = [
    "existing_store",
    "logging_enabled",
    "open_store",
    "saved_conversation",
    "why_not_logging",
]

_TRUE = frozenset({"1", "true", "yes", "on"})


def why_not_logging(args: argparse.Namespace) -> str | None:
    """``"--no-log"`` or ``"AILS_NO_LOG"`` when this command saves nothing, else ``None``."""
    if getattr(args, "no_log", False):
        return "--no-log"
    if os.environ.get("AILS_NO_LOG", "").strip().lower() in _TRUE:
        return "AILS_NO_LOG"
    return None


def logging_enabled(args: argparse.Namespace) -> bool:
    """False with ``--no-log`` or ``AILS_NO_LOG=1`` (also ``true``, ``yes``, ``on``)."""
    return why_not_logging(args) is None


def existing_store() -> ConversationStore | None:
    """The history if its file exists; ``None`` rather than creating it."""
    path = history_path()
    return ConversationStore(path) if path.exists() else None


def _continuing(args: argparse.Namespace) -> bool:
    return getattr(args, "cid", None) is not None or getattr(args, "cont", False)


def open_store(args: argparse.Namespace) -> ConversationStore | None:
    """The history, when this command saves to it or continues from it.

    Continuing (``-c``, ``--cid``) needs an existing history: the file is not
    created just to find nothing in it.
    """
    cid = getattr(args, "cid", None)
    if cid is not None and not cid.strip():
        raise CliError("--cid needs a conversation id (ails logs lists them)")
    if _continuing(args):
        store = existing_store()
        if store is None:
            what = f"no conversation {cid.strip()!r}" if cid is not None else "nothing to continue"
            raise CliError(
                f"{what}: there is no history yet at {history_path()}; start one with ails chat"
            )
        return store
    return ConversationStore() if logging_enabled(args) else None


def saved_conversation(
    args: argparse.Namespace, store: ConversationStore | None
) -> SavedConversation | None:
    """The conversation ``--cid ID`` or ``-c`` asks to go on with, if any."""
    if store is None:
        return None
    if getattr(args, "cid", None) is not None:
        return store.load(args.cid.strip())
    if getattr(args, "cont", False):
        latest = store.latest()
        if latest is None:
            raise CliError("there is no conversation to continue yet; start one with ails chat")
        return latest
    return None
