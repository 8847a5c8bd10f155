"""Fixtures for the client tests; the helpers live in ``client_support``."""

from __future__ import annotations

import pytest
from client_support import AsyncDriver, Driver, SyncDriver


@pytest.fixture(params=[SyncDriver, AsyncDriver], ids=["sync", "async"])
def driver(request: pytest.FixtureRequest) -> Driver:
    """The same test, once over ``Client`` and once over ``AsyncClient``."""
    cls: type[Driver] = request.param
    return cls()
