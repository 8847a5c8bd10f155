"""A gateway started with --require-key: the page asks for the key once, refuses a wrong one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ails.testing import FakeServer

from .support import Gateway, run_gateway

KEY = "s3cret-page-key"


@pytest.fixture(scope="module")
def gateway(fake: FakeServer, gateway_home: Path, browser: Any) -> Iterator[Gateway]:
    with run_gateway(fake.url, gateway_home, "--require-key", KEY) as running:
        yield running


@pytest.fixture
def page(context: Any, gateway: Gateway) -> Any:
    opened = context.new_page()
    opened.goto(gateway.url)
    return opened


class TestTheKey:
    def test_a_wrong_key_is_refused_visibly_the_right_one_is_asked_once(self, page) -> None:
        dialog = page.get_by_role("dialog", name="This gateway needs its key")
        dialog.wait_for()
        assert page.locator("html[data-ready]").count() == 0  # nothing loaded without it

        dialog.get_by_label("Key").fill("wrong")
        dialog.get_by_role("button", name="Use key").click()
        alert = dialog.get_by_role("alert")
        alert.get_by_text("That key is wrong").wait_for()
        assert dialog.is_visible()

        dialog.get_by_label("Key").fill(KEY)
        dialog.get_by_role("button", name="Use key").click()
        page.wait_for_selector("html[data-ready]")
        assert dialog.is_hidden()
        box = page.get_by_role("textbox", name="Message")
        box.fill("Привет with a key")
        box.press("Enter")
        page.wait_for_selector("article[data-role=assistant]:not(.streaming)")

        page.reload()
        page.wait_for_selector("html[data-ready]")  # not asked again
        assert dialog.is_hidden()
        nav = page.get_by_role("navigation", name="Conversations")
        assert nav.get_by_role("link", name="Привет with a key").is_visible()

    def test_the_api_itself_refuses_a_request_without_the_key(self, page, gateway) -> None:
        response = page.request.get(f"{gateway.url}page/api/conversations")
        assert response.status == 401
        assert response.json()["error"]["code"] == "invalid_api_key"
        good = page.request.get(
            f"{gateway.url}page/api/conversations", headers={"authorization": f"Bearer {KEY}"}
        )
        assert good.status == 200
