"""What one question says: the message, what stdin pipes in, and each ``-f`` file.

Used by ``ails chat`` and ``ails record``; an empty question is refused
(``CliError``) before anything is sent.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys

from ails.cli.attachments import attach, read_file
from ails.cli.errors import CliError
from ails.cli.terminal import is_terminal

__all__ = ["question"]


def _piped_stdin() -> str | None:
    """What a pipe or a file on stdin holds; ``None`` for a terminal, ``/dev/null``, no stdin."""
    stdin = sys.stdin
    if stdin is None or is_terminal(stdin):
        return None
    try:
        mode = os.fstat(stdin.fileno()).st_mode
    except (AttributeError, OSError, ValueError):  # not a file: a stream put in its place
        mode = stat.S_IFIFO
    if not (stat.S_ISFIFO(mode) or stat.S_ISREG(mode)):
        return None
    try:
        return stdin.read()
    except (OSError, ValueError):  # closed, or a stand-in that refuses to be read
        return None


def question(args: argparse.Namespace) -> str:
    """The message, then what stdin pipes in, then each ``-f`` file; empty is refused."""
    example = f'e.g. ails {args.command} "Привет!"'
    message: str | None = args.message
    if message is not None and not message.strip():
        raise CliError(f"the message is empty; give a question, {example}")
    piped = _piped_stdin()
    if message is None and piped is None and is_terminal(sys.stdin) and not args.file:
        raise CliError(f"give a message, {example}, or pipe one on stdin")
    parts = [part for part in (message, piped) if part is not None and part.strip()]
    parts = [part.strip() for part in parts]
    parts += [attach(path, read_file(path)) for path in args.file]
    if not parts:
        raise CliError(f"stdin was empty; give a message, {example}")
    return "\n\n".join(parts)
