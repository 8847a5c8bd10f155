"""The page in a real browser: one Chromium, a gateway and a fake server per module.

Module scope, not session: Playwright's sync API keeps an event loop running
in this thread while it is open, and the async tests of the other folders
could not run their own loops meanwhile.

Without a browser the tests skip on a developer's machine (and the summary
says which, and how to get them); under CI (``CI=true``) they fail instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ails.testing import FakeServer

from .support import (
    CHROMIUM,
    HOW_TO_GET_THEM,
    LAUNCH_ARGS,
    Gateway,
    chromium_available,
    fake_server,
    run_gateway,
)

_NOT_RUN: list[str] = []


def _ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    why = chromium_available()
    if why is not None:
        if _ci():
            pytest.fail(f"CI=true but no browser can be driven: {why}; {HOW_TO_GET_THEM}")
        pytest.skip(f"{why}; {HOW_TO_GET_THEM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Playwright gives each launch a fresh user-data-dir of its own.
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS
        )
        yield launched
        launched.close()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and "chromium" in str(report.longrepr).lower():
        _NOT_RUN.append(report.nodeid)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _NOT_RUN:
        terminalreporter.section("browser tests not run")
        terminalreporter.write_line(f"{len(_NOT_RUN)} browser tests of the page did not run:")
        for nodeid in _NOT_RUN:
            terminalreporter.write_line(f"  {nodeid}")
        terminalreporter.write_line(f"To run them: {HOW_TO_GET_THEM}.")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeServer]:
    with fake_server() as server:
        yield server


@pytest.fixture(scope="module")
def gateway_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("page-home")


@pytest.fixture(scope="module")
def gateway(fake: FakeServer, gateway_home: Path, browser: Any) -> Iterator[Gateway]:
    # Needs the browser first: without one there is nothing to start a gateway for.
    with run_gateway(
        fake.url, gateway_home, "--model", "gpt-3.5-turbo", "--model", "other-model"
    ) as running:
        yield running


@pytest.fixture
def context(browser: Any, gateway: Gateway) -> Iterator[Any]:
    made = browser.new_context(viewport={"width": 1200, "height": 800})
    made.grant_permissions(["clipboard-read", "clipboard-write"], origin=gateway.url.rstrip("/"))
    made.set_default_timeout(15_000)
    yield made
    made.close()


@pytest.fixture
def page(context: Any, gateway: Gateway) -> Any:
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.goto(gateway.url)
    opened.wait_for_selector("html[data-ready]")
    opened.errors = errors
    return opened
