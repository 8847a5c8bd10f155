"""Shared test configuration: hypothesis profiles, and a private ``AILS_HOME``.

``dev`` (the default) keeps the suite quick; ``ci`` (selected when ``CI=true``)
tries more examples. Neither has a deadline: timing on shared CI machines is
noise, and the per-test timeout catches real hangs.

No test may read or write the real conversation history: ``AILS_HOME`` points
at a temporary folder for the whole session (subprocesses inherit it), and
tests that need an empty history use the ``ails_home`` fixture.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("dev", deadline=None, max_examples=100)
settings.register_profile("ci", deadline=None, max_examples=500, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI", "").lower() == "true" else "dev")


@pytest.fixture(scope="session", autouse=True)
def _private_ails_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    # Session scope, set by hand: a function-scoped autouse fixture would trip
    # hypothesis's health check on every property test.
    home = tmp_path_factory.mktemp("ails-home")
    saved = {name: os.environ.get(name) for name in ("AILS_HOME", "AILS_NO_LOG")}
    os.environ["AILS_HOME"] = str(home)
    os.environ.pop("AILS_NO_LOG", None)
    try:
        yield home
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def ails_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty ``AILS_HOME`` of this test's own (not created yet)."""
    home = tmp_path / "ails-home"
    monkeypatch.setenv("AILS_HOME", str(home))
    return home
