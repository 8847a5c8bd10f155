"""``ails logs``: list, show, locate and delete saved conversations."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime

from ails.cli.errors import CliError
from ails.cli.history import existing_store
from ails.cli.terminal import for_stream
from ails.conversations.export import info_to_dict
from ails.conversations.paths import history_path
from ails.conversations.saved import ConversationInfo
from ails.conversations.store import ConversationStore

__all__ = ["register"]


def _store_for(action: str, id: str) -> ConversationStore:
    store = existing_store()
    if store is None:
        raise CliError(
            f"nothing to {action}: no conversation {id!r}, there is no history yet "
            f"at {history_path()}"
        )
    return store


def _list(args: argparse.Namespace) -> int:
    store = existing_store()  # listing never creates the file
    found: list[ConversationInfo] = []
    if store is not None:
        with store:
            found = store.list(limit=args.n or None, search=args.search)
    if args.json:
        print(json.dumps([info_to_dict(info) for info in found], ensure_ascii=False, indent=2))
        return 0
    if not found:
        print("no conversations yet" if not args.search else "no conversation matches")
        return 0
    for info in found:
        when = datetime.fromtimestamp(info.updated).strftime("%Y-%m-%d %H:%M")
        line = f"{info.id[:12]}  {when}  {info.turns:>3}  {info.title or '(untitled)'}"
        print(for_stream(line, sys.stdout))
    return 0


def _show(args: argparse.Namespace) -> int:
    with _store_for("show", args.id) as store:
        exported = store.export(args.id, "json" if args.json else "markdown")
    # The answers came from a server: on a terminal, without escape sequences.
    print(exported if args.json else for_stream(exported, sys.stdout))
    return 0


def _path(args: argparse.Namespace) -> int:
    print(history_path())
    return 0


def _delete(args: argparse.Namespace) -> int:
    with _store_for("delete", args.id) as store:
        deleted = store.delete(args.id)
    print(f"deleted {deleted}", file=sys.stderr)
    return 0


def _count(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(
            f"expected how many conversations to list, 0 or more (0 for all); got {value!r}"
        )
    return number


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``ails logs`` to the command line."""
    logs = commands.add_parser(
        "logs",
        help="list, show or delete saved conversations",
        description="The conversations ails chat saved (newest first). An ID may be "
        "shortened to any unique prefix, as ails logs prints it.",
        epilog="Examples:\n  ails logs -n 5\n  ails logs --search python --json\n"
        "  ails logs show 3f2a9c\n  ails logs path\n  ails logs delete 3f2a9c",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    logs.add_argument("-n", type=_count, default=20, help="how many (default 20; 0 for all)")
    logs.add_argument("--search", help="only conversations whose title or text holds this")
    logs.add_argument("--json", action="store_true", help="print JSON")
    logs.set_defaults(run=_list)
    actions = logs.add_subparsers(dest="action", metavar="ACTION")
    show = actions.add_parser("show", help="print one conversation (Markdown, or --json)")
    show.add_argument("id")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(run=_show)
    path = actions.add_parser("path", help="print where the history is kept")
    path.set_defaults(run=_path)
    delete = actions.add_parser("delete", help="delete one conversation")
    delete.add_argument("id")
    delete.set_defaults(run=_delete)
