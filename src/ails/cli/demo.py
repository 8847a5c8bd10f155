"""``ails demo``: signed chats, a conversation and the gateway, against the embedded fake server.

Nothing leaves the machine: the server runs in-process on a free loopback
port, checks each request's headers and signature, and replays recorded
answers with their original pacing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import TYPE_CHECKING, TextIO

from ails.client import AsyncClient, Client
from ails.domain.messages import Message

if TYPE_CHECKING:
    from ails.testing.server import FakeServer

__all__ = ["register", "run_demo"]


def _report(
    out: TextIO, server: FakeServer, started: float, first: float | None, count: int
) -> None:
    record = server.requests[-1]
    verdict = "accepted" if record.rejection is None else f"REJECTED: {record.rejection.message}"
    ttft = "no token" if first is None else f"first token after {(first - started) * 1000:.1f} ms"
    out.write(f"\n  ({ttft}, {count} tokens; signature {verdict} by the server)\n\n")


def run_demo(out: TextIO) -> int:
    """Stream a chat with each bundled transport, a conversation and the gateway; exit status."""
    from ails.testing.server import FakeServer
    from ails.transports.aiohttp_transport import AiohttpTransport
    from ails.transports.requests_transport import RequestsTransport

    with FakeServer() as server:
        out.write(
            f"ails demo: fake Ails server on {server.url} "
            "(offline: the real service is never called)\n\n"
        )

        question = "Привет! Как дела?"
        out.write(f"[Client + RequestsTransport] > {question}\n")
        started, first, count = time.perf_counter(), None, 0
        with Client(RequestsTransport(), base_url=server.url) as client:
            for token in client.stream([Message.user(question)]):
                first = first or time.perf_counter()
                count += 1
                out.write(token)
                out.flush()
        _report(out, server, started, first, count)

        _conversation_section(out, server)

        async def chat_async(question: str) -> tuple[float, float | None, int]:
            started, first, count = time.perf_counter(), None, 0
            async with AsyncClient(AiohttpTransport(), base_url=server.url) as client:
                async for token in client.stream([Message.user(question)]):
                    first = first or time.perf_counter()
                    count += 1
                    out.write(token)
                    out.flush()
            return started, first, count

        question = "Hello! Show me some emoji"
        out.write(f"[AsyncClient + AiohttpTransport] > {question}\n")
        _report(out, server, *asyncio.run(chat_async(question)))

        _gateway_section(out, server)
    rejected = [r for r in server.requests if r.rejection is not None]
    return 1 if rejected else 0


def _conversation_section(out: TextIO, server: FakeServer) -> None:
    """Two turns of a ``Conversation``: the second carries the first, over the same connection."""
    from ails.conversations import Conversation
    from ails.transports.requests_transport import RequestsTransport

    out.write("[Conversation: two turns through one Client]\n")
    connections = server.connections_accepted
    with Client(RequestsTransport(), base_url=server.url) as client:
        conv = Conversation(client, system="Отвечай кратко.")  # no store: nothing is saved
        for question in ("Привет!", "Now show me some code"):
            out.write(f"> {question}\n")
            for token in conv.stream(question):
                out.write(token)
                out.flush()
            roles = [m["role"] for m in server.requests[-1].json["messages"]]
            out.write(f"\n  (sent: {', '.join(roles)})\n")
    opened = server.connections_accepted - connections
    out.write(
        f"  (both turns over {opened} connection{'s' if opened != 1 else ''}: keep-alive)\n\n"
    )


def _gateway_section(out: TextIO, server: FakeServer) -> None:
    """An OpenAI client talking to ``ails gateway`` in front of the fake server."""
    from ails.gateway import BackgroundGateway, create_app

    question = "Привет! Как дела?"
    app = create_app(lambda: AsyncClient(base_url=server.url))
    with BackgroundGateway(app) as gateway:
        try:
            import openai
        except ImportError:
            out.write(f"[ails gateway at {gateway.url}, plain HTTP] > {question}\n")
            _plain_openai_call(out, gateway.url, question)
            out.write("\n  (pip install openai to see the official SDK do the same)\n\n")
            return
        out.write(f"[openai.OpenAI -> ails gateway at {gateway.url}] > {question}\n")
        client = openai.OpenAI(base_url=gateway.url, api_key="demo", max_retries=0)
        with client:
            stream = client.chat.completions.create(
                model="gpt-3.5-turbo",
                messages=[{"role": "user", "content": question}],
                stream=True,
            )
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    out.write(chunk.choices[0].delta.content)
                    out.flush()
        out.write("\n  (any OpenAI client works: OPENAI_BASE_URL=<that URL>)\n\n")


def _plain_openai_call(out: TextIO, base_url: str, question: str) -> None:
    """The same streamed request as the SDK makes, with requests and a few lines of SSE."""
    import json

    import requests

    body = {"model": "gpt-3.5-turbo", "messages": [{"role": "user", "content": question}]}
    with requests.post(
        f"{base_url}/chat/completions", json={**body, "stream": True}, stream=True, timeout=30
    ) as response:
        for line in response.iter_lines():
            data = line.decode("utf-8").removeprefix("data: ")
            if not line or data == "[DONE]":
                continue
            choices = json.loads(data).get("choices") or [{}]
            out.write(choices[0].get("delta", {}).get("content") or "")
            out.flush()


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``ails demo`` to the command line."""
    demo = commands.add_parser(
        "demo",
        help="stream a signed chat against the embedded fake server",
        epilog="Examples:\n"
        "  ails demo\n"
        "  make demo     (from a checkout)\n"
        "Offline: the fake server runs in this process on a free 127.0.0.1 port.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.set_defaults(run=lambda args: run_demo(sys.stdout))
