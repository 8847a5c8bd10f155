"""Argument types several subcommands share: a port, a count, seconds, a timeout.

Each raises ``argparse.ArgumentTypeError`` with a message that says what to
give instead, so a bad value is a one-line usage error, never a traceback
(``--port 99999`` used to reach ``bind()`` and raise ``OverflowError``).
"""

from __future__ import annotations

import argparse
import math

from ails.client.policies import Timeout

__all__ = ["port", "positive_int", "seconds", "timeout"]


def port(value: str) -> int:
    """A TCP port, 0 (any free port) to 65535."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(
            f"port {number} is out of range; use 1 to 65535, or 0 for any free port"
        )
    return number


def positive_int(value: str) -> int:
    """A whole number above 0."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(
            f"expected a whole number above 0, such as 8; got {value!r}"
        )
    return number


def seconds(value: str) -> float:
    """A positive, finite number of seconds."""
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not 0 < number < math.inf:
        raise argparse.ArgumentTypeError(
            f"expected a positive number of seconds, such as 30 or 2.5; got {value!r}"
        )
    return number


def timeout(value: str) -> Timeout:
    """Seconds for both the connect and the idle timeout (the total stays off)."""
    limit = seconds(value)
    return Timeout(connect=limit, idle=limit)
