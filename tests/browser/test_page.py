"""The chat page in headless Chromium, through its accessible names, against a gateway process."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ails import ConversationStore
from ails.conversations import ConversationInfo
from ails.domain.history import Turn
from ails.testing import FakeServer

from .support import LONG_TOKENS, SLOW_TOKENS, Gateway

ANSWER = "article[data-role=assistant]"
WATCH_MUTATIONS = """() => {
    const live = document.querySelector('article.streaming');
    window.__outside = 0;
    window.__inside = 0;
    new MutationObserver((records) => {
        if (!live.isConnected) return;  // the saved conversation, shown once at the end
        for (const r of records) live.contains(r.target) ? window.__inside++ : window.__outside++;
    }).observe(document.getElementById('messages'),
               {subtree: true, childList: true, characterData: true, attributes: true});
}"""
FOCUSED = """(() => {
    const e = document.activeElement;
    return e.getAttribute('aria-label') || e.textContent.trim() || e.tagName;
})()"""


def send(page: Any, text: str) -> None:
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")


def answered(page: Any, count: int = 1) -> Any:
    """The last answer, once ``count`` answers are shown and none streams."""
    page.wait_for_function(
        "n => document.querySelectorAll('article[data-role=assistant]:not(.streaming)').length >= n"
        " && !document.querySelector('article.streaming')",
        arg=count,
    )
    return page.locator(ANSWER).last


def requests_for(fake: FakeServer, text: str) -> list[Any]:
    return [r for r in fake.requests if r.json and text in r.json["messages"][-1]["content"]]


def store(gateway: Gateway) -> ConversationStore:
    return ConversationStore(gateway.history)


class TestAsking:
    def test_enter_sends_and_the_answer_streams_into_an_article(self, page, fake) -> None:
        send(page, "Привет! How are you?")
        answer = answered(page)
        assert "Привет!" in answer.inner_text()
        assert "хорошо" in answer.inner_text()
        question = page.get_by_role("article").first
        assert question.get_attribute("data-role") == "user"
        assert "How are you?" in question.inner_text()
        # The list names the conversation after its first question.
        nav = page.get_by_role("navigation", name="Conversations")
        assert nav.get_by_role("link", name="Привет! How are you?").is_visible()
        assert page.errors == []

    def test_shift_enter_is_a_new_line_not_a_send(self, page, fake) -> None:
        before = fake.request_count
        box = page.get_by_role("textbox", name="Message")
        box.fill("one")
        box.press("Shift+Enter")
        box.type("two")
        assert box.input_value() == "one\ntwo"
        assert page.locator("article").count() == 0
        page.get_by_role("button", name="Send").click()
        answered(page)
        assert fake.request_count == before + 1
        assert fake.requests[-1].json["messages"][-1]["content"] == "one\ntwo"

    def test_the_model_picker_lists_v1_models_and_is_used(self, page, fake) -> None:
        picker = page.get_by_role("combobox", name="Model")
        options = picker.locator("option").all_inner_texts()
        assert options == ["gpt-3.5-turbo", "other-model"]
        picker.select_option("other-model")
        send(page, "which model answers?")
        answered(page)
        assert requests_for(fake, "which model answers?")[-1].json["model"] == "other-model"

    def test_the_system_message_goes_first_and_stays_with_the_conversation(
        self, page, fake, gateway
    ) -> None:
        page.get_by_text("System prompt").click()
        page.get_by_role("textbox", name="System prompt").fill("Answer in French.")
        send(page, "system check one")
        answered(page)
        assert requests_for(fake, "system check one")[-1].json["messages"][0] == {
            "role": "system",
            "content": "Answer in French.",
        }
        send(page, "system check two")
        answered(page, 2)
        sent = requests_for(fake, "system check two")[-1].json["messages"]
        assert sent[0] == {"role": "system", "content": "Answer in French."}
        with store(gateway) as history:
            assert history.latest().info.system == "Answer in French."


class TestFailures:
    def test_an_upstream_error_is_shown_and_kept(self, page, gateway) -> None:
        send(page, "a broken question")
        answer = answered(page)
        assert "did not complete (HTTPStatusError)" in answer.inner_text()
        status = page.get_by_role("status")
        assert "did not complete" in status.inner_text()
        with store(gateway) as history:
            saved = history.latest().turns
        assert [(t.complete, t.error) for t in saved] == [(False, "HTTPStatusError")] * 2

    def test_going_to_another_conversation_while_it_streams_and_back(self, page) -> None:
        send(page, "look here first")
        answered(page)
        page.get_by_role("button", name="New chat").click()
        send(page, "answer slowly while I look elsewhere")
        page.wait_for_selector("article.streaming .body:has-text('s1')")
        nav = page.get_by_role("navigation", name="Conversations")
        nav.get_by_role("link", name="look here first").click()
        page.wait_for_selector("article[data-role=user]:has-text('look here first')")
        nav.get_by_role("link", name="answer slowly while I look elsewhere").click()
        # Until the click has swapped the conversations, the other one's answer is the last shown.
        page.wait_for_selector("article[data-role=user]:has-text('look elsewhere')")
        answer = answered(page)
        assert "s39" in answer.inner_text()
        assert "look elsewhere" in page.locator("article[data-role=user]").inner_text()


class TestUntrustedText:
    def test_script_and_onerror_payloads_do_not_run_and_javascript_links_are_dead(
        self, page
    ) -> None:
        send(page, "send the payload")
        answer = answered(page)
        page.wait_for_timeout(0)
        assert page.evaluate("window.__pwned") is None
        assert answer.locator("script").count() == 0
        assert answer.locator("[onerror], [onclick]").count() == 0
        assert answer.locator("svg").count() == 0
        # Only the page's own controls are buttons in an answer.
        assert answer.get_by_role("button", name="fake button").count() == 0
        for name in ("click me", "raw link"):
            link = answer.get_by_text(name)
            assert link.get_attribute("href") is None
            link.click()
        assert page.evaluate("window.__pwned") is None
        safe = answer.get_by_role("link", name="safe")
        assert safe.get_attribute("href") == "https://example.com/"
        assert "noopener" in (safe.get_attribute("rel") or "")
        assert page.errors == []

    def test_the_page_is_served_with_a_strict_content_security_policy(self, page, gateway) -> None:
        response = page.request.get(gateway.url)
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert "unsafe-eval" not in policy
        assert "<script>" not in response.text()  # no inline script in the page itself


class TestMarkdownAndCopy:
    def test_code_is_highlighted_and_both_copy_buttons_copy(self, page) -> None:
        send(page, "show me some code")
        answer = answered(page)
        code = answer.locator("pre code")
        assert "for i in range(3):" in code.inner_text()
        page.wait_for_selector("pre code.hljs .hljs-keyword")
        copies = answer.get_by_role("button", name="Copy")
        assert copies.count() == 2  # the code block's, and the answer's
        copies.first.click()
        assert page.evaluate("navigator.clipboard.readText()") == (
            "for i in range(3):\n    print(i)\n"
        )
        copies.last.click()
        page.wait_for_function(
            "async () => (await navigator.clipboard.readText()).startsWith('Here')"
        )
        assert page.evaluate("navigator.clipboard.readText()").startswith("Here is a loop:")


class TestStop:
    def test_stop_ends_the_answer_and_closes_the_upstream(self, page, fake, gateway) -> None:
        send(page, "an endless answer please")
        page.wait_for_selector("article.streaming .body:has-text('w1')")
        page.get_by_role("button", name="Stop").click()
        answer = answered(page)
        assert "Stopped." in answer.inner_text()
        [request] = requests_for(fake, "an endless answer please")
        assert request.disconnected.wait(10)  # the gateway hung up on the upstream
        with store(gateway) as history:
            saved = history.latest().turns[-1]
        assert (saved.complete, saved.error) == (False, "Stopped")
        assert 0 < len(saved.content) < len("".join(LONG_TOKENS))
        assert page.get_by_role("button", name="Stop").is_hidden()

    def test_escape_stops_it_too(self, page, fake) -> None:
        send(page, "another endless one")
        page.wait_for_selector("article.streaming .body:has-text('w1')")
        page.keyboard.press("Escape")
        assert "Stopped." in answered(page).inner_text()
        [request] = requests_for(fake, "another endless one")
        assert request.disconnected.wait(10)


class TestNothingIsLost:
    def test_a_reload_while_it_streams_shows_the_whole_answer(self, page, fake, gateway) -> None:
        send(page, "answer slowly please")
        page.wait_for_selector("article.streaming .body:has-text('s1')")
        page.reload()
        page.wait_for_selector("html[data-ready]")
        answer = answered(page)
        assert "s0 s1 s2" in answer.inner_text()
        assert "s39" in answer.inner_text()
        assert len(requests_for(fake, "answer slowly please")) == 1  # not asked twice
        with store(gateway) as history:
            saved = history.latest().turns[-1]
        assert saved.complete
        assert saved.content == "".join(SLOW_TOKENS)

    def test_a_page_gone_to_the_background_finds_the_answer_when_it_is_back(
        self, context, page, fake, gateway
    ) -> None:
        send(page, "answer slowly again")
        page.wait_for_selector("article.streaming .body:has-text('s1')")
        url = page.url
        page.close()  # the phone dropped the tab
        [request] = requests_for(fake, "answer slowly again")
        assert request.finished.wait(20)  # the gateway read the answer to its end
        back = context.new_page()
        back.goto(url)
        answer = answered(back)
        assert "s39" in answer.inner_text()
        assert len(requests_for(fake, "answer slowly again")) == 1


class TestBranches:
    def test_regenerate_in_place_then_switch_between_the_answers(self, page, gateway) -> None:
        send(page, "count for me")
        first = answered(page).locator(".body").inner_text()
        page.get_by_role("button", name="Regenerate").click()
        page.get_by_label("Branch 2 of 2").wait_for()
        second = answered(page).locator(".body").inner_text()
        assert (first, second) == ("answer one", "answer two")
        assert page.locator(ANSWER).count() == 1  # in place: one answer shown
        page.get_by_role("button", name="Previous branch").click()
        # text_content: a just-rendered article may not be laid out yet (content-visibility).
        assert page.locator(f"{ANSWER} .body").text_content().strip() == first
        assert page.get_by_label("Branch 1 of 2").is_visible()
        page.get_by_role("button", name="Next branch").click()
        assert page.locator(f"{ANSWER} .body").text_content().strip() == second

    def test_edit_a_question_makes_a_branch_and_the_old_one_stays(self, page, gateway) -> None:
        send(page, "Привет, original question")
        answered(page)
        page.get_by_role("button", name="Edit").click()
        box = page.get_by_role("textbox", name="Edit question")
        box.fill("Привет, edited question")
        page.get_by_role("button", name="Resend").click()
        page.get_by_label("Branch 2 of 2").wait_for()
        answered(page)
        question = page.locator("article[data-role=user]")
        assert "edited question" in question.inner_text()
        # What the terminal's `ails chat -c` would go on from: the branch shown.
        with store(gateway) as history:
            assert history.latest().turns[0].content == "Привет, edited question"
        page.get_by_role("button", name="Previous branch").click()
        assert "original question" in page.locator("article[data-role=user]").text_content()
        page.wait_for_function(
            "() => fetch('/page/api/conversations').then(r => r.json()).then(() => true)"
        )
        with store(gateway) as history:
            latest = history.latest()
            assert latest.turns[0].content == "Привет, original question"


class TestConversations:
    def test_the_list_is_newest_first_and_shares_the_terminal_history(self, page, gateway) -> None:
        with store(gateway) as history:
            history.append(
                ConversationInfo(
                    id="from-terminal",
                    created=1.0,
                    updated=4102444800.0,
                    title="asked in the terminal",
                ),
                [Turn.user("asked in the terminal"), Turn("assistant", "answered there")],
            )
        page.reload()
        page.wait_for_selector("html[data-ready]")
        nav = page.get_by_role("navigation", name="Conversations")
        links = nav.get_by_role("link")
        assert links.first.inner_text() == "asked in the terminal"
        links.first.click()
        assert "answered there" in answered(page).inner_text()

    def test_new_chat_rename_export_and_delete(self, page, gateway) -> None:
        send(page, "a conversation to manage")
        answered(page)
        page.once("dialog", lambda dialog: dialog.accept("Managed one"))
        page.get_by_role("button", name="Rename").click()
        nav = page.get_by_role("navigation", name="Conversations")
        nav.get_by_role("link", name="Managed one").wait_for()
        assert page.get_by_role("heading", name="Managed one").is_visible()

        with page.expect_download() as markdown:
            page.get_by_role("button", name="Export Markdown").click()
        text = Path(markdown.value.path()).read_text(encoding="utf-8")
        assert "a conversation to manage" in text
        with page.expect_download() as as_json:
            page.get_by_role("button", name="Export JSON").click()
        exported = json.loads(Path(as_json.value.path()).read_text(encoding="utf-8"))
        assert "a conversation to manage" in json.dumps(exported, ensure_ascii=False)

        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Delete").click()
        nav.get_by_role("link", name="Managed one").wait_for(state="detached")
        assert page.locator("article").count() == 0
        page.get_by_role("button", name="New chat").click()
        assert page.get_by_role("heading", name="New chat").is_visible()

    def test_search_finds_words_inside_messages_cyrillic_included(self, page) -> None:
        send(page, "Привет! Поищи меня")
        answered(page)
        page.get_by_role("button", name="New chat").click()
        page.get_by_role("searchbox", name="Search").fill("ХОРОШО")  # in the answer, other case
        results = page.get_by_role("region", name="Search results")
        hit = results.get_by_role("link").filter(has_text="Поищи меня").first
        hit.wait_for()
        assert hit.locator("mark").first.inner_text().lower() == "хорошо"
        hit.click()
        page.wait_for_selector("article.found")
        assert "хорошо" in page.locator("article.found").inner_text()


class TestRendering:
    def test_streaming_touches_only_the_streaming_answer(self, page) -> None:
        send(page, "a medium answer")
        page.wait_for_selector("article.streaming")
        page.evaluate(WATCH_MUTATIONS)
        answered(page)
        assert page.evaluate("window.__outside") == 0
        assert page.evaluate("window.__inside") > 0

    @pytest.mark.parametrize("scheme", ["light", "dark"])
    def test_light_and_dark_follow_the_system(self, page, scheme) -> None:
        page.emulate_media(color_scheme=scheme)
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        channels = [int(n) for n in re.findall(r"\d+", background)[:3]]
        assert (sum(channels) > 382) == (scheme == "light")

    def test_phone_width_has_no_sideways_scroll(self, page) -> None:
        page.set_viewport_size({"width": 375, "height": 740})
        send(page, "a wide answer")
        answered(page)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375
        assert page.evaluate("document.getElementById('messages').scrollWidth") <= 375
        page.get_by_role("button", name="Show conversations").click()
        nav = page.get_by_role("navigation", name="Conversations")
        nav.get_by_role("link", name="a wide answer").click()
        page.get_by_role("navigation", name="Conversations").wait_for(state="hidden")

    def test_every_control_is_reachable_with_the_keyboard(self, page) -> None:
        send(page, "keyboard")
        answered(page)
        page.evaluate("document.activeElement.blur()")
        wanted = {"New chat", "Search", "Model", "Rename", "Copy", "Regenerate", "Edit", "Message"}
        seen: list[str] = []
        while not wanted <= set(seen) and len(seen) < 300:
            page.keyboard.press("Tab")
            seen.append(page.evaluate(FOCUSED))
        for name in (
            "New chat",
            "Search",
            "Model",
            "Rename",
            "Copy",
            "Regenerate",
            "Edit",
            "Message",
            "Send",
        ):
            assert name in seen, (name, seen)
