"""The ``/commands`` of the interactive ``ails chat``: one small function each, in a table."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ails.domain.history import SUPERSEDED

if TYPE_CHECKING:
    from ails.cli.session import Session

__all__ = ["COMMANDS", "dispatch"]

#: A command gets the session and the text after its name; False leaves the session.
Handler = Callable[["Session", str], bool]


def _help(session: Session, rest: str) -> bool:
    lines = [f"  {name:<16}{text}" for name, (text, _) in COMMANDS.items()]
    lines.append('  """ ... """     a question of several lines (end a line with """)')
    lines.append("  Ctrl-C          stop the answer, or clear the line; Ctrl-D leaves")
    session.say("\n".join(lines))
    return True


def _new(session: Session, rest: str) -> bool:
    session.new_conversation()
    session.say(f"new conversation {session.conversation.id}")
    return True


def _system(session: Session, rest: str) -> bool:
    text = rest.strip()
    session.conversation.system = text or None
    session.say(f"system message: {text}" if text else "system message cleared")
    return True


def _history(session: Session, rest: str) -> bool:
    turns = session.conversation.messages
    if not turns:
        session.say("nothing said yet")
    for number, turn in enumerate(turns, start=1):
        if turn.complete:
            mark = ""
        elif turn.error == SUPERSEDED:
            mark = " [superseded by /retry]"
        else:
            mark = f" [incomplete{': ' + turn.error if turn.error else ''}]"
        first = turn.content.splitlines()[0] if turn.content else ""
        session.say(f"{number:>3} {turn.role.value:<9} {first[:70]}{mark}")
    return True


def _retry(session: Session, rest: str) -> bool:
    session.ask(lambda: session.conversation.retry(**session.options))
    return True


def _save(session: Session, rest: str) -> bool:
    name = rest.strip()
    if not name:
        session.say("give a file name: /save FILE.md")
        return True
    path = Path(name).expanduser()
    try:
        path.write_text(session.conversation.export("markdown"), encoding="utf-8")
    except OSError as exc:
        session.say(f"ails: cannot save to {path}: {exc.strerror or exc}")
    else:
        session.say(f"saved to {path}")
    return True


def _exit(session: Session, rest: str) -> bool:
    return False


COMMANDS: dict[str, tuple[str, Handler]] = {
    "/help": ("these commands", _help),
    "/new": ("start a new conversation", _new),
    "/system TEXT": ("set the system message (empty: none)", _system),
    "/history": ("show this conversation's messages", _history),
    "/retry": ("ask the last question again", _retry),
    "/save FILE": ("save this conversation as Markdown", _save),
    "/exit": ("leave (as Ctrl-D does)", _exit),
}
_BY_NAME = {name.split()[0]: handler for name, (_, handler) in COMMANDS.items()}


def dispatch(session: Session, line: str) -> bool:
    """Run the ``/command`` on ``line``; False when the session should end."""
    name, _, rest = line.strip().partition(" ")
    handler = _BY_NAME.get(name)
    if handler is None:
        session.say(f"unknown command {name}; /help lists them")
        return True
    return handler(session, rest)
