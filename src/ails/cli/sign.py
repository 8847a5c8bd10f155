"""``ails sign``: print the d, t, s signature of a message."""

from __future__ import annotations

import argparse
import json
from datetime import tzinfo

from ails.domain.errors import ValidationError
from ails.domain.signing import DEFAULT_SECRET, Signer
from ails.domain.timezones import TZ_SPELLINGS, parse_tz

__all__ = ["register"]


def time_zone(value: str) -> tzinfo:
    """``--tz``: the spellings :func:`ails.domain.timezones.parse_tz` accepts."""
    try:
        return parse_tz(value)
    except ValidationError as exc:
        # argparse then reports it as a usage error on --tz, with the hint.
        raise argparse.ArgumentTypeError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    """Print the signature of ``args.message``."""
    signer = Signer(
        secret=args.secret or DEFAULT_SECRET, length="python" if args.python_length else "utf16"
    )
    signature = signer.sign(args.message, now_ms=args.timestamp, tz=args.tz)
    if args.json:
        print(json.dumps(signature.to_dict()))
    else:
        print(f"d={signature.d}\nt={signature.t}\ns={signature.s}")
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``ails sign`` to the command line."""
    sign = commands.add_parser(
        "sign",
        help="print the d, t, s signature of a message",
        epilog="Examples:\n"
        '  ails sign "Привет" --timestamp 1700000000000 --tz UTC\n'
        '  ails sign "hi😀" --tz Europe/Moscow --json\n'
        "Nothing is sent: the signature is computed locally.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sign.add_argument("message")
    sign.add_argument("--timestamp", type=int, help="Unix time in ms (default: now)")
    sign.add_argument(
        "--tz", type=time_zone, help=f"time zone for d: {TZ_SPELLINGS} (default: local)"
    )
    sign.add_argument("--secret", help="the signing key (default: the current ai.ls key)")
    sign.add_argument("--python-length", action="store_true", help="use len(m), as older ports did")
    sign.add_argument("--json", action="store_true", help="print one JSON object")
    sign.set_defaults(run=run)
