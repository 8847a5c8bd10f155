"""The two user-facing contracts: every suite of the kit, run through a sync or an async client."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from ails.client import AsyncClient, Client
from ails.domain.errors import AilsError
from ails.ports.http import AsyncTransport, Transport
from ails.testing.conformance.fixtures import FixtureCases
from ails.testing.conformance.keepalive import KeepAliveCases
from ails.testing.conformance.leaks import AsyncLeakCases, LeakCases
from ails.testing.conformance.network import NetworkCases
from ails.testing.conformance.proxies import ProxyCases
from ails.testing.conformance.secrets import SecretCases
from ails.testing.conformance.structure import StructureCases
from ails.testing.conformance.support import QUESTION, ChatResult, contract_options
from ails.testing.conformance.timeouts import TimeoutCases
from ails.testing.conformance.tls import TlsCases
from ails.testing.conformance.validation import ValidationCases

__all__ = ["AsyncTransportContract", "SyncTransportContract"]


class _Contract(
    FixtureCases,
    StructureCases,
    NetworkCases,
    TlsCases,
    ProxyCases,
    TimeoutCases,
    ValidationCases,
    SecretCases,
    LeakCases,
    KeepAliveCases,
):
    """The cases, written once per concern; subclasses say how to run a chat."""


class SyncTransportContract(_Contract):
    """The contract for a sync :class:`~ails.ports.Transport`; override :meth:`make_transport`."""

    is_async = False

    def make_transport(self, **options: Any) -> Transport:
        """Return a fresh instance of the transport under test."""
        raise NotImplementedError

    def chat(
        self,
        base_url: str,
        *,
        stop_after: int | None = None,
        leave: str = "break",
        transport_options: dict[str, Any] | None = None,
        call_options: dict[str, Any] | None = None,
        **options: Any,
    ) -> ChatResult:
        """Run one chat with :class:`~ails.Client` over the transport under test."""
        started = time.monotonic()
        tokens: list[str] = []
        transport = self.transport(**(transport_options or {}))
        try:
            client = Client(transport, base_url=base_url, **contract_options(options))
        except AilsError as error:
            transport.close()
            return ChatResult(tokens, error, time.monotonic() - started)
        try:
            with client:
                _read(client, tokens, stop_after, leave, call_options)
        except AilsError as error:
            return ChatResult(tokens, error, time.monotonic() - started)
        return ChatResult(tokens, None, time.monotonic() - started)

    def read_structure(
        self, base_url: str, how: str, call_options: dict[str, Any] | None = None, **options: Any
    ) -> ChatResult:
        """One chat with :class:`~ails.Client`, read by ``stream.events()`` or ``create()``."""
        call = call_options or {}
        started = time.monotonic()
        result = ChatResult([], None)
        try:
            with Client(self.transport(), base_url=base_url, **contract_options(options)) as client:
                if how == "create":
                    result.completion = client.create(QUESTION, **call)
                else:
                    stream = client.stream(QUESTION, **call)
                    try:
                        with stream:
                            for event in stream.events():  # each kept, should one fail
                                result.events.append(event)
                    finally:
                        result.completion = stream.completion
        except AilsError as error:
            result.error = error
        result.seconds = time.monotonic() - started
        return result

    def run_sequence(
        self,
        base_url: str,
        stops: list[int | None],
        *,
        transport_options: dict[str, Any] | None = None,
    ) -> list[ChatResult]:
        """One :class:`~ails.Client` over the transport under test, one chat per entry."""
        outcomes: list[ChatResult] = []
        transport = self.transport(**(transport_options or {}))
        with Client(transport, base_url=base_url, **contract_options({})) as client:
            for stop_after in stops:
                started, tokens = time.monotonic(), list[str]()
                try:
                    _read(client, tokens, stop_after, "break")
                except AilsError as error:
                    outcomes.append(ChatResult(tokens, error, time.monotonic() - started))
                else:
                    outcomes.append(ChatResult(tokens, None, time.monotonic() - started))
        return outcomes

    def abandon_streams(self, runs: list[tuple[str, str, int]]) -> None:
        """Run ``(base_url, leave, stop_after)`` chats on one transport, then close it."""
        transport = self.transport()
        try:
            for base_url, leave, stop_after in runs:
                # One client per base URL; they share the transport and its pool.
                client = Client(transport, base_url=base_url, **contract_options({}))
                with contextlib.suppress(AilsError):
                    _read(client, [], stop_after if leave != "drain" else None, leave)
        finally:
            transport.close()


def _read(
    client: Client,
    tokens: list[str],
    stop_after: int | None,
    leave: str,
    call_options: dict[str, Any] | None = None,
) -> None:
    stream = client.stream(QUESTION, **(call_options or {}))
    if leave == "break":
        with stream:
            for token in stream:
                tokens.append(token)
                if stop_after is not None and len(tokens) >= stop_after:
                    break
        return
    try:
        while stop_after is None or len(tokens) < stop_after:
            tokens.append(next(stream))
    except StopIteration:
        pass
    if leave == "close":
        stream.close()
    else:
        del stream  # "drop" and "drain": the last reference goes


class AsyncTransportContract(_Contract, AsyncLeakCases):
    """The contract for an :class:`~ails.ports.AsyncTransport`; override :meth:`make_transport`.

    Each case runs in its own event loop, so it needs no pytest async plugin.
    """

    is_async = True

    def make_transport(self, **options: Any) -> AsyncTransport:
        """Return a fresh instance of the transport under test (called inside the loop)."""
        raise NotImplementedError

    def chat(
        self,
        base_url: str,
        *,
        stop_after: int | None = None,
        leave: str = "break",
        transport_options: dict[str, Any] | None = None,
        call_options: dict[str, Any] | None = None,
        **options: Any,
    ) -> ChatResult:
        """Run one chat with :class:`~ails.AsyncClient` over the transport under test."""
        started = time.monotonic()
        outcome = asyncio.run(
            self._chat(base_url, stop_after, leave, transport_options, options, call_options)
        )
        outcome.seconds = time.monotonic() - started
        return outcome

    async def _chat(
        self,
        base_url: str,
        stop_after: int | None,
        leave: str,
        transport_options: dict[str, Any] | None,
        options: dict[str, Any],
        call_options: dict[str, Any] | None = None,
    ) -> ChatResult:
        tokens: list[str] = []
        transport = self.transport(**(transport_options or {}))
        try:
            client = AsyncClient(transport, base_url=base_url, **contract_options(options))
        except AilsError as error:
            await transport.aclose()
            return ChatResult(tokens, error)
        try:
            async with client:
                await _aread(client, tokens, stop_after, leave, call_options)
        except AilsError as error:
            return ChatResult(tokens, error)
        return ChatResult(tokens, None)

    def read_structure(
        self, base_url: str, how: str, call_options: dict[str, Any] | None = None, **options: Any
    ) -> ChatResult:
        """One chat with :class:`~ails.AsyncClient`, read by ``stream.events()`` or ``create()``."""
        call = call_options or {}

        async def scenario() -> ChatResult:
            result = ChatResult([], None)
            try:
                async with AsyncClient(
                    self.transport(), base_url=base_url, **contract_options(options)
                ) as client:
                    if how == "create":
                        result.completion = await client.create(QUESTION, **call)
                    else:
                        stream = client.stream(QUESTION, **call)
                        try:
                            async with stream:
                                async for event in stream.events():
                                    result.events.append(event)
                        finally:
                            result.completion = stream.completion
            except AilsError as error:
                result.error = error
            return result

        started = time.monotonic()
        result = asyncio.run(scenario())
        result.seconds = time.monotonic() - started
        return result

    def run_sequence(
        self,
        base_url: str,
        stops: list[int | None],
        *,
        transport_options: dict[str, Any] | None = None,
    ) -> list[ChatResult]:
        """One :class:`~ails.AsyncClient` over the transport under test, one chat per entry."""

        async def scenario() -> list[ChatResult]:
            outcomes: list[ChatResult] = []
            transport = self.transport(**(transport_options or {}))
            async with AsyncClient(transport, base_url=base_url, **contract_options({})) as client:
                for stop_after in stops:
                    tokens: list[str] = []
                    try:
                        await _aread(client, tokens, stop_after, "break")
                    except AilsError as error:
                        outcomes.append(ChatResult(tokens, error))
                    else:
                        outcomes.append(ChatResult(tokens, None))
            return outcomes

        return asyncio.run(scenario())

    def abandon_streams(self, runs: list[tuple[str, str, int]]) -> None:
        """Run ``(base_url, leave, stop_after)`` chats on one transport, then close it."""

        async def scenario() -> None:
            transport = self.transport()
            try:
                for base_url, leave, stop_after in runs:
                    client = AsyncClient(transport, base_url=base_url, **contract_options({}))
                    with contextlib.suppress(AilsError):
                        await _aread(client, [], stop_after if leave != "drain" else None, leave)
            finally:
                await transport.aclose()

        asyncio.run(scenario())


async def _aread(
    client: AsyncClient,
    tokens: list[str],
    stop_after: int | None,
    leave: str,
    call_options: dict[str, Any] | None = None,
) -> None:
    stream = client.stream(QUESTION, **(call_options or {}))
    if leave == "break":
        async with stream:
            async for token in stream:
                tokens.append(token)
                if stop_after is not None and len(tokens) >= stop_after:
                    break
        return
    try:
        while stop_after is None or len(tokens) < stop_after:
            tokens.append(await stream.__anext__())
    except StopAsyncIteration:
        pass
    if leave == "close":
        await stream.aclose()
    else:
        # "drop": the event loop's async-generator hook closes it, soon, in a task.
        del stream
