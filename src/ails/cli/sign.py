"""``ails sign``: print the d, t, s signature of a message."""

from __future__ import annotations

import argparse
import json
import re
from datetime import timedelta, timezone, tzinfo

from ails.cli.errors import CliError
from ails.domain.signing import DEFAULT_SECRET, Signer

__all__ = ["parse_tz", "register"]


def parse_tz(value: str) -> tzinfo:
    """``UTC``, ``+03:00``/``-0530``, or an IANA name such as ``Europe/Moscow``."""
    if value.upper() in ("UTC", "Z"):
        return timezone.utc
    offset = re.fullmatch(r"([+-])(\d{1,2}):?(\d{2})?", value)
    if offset:
        sign = 1 if offset.group(1) == "+" else -1
        delta = timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3) or 0))
        return timezone(sign * delta)
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(value)
    except Exception as exc:  # zoneinfo raises several unrelated types
        raise CliError(
            f"unknown time zone {value!r}; use UTC, +03:00 or a name like Europe/Moscow"
        ) from exc


def run(args: argparse.Namespace) -> int:
    """Print the signature of ``args.message``."""
    signer = Signer(
        secret=args.secret or DEFAULT_SECRET, length="python" if args.python_length else "utf16"
    )
    tz = parse_tz(args.tz) if args.tz else None
    signature = signer.sign(args.message, now_ms=args.timestamp, tz=tz)
    if args.json:
        print(json.dumps(signature.to_dict()))
    else:
        print(f"d={signature.d}\nt={signature.t}\ns={signature.s}")
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``ails sign`` to the command line."""
    sign = commands.add_parser("sign", help="print the d, t, s signature of a message")
    sign.add_argument("message")
    sign.add_argument("--timestamp", type=int, help="Unix time in ms (default: now)")
    sign.add_argument("--tz", help="time zone for d: UTC, +03:00, Europe/Moscow (default: local)")
    sign.add_argument("--secret", help="the signing key (default: the current ai.ls key)")
    sign.add_argument("--python-length", action="store_true", help="use len(m), as older ports did")
    sign.add_argument("--json", action="store_true", help="print one JSON object")
    sign.set_defaults(run=run)
