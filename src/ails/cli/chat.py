"""``ails chat`` and ``ails record``: stream one answer to stdout.

Tokens go to stdout as they arrive; ``record`` also saves the exchange as a
FakeServer fixture.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from typing import Any, cast

from ails.cli.errors import CliError
from ails.cli.terminal import Ending, JsonLinesOutput, Spinner, TextOutput
from ails.client import AsyncClient, Client
from ails.client.timeouts import Timeout
from ails.domain.errors import AilsError
from ails.domain.messages import DEFAULT_MODEL, DEFAULT_TEMPERATURE, Message
from ails.ports.http import AsyncTransport, Transport

__all__ = ["register"]


def _messages(args: argparse.Namespace) -> list[Message]:
    text = args.message
    if text is None:
        if sys.stdin.isatty():
            raise CliError(
                f'give a message, e.g. ails {args.command} "Привет!", or pipe one on stdin'
            )
        text = sys.stdin.read().strip()
        if not text:
            raise CliError("stdin was empty; give a message")
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


def _stream_answer(args: argparse.Namespace, on_token: Callable[[str], None]) -> Ending:
    """Stream the chat through the chosen transport; returns how the answer ended."""
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
        return Ending.of(stream, count)

    async def run() -> Ending:
        async with (
            AsyncClient(cast(AsyncTransport, transport), **options) as client,
            client.stream(messages, **settings) as stream,
        ):
            count = 0
            async for token in stream:
                count += 1
                on_token(token)
        return Ending.of(stream, count)

    return asyncio.run(run())


def run(args: argparse.Namespace) -> int:
    """Stream one answer to stdout (``ails chat`` and ``ails record``)."""
    output = JsonLinesOutput(sys.stdout) if args.json else TextOutput(sys.stdout, notes=sys.stderr)
    with Spinner(sys.stderr) as spinner:

        def on_token(token: str) -> None:
            spinner.stop()
            output.token(token)

        try:
            ending = _stream_answer(args, on_token)
        except AilsError as error:
            spinner.stop()
            output.error(error)
            raise
    output.done(ending)
    if getattr(args, "out", None):
        print(f"ails: recorded to {args.out}", file=sys.stderr)
    return 0


def _timeout(value: str) -> Timeout:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    return Timeout(connect=seconds, idle=seconds)


def conversation_options() -> argparse.ArgumentParser:
    """The options every command that asks a question shares (a parent parser)."""
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
    return conversation


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``ails chat`` and ``ails record`` to the command line."""
    conversation = conversation_options()
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
    chat.set_defaults(run=run)

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
    record.set_defaults(run=run)
