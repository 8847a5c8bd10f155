"""Fixtures for the compatibility tests: the two upstreams, and a gateway per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from ails.testing import FakeServer

from .support import TOOL_FIXTURE, Upstream, ails_server, openai_server, running_gateway

#: ``gateway(fixture, profile="openai")`` starts a gateway in front of that upstream.
GatewayFactory = Callable[..., Upstream]

#: Every test id collected here (``test_x.py::test_y[z]``), before ``-k`` or ``-m``
#: deselect any: test_matrix.py checks the page's ids against them.
COLLECTED: set[str] = set()


def pytest_itemcollected(item: pytest.Item) -> None:
    COLLECTED.add(item.nodeid.rpartition("/")[2])


@pytest.fixture(scope="session")
def openai_upstream() -> Iterator[FakeServer]:
    with openai_server() as server:
        yield server


@pytest.fixture(scope="session")
def tools_upstream() -> Iterator[FakeServer]:
    with openai_server(check=False) as server:
        yield server


@pytest.fixture(scope="session")
def ails_upstream() -> Iterator[FakeServer]:
    with ails_server() as server:
        yield server


@pytest.fixture
def gateway(
    openai_upstream: FakeServer, tools_upstream: FakeServer, ails_upstream: FakeServer
) -> Iterator[GatewayFactory]:
    """A factory of gateways that all stop when the test ends."""
    servers = {"openai": openai_upstream, "ails": ails_upstream}
    with ExitStack() as stack:

        def start(fixture: str, *, profile: str = "openai") -> Upstream:
            # The tool round trips go to the upstream that leaves bodies unchecked.
            server = tools_upstream if fixture == TOOL_FIXTURE else servers[profile]
            return stack.enter_context(running_gateway(server, fixture))

        yield start
