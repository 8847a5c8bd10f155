"""The ``ails`` command: chat, sign, serve the fake server, and a demo.

Tokens go to stdout as they arrive; errors go to stderr as one line with a
non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from collections.abc import Sequence
from datetime import timedelta, timezone, tzinfo

from ails._version import __version__
from ails.client import AsyncClient, Client
from ails.domain.errors import AilsError
from ails.domain.messages import DEFAULT_MODEL, DEFAULT_TEMPERATURE, Message
from ails.domain.signing import Signer
from ails.timeouts import Timeout

__all__ = ["main"]

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


class _CliError(Exception):
    """A user mistake the CLI reports in one line."""


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
        raise _CliError(
            f"unknown time zone {value!r}; use UTC, +03:00 or a name like Europe/Moscow"
        ) from exc


def _messages(args: argparse.Namespace) -> list[Message]:
    text = args.message
    if text is None:
        if sys.stdin.isatty():
            raise _CliError('give a message, e.g. ails chat "Привет!", or pipe one on stdin')
        text = sys.stdin.read().strip()
        if not text:
            raise _CliError("stdin was empty; give a message")
    messages = [Message.system(args.system)] if args.system else []
    return [*messages, Message.user(text)]


def _cmd_chat(args: argparse.Namespace) -> int:
    messages = _messages(args)
    options = {"base_url": args.base_url, "timeout": args.timeout}
    if args.transport == "aiohttp":
        from ails.transports.aiohttp_transport import AiohttpTransport

        async def run() -> None:
            async with AsyncClient(AiohttpTransport(), **options) as client:
                stream = client.stream(messages, model=args.model, temperature=args.temperature)
                async with stream:
                    async for token in stream:
                        sys.stdout.write(token)
                        sys.stdout.flush()

        asyncio.run(run())
    else:
        from ails.transports.requests_transport import RequestsTransport

        with Client(RequestsTransport(), **options) as client:
            stream = client.stream(messages, model=args.model, temperature=args.temperature)
            with stream:
                for token in stream:
                    sys.stdout.write(token)
                    sys.stdout.flush()
    sys.stdout.write("\n")
    return 0


def _cmd_sign(args: argparse.Namespace) -> int:
    signer = Signer(length="python" if args.python_length else "utf16")
    kwargs = {"secret": args.secret} if args.secret else {}
    if kwargs:
        signer = Signer(secret=args.secret, length=signer.length)
    tz = parse_tz(args.tz) if args.tz else None
    signature = signer.sign(args.message, now_ms=args.timestamp, tz=tz)
    if args.json:
        print(json.dumps(signature.to_dict()))
    else:
        print(f"d={signature.d}\nt={signature.t}\ns={signature.s}")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from ails.testing.server import FakeServer

    server = FakeServer(
        port=args.port, fixtures_dir=args.fixtures, profile=args.profile, check=not args.no_check
    )
    try:
        with server:
            print(f"ails fake server on {server.url} ({len(server.fixtures)} fixtures)")
            print(f'try: ails chat --base-url {server.url} "Привет!"; Ctrl-C stops', flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from ails.demo import run_demo

    return run_demo(sys.stdout)


def _timeout(value: str) -> Timeout:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    return Timeout(connect=seconds, idle=seconds)


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

    chat = commands.add_parser("chat", help="stream an answer to stdout")
    chat.add_argument("message", nargs="?", help="the question (default: read stdin)")
    chat.add_argument("--base-url", help="server URL (default: $AILS_BASE_URL or the service)")
    chat.add_argument("--model", default=DEFAULT_MODEL)
    chat.add_argument("--temperature", type=float, default=DEFAULT_TEMPERATURE)
    chat.add_argument("--system", help="a system message to send first")
    chat.add_argument("--transport", choices=("requests", "aiohttp"), default="requests")
    chat.add_argument(
        "--timeout", type=_timeout, default=Timeout(), help="seconds (connect and idle)"
    )
    chat.set_defaults(run=_cmd_chat)

    sign = commands.add_parser("sign", help="print the d, t, s signature of a message")
    sign.add_argument("message")
    sign.add_argument("--timestamp", type=int, help="Unix time in ms (default: now)")
    sign.add_argument("--tz", help="time zone for d: UTC, +03:00, Europe/Moscow (default: local)")
    sign.add_argument("--secret", help="the signing key (default: the current ai.ls key)")
    sign.add_argument("--python-length", action="store_true", help="use len(m), as older ports did")
    sign.add_argument("--json", action="store_true", help="print one JSON object")
    sign.set_defaults(run=_cmd_sign)

    serve = commands.add_parser("serve", help="run the offline fake server")
    serve.add_argument("--port", type=int, default=8787)
    serve.add_argument("--fixtures", help="a folder of extra fixture files")
    serve.add_argument("--profile", choices=("ails", "openai"), default="ails")
    serve.add_argument("--no-check", action="store_true", help="accept requests unchecked")
    serve.set_defaults(run=_cmd_serve)

    demo = commands.add_parser("demo", help="stream a signed chat against the embedded fake server")
    demo.set_defaults(run=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except (AilsError, _CliError) as exc:
        sys.stdout.flush()
        print(f"\nails: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        sys.stdout.flush()
        print("\nails: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
