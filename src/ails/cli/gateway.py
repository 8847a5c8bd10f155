"""``ails gateway``: serve the OpenAI API on this machine, answered through ails.

It prints the base URL to give an OpenAI client, serves until Ctrl-C or
SIGTERM, then drains: open answers get ``--drain-timeout`` seconds to finish
before they are stopped, and the command exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

from ails.cli import options
from ails.cli.errors import CliError
from ails.client.clients import AsyncClient
from ails.client.policies import DEFAULT_TIMEOUT, RetryPolicy
from ails.domain.messages import DEFAULT_MODEL

__all__ = ["register"]


def _client(args: argparse.Namespace) -> AsyncClient:
    # Made (and so validated) before the socket opens: a bad --base-url or a
    # missing upstream key is a one-line error, not a failed startup.
    from ails.transports.aiohttp_transport import AiohttpTransport

    return AsyncClient(
        # The gateway bounds its streams itself (--max-streams): the
        # connector's own default of 100 would cap a larger --max-streams.
        transport=AiohttpTransport(max_connections=args.max_streams),
        # A 429 goes to the client at once, with its Retry-After: waiting it
        # out here would hold the client for nothing, and its SDK retries too.
        max_retries=RetryPolicy(retry_rate_limits=False),
        base_url=args.base_url,
        profile=args.profile,
        api_key=args.api_key_upstream,
        timeout=DEFAULT_TIMEOUT if args.timeout is None else args.timeout,
        log_bodies=args.log_bodies,
    )


def _log_to_stderr(quiet: bool) -> None:
    """The one event per request (and per upstream completion) as lines on stderr."""
    if quiet:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logger = logging.getLogger("ails")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def run(args: argparse.Namespace) -> int:
    """Serve the gateway until a signal; returns 0 after draining."""
    from ails.gateway.app import create_app
    from ails.gateway.connections import ConnectionLimits
    from ails.gateway.limits import loopback_only, raise_fd_limit
    from ails.gateway.runner import serve

    key = args.require_key or os.environ.get("AILS_GATEWAY_KEY") or None
    if not loopback_only(args.host) and key is None:
        raise CliError(
            f"refusing to listen on {args.host} without --require-key: anyone who can reach it "
            "could spend your quota; set AILS_GATEWAY_KEY=KEY (or pass --require-key KEY), "
            "or use 127.0.0.1"
        )
    client = _client(args)
    app = create_app(
        lambda: client,
        models=args.model or [DEFAULT_MODEL],
        require_key=key,
        max_body_bytes=args.max_body_bytes,
        max_streams=args.max_streams,
        drain_timeout=args.drain_timeout,
        drop_unsupported=args.drop_unsupported,
        stream_wait=args.stream_wait,
        allow_hosts=args.allow_host or (),
        allow_origins=args.allow_origin or (),
        limits=ConnectionLimits(
            head_timeout=args.head_timeout,
            body_timeout=args.body_timeout,
            idle_timeout=args.idle_timeout,
            max_connections=args.max_connections,
        ),
    )
    if not args.no_page:
        from ails.page import add_page

        add_page(app)
    _log_to_stderr(args.quiet)
    raise_fd_limit()  # each socket is a file: 1024 would stop answers at ~1000 clients

    def ready(url: str) -> None:
        print(f"ails gateway: OpenAI-compatible API at {url}", flush=True)
        if not args.no_page:
            print(
                f"  chat page at {url.removesuffix('/v1')}/ (history: ails logs path)", flush=True
            )
        print(f"  OPENAI_BASE_URL={url} OPENAI_API_KEY={'<your key>' if key else 'any'}")
        print("  Ctrl-C stops (open answers get to finish first)", flush=True)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, stop.set)
        await serve(app, host=args.host, port=args.port, stop=stop, on_ready=ready)

    try:
        asyncio.run(main())
    except OSError as exc:  # the port is taken, the address is not ours
        raise CliError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    print("ails gateway: stopped", file=sys.stderr, flush=True)
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``ails gateway`` to the command line."""
    gateway = commands.add_parser(
        "gateway",
        help="serve an OpenAI-compatible API answered through ails",
        epilog="Examples:\n"
        "  ails serve &    # the offline fake server, on 127.0.0.1:8787\n"
        "  ails gateway --base-url http://127.0.0.1:8787\n"
        "  OPENAI_BASE_URL=http://127.0.0.1:8788/v1 OPENAI_API_KEY=any your-openai-tool\n"
        "  AILS_GATEWAY_KEY=s3cret ails gateway --host 0.0.0.0 --base-url http://127.0.0.1:8787\n"
        "  AILS_API_KEY=sk-... ails gateway --profile openai --base-url http://127.0.0.1:8000\n"
        "Without --base-url (or $AILS_BASE_URL) it forwards to the real Ails service.\n"
        "Keys come from the environment so that they do not show in `ps`.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    gateway.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    gateway.add_argument(
        "--port", type=options.port, default=8788, help="port (default: 8788; 0: any free one)"
    )
    gateway.add_argument(
        "--base-url", help="upstream server (default: $AILS_BASE_URL, else the Ails service)"
    )
    gateway.add_argument(
        "--profile",
        choices=("ails", "openai"),
        default="ails",
        help="how to talk upstream: ails (signed, the default) or openai",
    )
    gateway.add_argument(
        "--api-key-upstream",
        metavar="KEY",
        help="the upstream's API key, openai profile (default: $AILS_API_KEY, which keeps "
        "it out of `ps`)",
    )
    gateway.add_argument(
        "--require-key",
        metavar="KEY",
        help="clients must send Authorization: Bearer KEY (default: $AILS_GATEWAY_KEY, which "
        "keeps it out of `ps`); required to listen beyond this machine",
    )
    gateway.add_argument(
        "--model",
        action="append",
        help="a model GET /v1/models lists (repeat for more; default: gpt-3.5-turbo)",
    )
    gateway.add_argument(
        "--timeout",
        type=options.timeout,
        metavar="SECONDS",
        help="upstream connect and idle seconds (default: connect 10, idle 60)",
    )
    gateway.add_argument(
        "--max-streams",
        type=options.positive_int,
        default=64,
        metavar="N",
        help="concurrent upstream streams (default: 64; beyond, a request waits "
        "--stream-wait seconds for one, then gets a 429)",
    )
    gateway.add_argument(
        "--stream-wait",
        type=options.seconds,
        default=30.0,
        metavar="SECONDS",
        help="how long a request beyond --max-streams waits for a stream (default: 30)",
    )
    gateway.add_argument(
        "--allow-host",
        action="append",
        metavar="NAME",
        help="also answer requests for this Host name (repeat for more; default: only "
        "localhost, the loopback addresses, this machine's name and --host)",
    )
    gateway.add_argument(
        "--allow-origin",
        action="append",
        metavar="ORIGIN",
        help="let web pages from this origin call the gateway, e.g. http://localhost:3000 "
        "(repeat for more; '*' for any; default: none)",
    )
    gateway.add_argument(
        "--head-timeout",
        type=options.seconds,
        default=10.0,
        metavar="SECONDS",
        help="a request's head must arrive whole within this (default: 10)",
    )
    gateway.add_argument(
        "--body-timeout",
        type=options.seconds,
        default=30.0,
        metavar="SECONDS",
        help="a request's body must arrive whole within this (default: 30; 408 beyond)",
    )
    gateway.add_argument(
        "--idle-timeout",
        type=options.seconds,
        default=15.0,
        metavar="SECONDS",
        help="an idle keep-alive connection is closed after this (default: 15)",
    )
    gateway.add_argument(
        "--max-connections",
        type=options.positive_int,
        default=1000,
        metavar="N",
        help="open client connections (default: 1000; beyond, a 503 and closed)",
    )
    gateway.add_argument(
        "--max-body-bytes",
        type=options.positive_int,
        default=1024 * 1024,
        metavar="N",
        help="largest request body in bytes (default: 1048576; 400 beyond)",
    )
    gateway.add_argument(
        "--drain-timeout",
        type=options.seconds,
        default=10.0,
        metavar="SECONDS",
        help="seconds open answers get to finish on shutdown (default: 10)",
    )
    gateway.add_argument(
        "--drop-unsupported",
        action="store_true",
        help="with the ails profile: ignore options it cannot send (max_tokens, stop, ...) "
        "instead of answering 400",
    )
    gateway.add_argument(
        "--log-bodies",
        action="store_true",
        help="log the messages and answers too (off: never any contents)",
    )
    gateway.add_argument(
        "--no-page",
        action="store_true",
        help="do not serve the chat page at / (the API under /v1 only)",
    )
    gateway.add_argument("--quiet", action="store_true", help="no per-request log lines")
    gateway.set_defaults(run=run)
