"""The ``ails`` command: parse the arguments and dispatch to one subcommand module.

Each subcommand lives in its own module with a ``register()`` that adds its
parser. Errors go to stderr as one line with a non-zero exit status, never a
traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ails._version import __version__
from ails.cli import chat, demo, gateway, logs, serve, sign
from ails.cli.errors import EXIT_BROKEN_PIPE, EXIT_ERROR, EXIT_INTERRUPTED, CliError
from ails.cli.terminal import for_stream
from ails.domain.errors import AilsError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``ails`` command."""
    parser = argparse.ArgumentParser(
        prog="ails",
        description="Streaming chat completions over the Ails protocol.",
        epilog="Examples:\n  ails demo\n  ails serve --port 8787\n"
        "  ails gateway --base-url http://127.0.0.1:8787\n"
        '  ails chat --base-url http://127.0.0.1:8787 "Привет! Как дела?"\n'
        '  ails sign "Привет" --timestamp 1700000000000 --tz UTC --json',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"ails {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (chat, logs, sign, serve, gateway, demo):
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except AilsError as exc:
        # The public error class says what kind of failure it was (docs/errors.md).
        _report(f"{type(exc).__name__}: {exc}")
        return EXIT_ERROR
    except CliError as exc:
        _report(f"error: {exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        _report("interrupted", on_new_line=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader left (``ails chat ... | head``): stop quietly, as cat does.
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    return status


def _report(message: str, *, on_new_line: bool = False) -> None:
    """One line on stderr, after whatever the answer left on stdout."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    start = "\n" if on_new_line else ""
    # The message may quote the server's body: no escape sequences on a terminal.
    print(for_stream(f"{start}ails: {message}", sys.stderr), file=sys.stderr)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # not a real file (tests capture stdout)
        pass
