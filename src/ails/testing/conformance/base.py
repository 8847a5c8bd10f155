"""The base every suite of the kit builds on: its servers, and how a case runs a chat."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from ails.testing.conformance.support import OPENAI_KEY, ChatResult, make_certificate
from ails.testing.server import FakeServer


class ContractBase:
    """The servers the cases use and the chat they run; subclasses say how to run it."""

    is_async: ClassVar[bool]

    # -- servers ---------------------------------------------------------------------

    @pytest.fixture(scope="class")
    @classmethod
    def fake_server(cls) -> Iterator[FakeServer]:
        """A FakeServer replaying fixtures at full speed (pauses kept only where they matter)."""
        with FakeServer(delay_scale=0.0) as server:
            yield server

    @pytest.fixture(scope="class")
    @classmethod
    def openai_server(cls) -> Iterator[FakeServer]:
        """A FakeServer checking requests as a strict OpenAI-compatible server."""
        with FakeServer(delay_scale=0.0, profile="openai", api_key=OPENAI_KEY) as server:
            yield server

    @pytest.fixture(scope="class")
    @classmethod
    def certificate(cls, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
        """(certificate, key) PEM files of a self-signed certificate for 127.0.0.1."""
        return make_certificate(tmp_path_factory.mktemp("tls"))

    @pytest.fixture(scope="class")
    @classmethod
    def tls_server(cls, certificate: tuple[str, str]) -> Iterator[FakeServer]:
        """A FakeServer speaking HTTPS with the self-signed certificate."""
        cert, key = certificate
        with FakeServer(delay_scale=0.0, certfile=cert, keyfile=key) as server:
            yield server

    # -- how a case runs a chat (the subclasses fill these in) --------------------------

    def make_transport(self, **options: Any) -> Any:
        """Return a fresh instance of the transport under test."""
        raise NotImplementedError

    def transport(self, **options: Any) -> Any:
        """``make_transport(**options)``, or skip the case if it takes no such options."""
        if options:
            try:
                inspect.signature(self.make_transport).bind(**options)
            except TypeError:
                pytest.skip(
                    f"make_transport() takes no {', '.join(sorted(options))}= option; "
                    "accept it to run this case"
                )
        return self.make_transport(**options)

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
        """Run one chat through the transport under test.

        ``stop_after`` tokens, then leave the stream: ``"break"`` out of its
        ``with`` block, ``"close"`` it explicitly, or ``"drop"`` every
        reference to it. ``options`` go to the client, ``call_options`` to
        ``stream()``.
        """
        raise NotImplementedError

    def read_structure(
        self, base_url: str, how: str, call_options: dict[str, Any] | None = None, **options: Any
    ) -> ChatResult:
        """Run one chat that reads the answer's structure, not its tokens.

        ``how`` is ``"events"`` (iterate ``stream.events()``, then read
        ``stream.completion``) or ``"create"`` (``client.create()``).
        ``options`` go to the client, ``call_options`` to the call.
        """
        raise NotImplementedError

    def run_sequence(
        self,
        base_url: str,
        stops: list[int | None],
        *,
        transport_options: dict[str, Any] | None = None,
    ) -> list[ChatResult]:
        """One client, one chat per entry of ``stops``, in turn; one outcome each.

        An entry is how many tokens to read before leaving with ``break``
        (``None``: the whole answer).
        """
        raise NotImplementedError

    def abandon_streams(self, base_urls: list[tuple[str, str, int]]) -> None:
        """Run ``(base_url, leave, stop_after)`` chats on one transport, then close it."""
        raise NotImplementedError
