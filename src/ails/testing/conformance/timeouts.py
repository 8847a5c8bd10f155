"""Timeouts: the total deadline on slow and silent servers, and the idle timeout."""

from __future__ import annotations

import pytest

import ails.errors
from ails.client.policies import Timeout
from ails.testing.conformance.base import ContractBase
from ails.testing.conformance.support import DISCONNECT_WAIT, ails_class, record_for
from ails.testing.server import FakeServer


class TimeoutCases(ContractBase):
    """Deadlines end the stream on time, keep what arrived and hang up."""

    def test_total_deadline(self, fake_server: FakeServer) -> None:
        """A total deadline shorter than a slow answer ends it, keeping what arrived."""
        url = fake_server.url_for("slow-stream")
        outcome = self.chat(url, timeout=Timeout(connect=5, idle=5, total=0.4))
        assert ails_class(outcome.error) is ails.errors.TimeoutError  # type: ignore[arg-type]
        assert "total" in str(outcome.error)
        assert outcome.error.partial_text == outcome.text  # type: ignore[union-attr]
        assert outcome.text.startswith(" t0 t1")
        assert outcome.seconds < 1.5
        assert record_for(fake_server, url).disconnected.wait(DISCONNECT_WAIT)

    @pytest.mark.parametrize("name", ["stall-mid-body", "no-response"])
    def test_total_deadline_on_a_silent_server(self, fake_server: FakeServer, name: str) -> None:
        """Silence after the head, or no head at all: the total deadline still ends it."""
        url = fake_server.url_for(name)
        outcome = self.chat(url, timeout=Timeout(connect=5, idle=30, total=0.4))
        assert ails_class(outcome.error) is ails.errors.TimeoutError  # type: ignore[arg-type]
        assert "total timeout of 0.4 s" in str(outcome.error)
        assert outcome.error.partial_text == outcome.text  # type: ignore[union-attr]
        assert outcome.seconds < 3
        assert record_for(fake_server, url).disconnected.wait(DISCONNECT_WAIT)

    def test_keep_alive_comments_do_not_reset_the_idle_timeout(
        self, fake_server: FakeServer
    ) -> None:
        """A server that only pings is stalled: the idle timeout fires on time."""
        url = fake_server.url_for("keepalive-only")
        outcome = self.chat(url, timeout=Timeout(connect=5, idle=0.3))
        assert ails_class(outcome.error) is ails.errors.TimeoutError  # type: ignore[arg-type]
        assert "keep-alive" in str(outcome.error)
        assert outcome.seconds < 1.5
