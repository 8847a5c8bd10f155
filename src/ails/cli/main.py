"""The ``ails`` command: parse the arguments and dispatch to one subcommand module.

Each subcommand lives in its own module with a ``register()`` that adds its
parser. Errors go to stderr as one line with a non-zero exit status, never a
traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ails._version import __version__
from ails.cli import chat, demo, logs, serve, sign
from ails.cli.errors import EXIT_ERROR, EXIT_INTERRUPTED, CliError
from ails.cli.terminal import for_stream
from ails.domain.errors import AilsError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``ails`` command."""
    parser = argparse.ArgumentParser(
        prog="ails",
        description="Streaming chat completions over the Ails protocol.",
        epilog="Examples:\n  ails demo\n  ails serve --port 8787\n"
        '  ails chat --base-url http://127.0.0.1:8787 "Привет! Как дела?"\n'
        '  ails sign "Привет" --timestamp 1700000000000 --tz UTC --json',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"ails {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (chat, logs, sign, serve, demo):
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except (AilsError, CliError) as exc:
        sys.stdout.flush()
        # The message may quote the server's body: no escape sequences on a terminal.
        print(for_stream(f"ails: {type(exc).__name__}: {exc}", sys.stderr), file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        sys.stdout.flush()
        print("\nails: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return status
