"""``ails chat`` and ``ails record``: stream one answer to stdout.

Tokens go to stdout as they arrive; ``record`` also saves the exchange as a
FakeServer fixture. The question is read by :mod:`ails.cli.question`; the
client, the conversation and the call's options come from
:mod:`ails.cli.chat_setup`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, cast

from ails.cli import options, request_flags
from ails.cli.chat_setup import call_options, client_options, conversation, tell_profile_change
from ails.cli.errors import CliError
from ails.cli.history import logging_enabled, open_store, saved_conversation, why_not_logging
from ails.cli.question import question
from ails.cli.render import MarkdownOutput, answer_output
from ails.cli.terminal import JsonLinesOutput, Spinner, TextOutput, completion_of, is_terminal
from ails.client import AsyncClient, Client
from ails.client.policies import Timeout
from ails.conversations.conversation import AsyncConversation, Conversation
from ails.domain.completion import Completion
from ails.domain.errors import AilsError
from ails.domain.history import DEFAULT_WINDOW
from ails.domain.messages import DEFAULT_MODEL, DEFAULT_TEMPERATURE
from ails.ports.http import AsyncTransport, Transport

if TYPE_CHECKING:
    from ails.testing.recording import RecordingTransport

__all__ = ["register"]


def _transport(args: argparse.Namespace) -> Transport | AsyncTransport:
    if args.transport == "aiohttp":
        from ails.transports.aiohttp_transport import AiohttpTransport

        return AiohttpTransport()
    from ails.transports.requests_transport import RequestsTransport

    return RequestsTransport()


def _recorder(args: argparse.Namespace) -> RecordingTransport | None:
    """For ``ails record``: the recording wrapper, its folder created now."""
    out = getattr(args, "out", None)
    if out is None:
        return None
    try:
        Path(out).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(
            f"cannot create the folder {out!r} for the recording: {exc.strerror or exc}"
        ) from None
    from ails.testing.recording import RecordingTransport

    return RecordingTransport(_transport(args), out)


def _tell_saved(ids: list[str]) -> None:
    # Only for a person at a terminal: stdout stays exactly the answer.
    if ids and is_terminal(sys.stderr):
        print(f"ails: saved as {ids[0][:12]}; go on with: ails chat -c", file=sys.stderr)


def _stream_answer(
    args: argparse.Namespace,
    text: str,
    transport: Transport | AsyncTransport,
    on_token: Callable[[str], None],
    on_saved: Callable[[str], None],
) -> Completion:
    """Ask one question through ``transport``; returns how the answer ended.

    ``on_saved`` gets the conversation's id when the exchange is saved.
    """
    store = open_store(args)
    try:
        saved = saved_conversation(args, store)
        tell_profile_change(args, saved)
        setup = client_options(args, saved)
        settings = call_options(args, saved, setup["profile"])
        log_to = store if logging_enabled(args) else None
        if args.transport == "requests":
            with Client(cast(Transport, transport), **setup) as client:
                conv = conversation(Conversation, client, args, saved, log_to)
                if log_to is not None:
                    on_saved(conv.id)
                with conv.stream(text, **settings) as stream:
                    for token in stream:
                        on_token(token)
                return completion_of(stream)

        async def run() -> Completion:
            async with AsyncClient(cast(AsyncTransport, transport), **setup) as client:
                conv = conversation(AsyncConversation, client, args, saved, log_to)
                if log_to is not None:
                    on_saved(conv.id)
                async with conv.stream(text, **settings) as stream:
                    async for token in stream:
                        on_token(token)
                return completion_of(stream)

        return asyncio.run(run())
    finally:
        if store is not None:
            store.close()


def _interactive(args: argparse.Namespace) -> int:
    if args.transport != "requests":
        raise CliError("the interactive session uses the requests transport; drop --transport")
    if args.json:
        raise CliError("--json is for one question at a time: give a message or pipe one")
    from ails.cli.commands import COMMANDS
    from ails.cli.prompt import reader_for
    from ails.cli.session import Session
    from ails.conversations.paths import INPUT_HISTORY_FILE, ails_home
    from ails.transports.requests_transport import RequestsTransport

    store = open_store(args)
    try:
        saved = saved_conversation(args, store)
        tell_profile_change(args, saved)
        unsaved = why_not_logging(args)
        saving = unsaved is None
        # What was typed is as private as the history: kept only when logging.
        history_file = ails_home() / INPUT_HISTORY_FILE if saving else None
        reader = reader_for(history_file, [name.split()[0] for name in COMMANDS])
        setup = client_options(args, saved)
        settings = call_options(args, saved, setup["profile"])
        with Client(RequestsTransport(), **setup) as client:
            conv = conversation(Conversation, client, args, saved, store if saving else None)
            session = Session(
                client,
                conv,
                reader=reader,
                out=sys.stdout,
                err=sys.stderr,
                options=settings,
                saving=saving,
                unsaved_reason=unsaved or "--no-log",
                raw=args.raw,
                files=tuple(args.file),
            )
            return session.run()
    finally:
        if store is not None:
            store.close()


def run(args: argparse.Namespace) -> int:
    """Stream one answer to stdout (``ails chat`` and ``ails record``).

    ``ails chat`` with no message on a terminal starts the interactive session.
    """
    if args.command == "chat" and args.message is None and sys.stdin.isatty():
        return _interactive(args)
    # Every mistake the user can fix is reported before the spinner starts
    # and before anything is sent (a question costs part of a daily quota).
    text = question(args)
    given = request_flags.given_options(args)
    if given and (args.profile or not (getattr(args, "cont", False) or getattr(args, "cid", None))):
        # The profile is known without the history: refuse before the spinner.
        # Going on with a saved one, call_options() refuses once it is read.
        request_flags.refuse_for(given, args.profile or "ails")
    recorder = _recorder(args)
    transport = recorder or _transport(args)
    output: JsonLinesOutput | TextOutput | MarkdownOutput
    if args.json:
        output = JsonLinesOutput(sys.stdout)
    else:
        output = answer_output(sys.stdout, notes=sys.stderr, raw=getattr(args, "raw", True))
    saved_ids: list[str] = []
    try:
        with Spinner(sys.stderr) as spinner:

            def on_token(token: str) -> None:
                spinner.stop()
                output.token(token)

            try:
                done = _stream_answer(args, text, transport, on_token, saved_ids.append)
            except (AilsError, KeyboardInterrupt) as error:
                spinner.stop()
                output.error(error)
                raise
        output.done(done, saved_ids[0] if saved_ids else None)
        _tell_saved(saved_ids)
    except OSError as exc:
        if recorder is None or isinstance(exc, BrokenPipeError):
            raise
        # The recording is written as the response closes, after the whole
        # answer was shown: end it as usual, then say what failed.
        output.done(Completion(text=""), saved_ids[0] if saved_ids else None)
        raise CliError(
            f"could not save the recording in {str(recorder.directory)!r}: {exc.strerror or exc}"
        ) from None
    finally:
        for path in [] if recorder is None else recorder.written:
            print(f"ails: recorded to {path}", file=sys.stderr)
    return 0


def conversation_options() -> argparse.ArgumentParser:
    """The options every command that asks a question shares (a parent parser)."""
    conversation = argparse.ArgumentParser(add_help=False)
    conversation.add_argument("message", nargs="?", help="the question (default: read stdin)")
    conversation.add_argument(
        "--base-url", help="server URL (default: $AILS_BASE_URL, else the Ails service)"
    )
    conversation.add_argument(
        "--model",
        help=f"the model to ask (default: a continued conversation's, else {DEFAULT_MODEL})",
    )
    conversation.add_argument("--temperature", type=float, default=DEFAULT_TEMPERATURE)
    conversation.add_argument("--system", help="a system message to send first")
    conversation.add_argument("--transport", choices=("requests", "aiohttp"), default="requests")
    conversation.add_argument(
        "--timeout", type=options.timeout, default=Timeout(), help="seconds (connect and idle)"
    )
    conversation.add_argument(
        "--profile",
        choices=("ails", "openai"),
        default=None,
        help="ails: the signed ai.ls browser profile; openai: any OpenAI-compatible API "
        "(default: a continued conversation's, else ails)",
    )
    conversation.add_argument("--api-key", help="API key (default: $AILS_API_KEY)")
    conversation.add_argument(
        "--json", action="store_true", help="one JSON line per event, for scripts"
    )
    conversation.add_argument(
        "--raw",
        action="store_true",
        help="write the answer's exact text on a terminal too (default there: rendered Markdown)",
    )
    conversation.add_argument(
        "-f",
        "--file",
        action="append",
        default=[],
        metavar="PATH",
        help="add this text file to the question (may be given several times)",
    )
    request_flags.add_request_flags(conversation)
    conversation.add_argument(
        "--window",
        type=window,
        default=DEFAULT_WINDOW,
        metavar="N",
        help=f"send the last N messages as context (default {DEFAULT_WINDOW}; all: the whole "
        "conversation)",
    )
    return conversation


def window(value: str) -> int | None:
    """``--window``: a whole number above 0, or ``all`` (``None``: the whole conversation)."""
    if value.strip().lower() == "all":
        return None
    return options.positive_int(value)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``ails chat`` and ``ails record`` to the command line."""
    conversation = conversation_options()
    chat = commands.add_parser(
        "chat",
        parents=[conversation],
        help="chat: one question, or an interactive session on a terminal",
        description="With a message (or one piped on stdin) the answer streams to stdout; "
        "with none, on a terminal, an interactive session starts. Every exchange is "
        "saved in the history (ails logs) unless --no-log or AILS_NO_LOG=1.",
        epilog="Examples:\n"
        "  ails chat --base-url http://127.0.0.1:8787\n"
        '  ails chat --base-url http://127.0.0.1:8787 "Привет! Как дела?"\n'
        '  ails chat --base-url http://127.0.0.1:8787 -c "and in Python?"\n'
        '  echo "2+2?" | ails chat --base-url http://127.0.0.1:8787 --json\n'
        "  ails chat --profile openai --base-url http://127.0.0.1:8000 --api-key sk-... hi\n"
        "Without --base-url (or $AILS_BASE_URL) the question goes to the real Ails\n"
        "service; `ails serve` runs an offline one on http://127.0.0.1:8787.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    chat.add_argument(
        "-c",
        "--continue",
        dest="cont",
        action="store_true",
        help="go on with the latest conversation",
    )
    chat.add_argument("--cid", metavar="ID", help="go on with this conversation (see ails logs)")
    chat.add_argument(
        "--no-log",
        action="store_true",
        help="do not save this conversation (also: AILS_NO_LOG=1)",
    )
    chat.set_defaults(run=run)

    record = commands.add_parser(
        "record",
        parents=[conversation],
        help="chat and save the exchange as a FakeServer fixture",
        epilog="Examples:\n"
        '  ails record "Привет!" --base-url http://127.0.0.1:8000 --out fixtures/\n'
        "  ails serve --fixtures fixtures/     (replays what was recorded)\n"
        "The client-id, signature and credentials are redacted from the files.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    record.add_argument("--out", required=True, help="folder for the fixture files")
    record.set_defaults(run=run, no_log=True)
