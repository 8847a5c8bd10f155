"""The one error type the command line raises for a user's mistake."""

from __future__ import annotations

__all__ = ["EXIT_ERROR", "EXIT_INTERRUPTED", "CliError"]

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """A user mistake the CLI reports in one line."""
