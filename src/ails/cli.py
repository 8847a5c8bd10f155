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
from collections.abc import Callable, Sequence
from datetime import timedelta, timezone, tzinfo
from typing import Any, cast

from ails._version import __version__
from ails.client import AsyncClient, Client
from ails.domain.errors import AilsError
from ails.domain.messages import DEFAULT_MODEL, DEFAULT_TEMPERATURE, Message
from ails.domain.signing import DEFAULT_SECRET, Signer
from ails.ports.http import AsyncTransport, Transport
from ails.terminal import JsonLinesOutput, Spinner, TextOutput
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
            raise _CliError(
                f'give a message, e.g. ails {args.command} "Привет!", or pipe one on stdin'
            )
        text = sys.stdin.read().strip()
        if not text:
            raise _CliError("stdin was empty; give a message")
    messages = [Message.system(args.system)] if args.system else []
    return [*messages, Message.user(text)]


def _transport(args: argparse.Namespace) -> Transport | AsyncTransport:
    transport: Transport | AsyncTransport
    if args.transport == "aiohttp":
        from ails.transports.aiohttp_transport import AiohttpTransport

        transport = AiohttpTransport()
    else:
        from ails.transports.requests_transport import RequestsTransport

        transport = RequestsTransport()
    if getattr(args, "out", None):
        from ails.testing.recording import RecordingTransport

        return RecordingTransport(transport, args.out)
    return transport


def _stream_answer(args: argparse.Namespace, on_token: Callable[[str], None]) -> int:
    """Stream the chat through the chosen transport; returns the token count."""
    messages = _messages(args)
    transport = _transport(args)
    options: dict[str, Any] = {
        "base_url": args.base_url,
        "timeout": args.timeout,
        "profile": args.profile,
        "api_key": args.api_key,
    }
    settings = {"model": args.model, "temperature": args.temperature}
    count = 0
    if args.transport == "requests":
        sync_transport = cast(Transport, transport)
        with (
            Client(sync_transport, **options) as client,
            client.stream(messages, **settings) as stream,
        ):
            for token in stream:
                count += 1
                on_token(token)
        return count

    async def run() -> int:
        async with (
            AsyncClient(cast(AsyncTransport, transport), **options) as client,
            client.stream(messages, **settings) as stream,
        ):
            count = 0
            async for token in stream:
                count += 1
                on_token(token)
            return count

    return asyncio.run(run())


def _cmd_chat(args: argparse.Namespace) -> int:
    output = JsonLinesOutput(sys.stdout) if args.json else TextOutput(sys.stdout)
    with Spinner(sys.stderr) as spinner:

        def on_token(token: str) -> None:
            spinner.stop()
            output.token(token)

        try:
            count = _stream_answer(args, on_token)
        except AilsError as error:
            spinner.stop()
            output.error(error)
            raise
    output.done(count)
    if getattr(args, "out", None):
        print(f"ails: recorded to {args.out}", file=sys.stderr)
    return 0


def _cmd_sign(args: argparse.Namespace) -> int:
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

    conversation = argparse.ArgumentParser(add_help=False)
    conversation.add_argument("message", nargs="?", help="the question (default: read stdin)")
    conversation.add_argument(
        "--base-url", help="server URL (default: $AILS_BASE_URL, else the Ails service)"
    )
    conversation.add_argument("--model", default=DEFAULT_MODEL)
    conversation.add_argument("--temperature", type=float, default=DEFAULT_TEMPERATURE)
    conversation.add_argument("--system", help="a system message to send first")
    conversation.add_argument("--transport", choices=("requests", "aiohttp"), default="requests")
    conversation.add_argument(
        "--timeout", type=_timeout, default=Timeout(), help="seconds (connect and idle)"
    )
    conversation.add_argument(
        "--profile",
        choices=("ails", "openai"),
        default="ails",
        help="ails: the signed ai.ls browser profile; openai: any OpenAI-compatible API",
    )
    conversation.add_argument("--api-key", help="API key (default: $AILS_API_KEY)")
    conversation.add_argument(
        "--json", action="store_true", help="one JSON line per event, for scripts"
    )

    chat = commands.add_parser(
        "chat",
        parents=[conversation],
        help="stream an answer to stdout",
        epilog="Examples:\n"
        '  ails chat --base-url http://127.0.0.1:8787 "Привет! Как дела?"\n'
        '  echo "2+2?" | ails chat --json\n'
        "  ails chat --profile openai --base-url http://127.0.0.1:8000 --api-key sk-... hi",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    chat.set_defaults(run=_cmd_chat)

    record = commands.add_parser(
        "record",
        parents=[conversation],
        help="chat and save the exchange as a FakeServer fixture",
        epilog="Example:\n"
        '  ails record "Привет!" --base-url http://127.0.0.1:8000 --out fixtures/\n'
        "The client-id, signature and credentials are redacted from the files.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    record.add_argument("--out", required=True, help="folder for the fixture files")
    record.set_defaults(run=_cmd_chat)

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
        print(f"ails: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        sys.stdout.flush()
        print("\nails: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
