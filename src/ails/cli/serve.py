"""``ails serve``: run the offline fake server until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
import time

__all__ = ["register"]


def run(args: argparse.Namespace) -> int:
    """Serve the fixtures on 127.0.0.1 until interrupted."""
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


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``ails serve`` to the command line."""
    serve = commands.add_parser("serve", help="run the offline fake server")
    serve.add_argument("--port", type=int, default=8787)
    serve.add_argument("--fixtures", help="a folder of extra fixture files")
    serve.add_argument("--profile", choices=("ails", "openai"), default="ails")
    serve.add_argument("--no-check", action="store_true", help="accept requests unchecked")
    serve.set_defaults(run=run)
