"""``ails serve``: run the offline fake server until Ctrl-C."""

from __future__ import annotations

import argparse
import errno
import sys
import time
from pathlib import Path

from ails.cli import options
from ails.cli.errors import CliError

__all__ = ["register"]


def run(args: argparse.Namespace) -> int:
    """Serve the fixtures on 127.0.0.1 until interrupted."""
    from ails.testing.fixtures import FixtureError
    from ails.testing.server import FakeServer

    try:
        server = FakeServer(
            port=args.port,
            fixtures_dir=args.fixtures,
            profile=args.profile,
            api_key=args.api_key,
            check=not args.no_check,
        )
        server.start()
    except FixtureError as exc:
        hint = (
            "; the format is in docs/testing.md#the-fixture-format"
            if Path(args.fixtures).is_dir()
            else ""
        )
        raise CliError(f"{exc}{hint}") from None
    except OSError as exc:
        raise CliError(_bind_failure(args.port, exc)) from None
    try:
        print(f"ails fake server on {server.url} ({len(server.fixtures)} fixtures)")
        print(f"try: {_example(server.url, args)}\nCtrl-C stops", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        server.stop()
    return 0


def _example(url: str, args: argparse.Namespace) -> str:
    """A chat command that the server just started will accept, and what it checks."""
    if args.profile != "openai":
        return f'ails chat --base-url {url} "Привет!"'
    key = args.api_key or "any-key"
    accepts = (
        f"the fake server accepts only the API key {args.api_key}"
        if args.api_key
        else "the fake server accepts any API key; ails serve --api-key KEY requires one"
    )
    return f'ails chat --profile openai --api-key {key} --base-url {url} "Hello!"\n  ({accepts})'


def _bind_failure(port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"port {port} on 127.0.0.1 is already in use (another ails serve?); "
            "pick another with --port N, or --port 0 for any free port"
        )
    if exc.errno == errno.EACCES:
        return f"not allowed to listen on port {port}; use a port above 1023"
    return f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``ails serve`` to the command line."""
    serve = commands.add_parser(
        "serve",
        help="run the offline fake server",
        epilog="Examples:\n"
        "  ails serve --port 8787\n"
        '  ails chat --base-url http://127.0.0.1:8787 "Привет!"     (in another shell)\n'
        "  ails serve --fixtures fixtures/ --port 0\n"
        "  ails serve --profile openai --api-key sk-test\n"
        "It listens on 127.0.0.1 only and never calls the real service.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument(
        "--port", type=options.port, default=8787, help="port on 127.0.0.1 (0: any free port)"
    )
    serve.add_argument("--fixtures", help="a folder of extra fixture files")
    serve.add_argument("--profile", choices=("ails", "openai"), default="ails")
    serve.add_argument(
        "--api-key", help="with --profile openai: the only key accepted (default: any key)"
    )
    serve.add_argument("--no-check", action="store_true", help="accept requests unchecked")
    serve.set_defaults(run=run)
