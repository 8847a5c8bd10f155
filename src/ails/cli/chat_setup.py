"""What a question from the command line is sent with: the client, the conversation, the call.

Each comes from the flags and, going on with a saved conversation (``-c``,
``--cid``), from what it was held with. Shared by the one-shot answer and
the interactive session of ``ails chat``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, TypeVar

from ails.cli import request_flags
from ails.cli.errors import CliError
from ails.cli.terminal import is_terminal
from ails.conversations.conversation import AsyncConversation, Conversation
from ails.conversations.saved import SavedConversation
from ails.conversations.store import ConversationStore
from ails.domain.history import DEFAULT_WINDOW
from ails.domain.messages import DEFAULT_MODEL

__all__ = ["call_options", "client_options", "conversation", "tell_profile_change"]


def client_options(
    args: argparse.Namespace, saved: SavedConversation | None = None
) -> dict[str, Any]:
    """The ``Client`` keyword arguments the command line sets.

    Going on with a saved conversation (``-c``, ``--cid``) goes back to the
    server and the profile it was held with, unless ``--base-url`` (or
    ``$AILS_BASE_URL``) and ``--profile`` say otherwise: continuing a chat
    held with a local server must not quietly send it to the public
    service, nor an ``openai``-profile chat go out signed as the ``ails``
    one. A conversation saved without its server (by an older ails) is
    refused unless the server is named.
    """
    base_url = args.base_url
    profile = args.profile
    if saved is not None:
        if base_url is None and not os.environ.get("AILS_BASE_URL"):
            base_url = saved.info.base_url
            if base_url is None:
                raise CliError(
                    f"conversation {saved.id} was saved without the server it was held with "
                    "(by an older ails); name the server to go on with it: --base-url URL "
                    "(or AILS_BASE_URL)"
                )
        profile = profile or saved.info.profile
    if profile == "openai" and not args.api_key and not os.environ.get("AILS_API_KEY"):
        raise CliError(
            "the openai profile needs an API key: give --api-key KEY or set AILS_API_KEY"
        )
    return {
        "base_url": base_url,
        "timeout": args.timeout,
        "profile": profile or "ails",
        "api_key": args.api_key,
    }


def tell_profile_change(args: argparse.Namespace, saved: SavedConversation | None) -> None:
    """On a terminal, say once that ``--profile`` changes a saved conversation's profile.

    The history keeps the profile last used, so a change made on purpose is
    said once, on stderr.
    """
    if saved is None or not saved.info.profile or args.profile in (None, saved.info.profile):
        return
    if is_terminal(sys.stderr):
        print(
            f"ails: conversation {saved.id} was held with the {saved.info.profile} profile; "
            f"going on with {args.profile} (--profile), which it keeps from now on",
            file=sys.stderr,
        )


C = TypeVar("C", Conversation, AsyncConversation)


def conversation(
    cls: type[C],
    client: Any,
    args: argparse.Namespace,
    saved: SavedConversation | None,
    store: ConversationStore | None,
) -> C:
    """A new conversation, or the saved one ``-c``/``--cid`` asked for."""
    window = getattr(args, "window", DEFAULT_WINDOW)
    if saved is None:
        return cls(client, system=args.system, store=store, window=window)
    resumed = cls.resume(client, saved, store=store, window=window)
    if args.system:
        resumed.system = args.system
    return resumed


def call_options(
    args: argparse.Namespace, saved: SavedConversation | None, profile: str
) -> dict[str, Any]:
    """``model``, ``temperature`` and the request options for each question.

    The model is ``--model``; else, going on with a saved conversation, the
    model that answered it; else the default. A request option the
    ``profile`` does not send is refused here (``CliError``), before
    anything is sent.
    """
    model = args.model or (saved.info.model if saved is not None else None) or DEFAULT_MODEL
    given = request_flags.given_options(args)
    if given:
        request_flags.refuse_for(given, profile)
    return {"model": model, "temperature": args.temperature, **given}
