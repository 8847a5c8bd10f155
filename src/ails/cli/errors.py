"""The one error type the command line raises for a user's mistake, and the exit codes."""

from __future__ import annotations

__all__ = ["EXIT_BROKEN_PIPE", "EXIT_ERROR", "EXIT_INTERRUPTED", "CliError"]

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130
#: 128 + SIGPIPE: what a shell reports for ``cat`` when the reader of its pipe left.
EXIT_BROKEN_PIPE = 141


class CliError(Exception):
    """A user mistake the CLI reports in one line, as ``ails: error: <message>``."""
