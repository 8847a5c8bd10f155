"""``ails logs``: list, show, locate and delete saved conversations."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any
from urllib.parse import urlsplit

from ails.cli.errors import CliError
from ails.cli.history import existing_store
from ails.cli.terminal import for_stream, is_terminal
from ails.conversations.export import info_to_dict, short_time
from ails.conversations.paths import history_path
from ails.conversations.saved import MATCH_END, MATCH_START, ConversationInfo, SearchHit
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


def _server(url: str | None) -> str:
    """A stored server URL as the list shows it: its host (and port)."""
    if not url:
        return "?"
    return urlsplit(url).netloc or url


def _list(args: argparse.Namespace) -> int:
    if args.query is not None:
        return _search(args)
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
        mark = "  [failed]" if info.failed else ""
        line = (
            f"{info.id[:12]}  {short_time(info.updated)}  {info.turns:>3}  "
            f"{info.model or '?'}  {_server(info.base_url)}  {info.title or '(untitled)'}{mark}"
        )
        print(for_stream(line, sys.stdout))
    return 0


def _hit_to_dict(hit: SearchHit) -> dict[str, object]:
    return {
        "conversation_id": hit.conversation_id,
        "title": hit.title,
        "seq": hit.seq,
        "role": hit.role,
        "snippet": hit.marked("", ""),
        "rank": hit.rank,
        "updated": short_time(hit.updated),
    }


def _search(args: argparse.Namespace) -> int:
    store = existing_store()
    hits: list[SearchHit] = []
    if store is not None:
        with store:
            hits = store.search(args.query, limit=args.n or 1_000_000)
    if args.json:
        print(json.dumps([_hit_to_dict(hit) for hit in hits], ensure_ascii=False, indent=2))
        return 0
    if not hits:
        print(f"no message holds {args.query!r}")
        return 0
    terminal = is_terminal(sys.stdout)
    # Bold on a terminal; elsewhere the words stand between brackets.
    start, end = ("\x1b[1m", "\x1b[22m") if terminal else ("[", "]")
    for hit in hits:
        head = (
            f"{hit.conversation_id[:12]}  {short_time(hit.updated)}  "
            f"#{hit.seq} {hit.role}  {hit.title or '(untitled)'}"
        )
        print(for_stream(head, sys.stdout))
        snippet = (
            for_stream(hit.snippet.replace("\n", " "), sys.stdout) if terminal else hit.snippet
        )
        print("    " + snippet.replace(MATCH_START, start).replace(MATCH_END, end))
    return 0


def _show(args: argparse.Namespace) -> int:
    with _store_for("show", args.id or "latest") as store:
        if args.id is None:
            latest = store.list(limit=1)
            if not latest:
                raise CliError("there is no conversation to show yet; start one with ails chat")
            args.id = latest[0].id
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


def _list_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-n", type=_count, default=20, help="how many (default 20; 0 for all)")
    parser.add_argument(
        "-q",
        "--query",
        metavar="WORDS",
        help="search every message for these words (full text, ranked; any case, any script)",
    )
    parser.add_argument("--search", help="only conversations whose title or text holds this")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=_list)


def _examples(*lines: str) -> dict[str, Any]:
    return {
        "epilog": "Examples:\n" + "\n".join(f"  {line}" for line in lines),
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``ails logs`` to the command line."""
    logs = commands.add_parser(
        "logs",
        help="list, search, show or delete saved conversations",
        description="The conversations ails chat saved (newest first). An ID may be "
        "shortened to any unique prefix, as ails logs prints it. Times are in UTC.",
        **_examples(
            "ails logs -n 5",
            "ails logs -q привет",
            "ails logs --search python --json",
            "ails logs show",
            "ails logs show 3f2a9c",
            "ails logs path",
            "ails logs delete 3f2a9c",
        ),
    )
    _list_options(logs)
    actions = logs.add_subparsers(dest="action", metavar="ACTION")
    listing = actions.add_parser(
        "list",
        help="list the conversations (as ails logs does)",
        **_examples("ails logs list -n 5", "ails logs list -q 'sorted list'"),
    )
    _list_options(listing)
    show = actions.add_parser(
        "show",
        help="print one conversation (Markdown, or --json); the latest without an ID",
        **_examples("ails logs show", "ails logs show 3f2a9c", "ails logs show 3f2a9c --json"),
    )
    show.add_argument("id", nargs="?", help="the conversation (default: the latest)")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(run=_show)
    path = actions.add_parser(
        "path",
        help="print where the history is kept",
        **_examples("ails logs path", 'sqlite3 "$(ails logs path)" .tables'),
    )
    path.set_defaults(run=_path)
    delete = actions.add_parser(
        "delete",
        help="delete one conversation",
        **_examples(
            "ails logs delete 3f2a9c", "ails logs delete $(ails logs --json -n 1 | jq -r '.[0].id')"
        ),
    )
    delete.add_argument("id")
    delete.set_defaults(run=_delete)
