"""The ``/commands`` of the interactive ``ails chat``: one small function each, in a table."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ails.conversations.export import describe_error
from ails.domain.history import SUPERSEDED, last_input
from ails.domain.messages import DEFAULT_MODEL

if TYPE_CHECKING:
    from ails.cli.session import Session

__all__ = ["COMMANDS", "CommandAction", "dispatch"]

#: What a ``/command`` does: it gets the session and the text after its name,
#: and returns False to leave the session.
CommandAction = Callable[["Session", str], bool]


def _help(session: Session, rest: str) -> bool:
    lines = [f"  {name:<16}{text}" for name, (text, _) in COMMANDS.items()]
    lines.append('  """ ... """     a question of several lines (a paste is one question too)')
    lines.append("  Alt-Enter       a new line in the question; Tab completes a /command")
    lines.append("  Ctrl-C          stop the answer, or clear the line; Ctrl-D leaves")
    session.say("\n".join(lines))
    return True


def _new(session: Session, rest: str) -> bool:
    session.new_conversation()
    session.say(f"new conversation {session.conversation.id}")
    return True


def _system(session: Session, rest: str) -> bool:
    text = rest.strip()
    had = session.conversation.system
    session.conversation.system = text or None
    if text:
        session.say(f"system message: {text}")
    else:
        session.say("system message cleared" if had else "there was no system message")
    return True


def _model(session: Session, rest: str) -> bool:
    name = rest.strip()
    if name:
        session.options["model"] = name
        session.say(f"model: {name} from the next question on")
    else:
        session.say(
            f"model: {session.options.get('model', DEFAULT_MODEL)} (change it with /model NAME)"
        )
    return True


def _window(session: Session, rest: str) -> bool:
    from ails.cli.session import window_text

    value = rest.strip().lower()
    if value:
        if value == "all":
            session.conversation.window = None
        elif value.isdigit() and int(value) > 0:
            session.conversation.window = int(value)
        else:
            session.say("give how many messages to send, such as /window 10, or /window all")
            return True
    session.say(f"each question goes with {window_text(session.conversation.window)}")
    return True


def _file(session: Session, rest: str) -> bool:
    path = rest.strip()
    if not path:
        session.say("give a file: /file PATH (it goes with the next question)")
    elif session.add_file(path):
        session.say(f"{path} goes with the next question")
    return True


def _edit(session: Session, rest: str) -> bool:
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.TemporaryDirectory(prefix="ails-") as folder:
        draft = Path(folder) / "question.md"
        draft.write_text(rest, encoding="utf-8")
        try:
            subprocess.run([*shlex.split(editor), str(draft)], check=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            session.say(f"ails: the editor {editor!r} failed ({exc}); set EDITOR to another")
            return True
        text = draft.read_text(encoding="utf-8")
    if not text.strip():
        session.say("the question was empty: nothing sent")
        return True
    session.send(text)
    return True


def _history(session: Session, rest: str) -> bool:
    turns = session.conversation.messages
    system = session.conversation.system
    if system:
        first = system.splitlines()[0]
        session.say(f"    system    {first[:70]}")
    if not turns:
        session.say("nothing said yet")
    for number, turn in enumerate(turns, start=1):
        if turn.complete:
            mark = ""
        elif turn.error == SUPERSEDED:
            mark = " [superseded by /retry]"
        else:
            why = describe_error(turn.error)
            mark = f" [incomplete{': ' + why if why else ''}]"
        first = turn.content.splitlines()[0] if turn.content else ""
        session.say(f"{number:>3} {turn.role.value:<9} {first[:70]}{mark}")
    return True


def _retry(session: Session, rest: str) -> bool:
    try:
        last_input(session.conversation.messages)
    except ValueError:
        session.say("nothing to retry yet: ask a question first")
        return True
    session.ask(lambda: session.conversation.retry(**session.options))
    return True


def _save(session: Session, rest: str) -> bool:
    name = rest.strip()
    if not name:
        session.say("give a file name: /save FILE.md")
        return True
    path = Path(name).expanduser()
    try:
        # As private as the history it comes from: 0600, whatever the umask.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with open(fd, "w", encoding="utf-8") as file:
            file.write(session.conversation.export("markdown"))
    except OSError as exc:
        session.say(f"ails: cannot save to {path}: {exc.strerror or exc}")
    else:
        session.say(f"saved to {path}")
    return True


def _exit(session: Session, rest: str) -> bool:
    return False


COMMANDS: dict[str, tuple[str, CommandAction]] = {
    "/help": ("these commands", _help),
    "/new": ("start a new conversation", _new),
    "/system TEXT": ("set the system message (empty: none)", _system),
    "/model NAME": ("ask this model from now on (empty: show it)", _model),
    "/window N": ("send the last N messages as context (all: every one)", _window),
    "/file PATH": ("add a text file to the next question", _file),
    "/edit": ("write the next question in $EDITOR", _edit),
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
