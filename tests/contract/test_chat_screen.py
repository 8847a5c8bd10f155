"""``ails chat`` on a terminal, as a new user meets it (issue 20), one point at a time.

Each test runs the CLI on a pseudo-terminal read by a terminal emulator
(pyte): it checks what the screen shows and what the fake server received.
Nothing sleeps; every wait has a timeout.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ails.testing import FakeServer, Fixture, chat_stream
from ails.testing.fixtures import Reply, Step

from .screen_support import PROMPT, Screen, environment

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")

PARAGRAPH = (
    "Streaming answers should wrap at word boundaries whatever the width of the terminal "
    "window happens to be today"
)
MARKDOWN = (
    "# Heading\n\n"
    f"Some **bold** words. {PARAGRAPH}.\n\n"
    "- item one\n- item two\n\n"
    "| name | value |\n|------|-------|\n| alpha | 1 |\n\n"
    "```python\nprint('hi')\n```\n"
)
ZWJ = "👨\u200d👩\u200d👧"


def _tokens(text: str, size: int = 3) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _answer(text: str) -> Reply:
    return Reply(body=tuple(Step(data=chunk) for chunk in chat_stream(_tokens(text))))


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    fixtures = {
        "markdown": Fixture(
            name="markdown",
            replies=(_answer(MARKDOWN),),
            match=re.compile(r"\bmarkdown\b"),
            expect={"text": MARKDOWN},
        ),
        "silent": Fixture(
            name="silent",
            replies=(Reply(fault="no_response"),),
            match=re.compile(r"\bsilent\b"),
        ),
    }
    with FakeServer(delay_scale=0.0, fixtures=fixtures) as running:
        yield running


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def chat(server: FakeServer, home: Path) -> Iterator[Screen]:
    """An interactive ``ails chat`` against the fake server, at its first prompt."""
    screen = Screen(["chat", "--base-url", server.url], environment(home))
    try:
        screen.expect_prompt()
        yield screen
    finally:
        screen.close()


def questions(server: FakeServer, since: int) -> list[str]:
    """The last message of each request the server got after the first ``since``."""
    return [r.json["messages"][-1]["content"] for r in server.requests[since:]]


def answered(screen: Screen) -> None:
    """Wait for the closing line under the next answer, then for the prompt."""
    screen.expect_answer()
    screen.expect_prompt()


class TestInput:
    def test_a_pasted_block_is_one_question(self, server: FakeServer, chat: Screen) -> None:
        start = len(server.requests)
        chat.paste("line one\nline two\nline three\nline four")
        chat.expect(r"\.\.\.> line four")  # all of it waits at the prompt, nothing sent
        assert len(server.requests) == start
        chat.type("\r")
        answered(chat)

        assert questions(server, start) == ["line one\nline two\nline three\nline four"]

    def test_lines_typed_at_once_are_one_question(self, server: FakeServer, chat: Screen) -> None:
        start = len(server.requests)
        chat.type("first\rsecond\rthird\r")  # one write: what a paste without brackets sends
        answered(chat)

        assert questions(server, start) == ["first\nsecond\nthird"]

    def test_a_block_comes_back_whole_with_up_arrow(self, server: FakeServer, chat: Screen) -> None:
        start = len(server.requests)
        chat.type('"""\r')
        chat.type("one\r")
        chat.type('two"""')
        chat.expect(r'\.\.\.> two"""')
        chat.type("\r")
        answered(chat)
        chat.type("\x1b[A")  # Up
        chat.expect(r'you> """\n\.\.\.> one\n\.\.\.> two"""\s*$')
        chat.type("\x1b[B\x1b[A")  # down and up again: still one entry
        chat.expect(r'you> """\n\.\.\.> one\n\.\.\.> two"""\s*$')
        chat.type("\r")  # sent again, whole
        answered(chat)

        assert questions(server, start) == ["one\ntwo", "one\ntwo"]

    def test_tab_completes_a_command(self, chat: Screen) -> None:
        chat.type("/his")
        chat.type("\t")
        chat.expect(r"you> /history\s*$")
        chat.type("\r")
        chat.expect("nothing said yet")
        chat.expect_prompt()

    def test_wide_characters_edit_as_shown(self, server: FakeServer, chat: Screen) -> None:
        start = len(server.requests)
        chat.type("x日本😀z")
        chat.expect("you> x日本😀z")
        chat.type("\x1b[D")  # Left: before the z
        chat.type("y")
        chat.expect("you> x日本😀yz")
        shown = chat.cursor_line.rstrip()
        column = chat.screen.cursor.x
        chat.type("\r")
        answered(chat)

        (sent,) = questions(server, start)
        assert sent == "x日本😀yz"
        assert shown == PROMPT + sent  # the screen showed what was sent
        assert column == len(PROMPT) + 1 + 2 + 2 + 2 + 1  # after the y: wide ones take two

    def test_an_emoji_sequence_is_redrawn_whole(self, server: FakeServer, chat: Screen) -> None:
        # pyte cannot draw a ZWJ sequence (it drops what follows the joiner),
        # so the bytes the editor wrote are read instead of the screen.
        start = len(server.requests)
        chat.type(f"x{ZWJ}z")
        chat.wait_until(lambda: f"x{ZWJ}z".encode() in chat.raw, "the sequence echoed")
        echoed = chat.raw.index(f"x{ZWJ}z".encode())
        chat.type("\x1b[D")
        chat.type("y")
        # Only what changed is redrawn: the y and what follows it.
        chat.wait_until(lambda: b"yz" in chat.raw[echoed:], "the line redrawn")
        chat.type("\r")
        answered(chat)

        assert questions(server, start) == [f"x{ZWJ}yz"]

    def test_piped_input_joins_the_message(self, server: FakeServer, home: Path) -> None:
        read, write = os.pipe()
        os.write(write, b"def f():\n    return 1\n")
        os.close(write)
        start = len(server.requests)
        screen = Screen(
            ["chat", "--base-url", server.url, "review this"], environment(home), stdin=read
        )
        os.close(read)
        try:
            assert screen.wait() == 0
        finally:
            screen.close()

        assert questions(server, start) == ["review this\n\ndef f():\n    return 1"]

    def test_file_and_edit_add_to_the_next_question(
        self, server: FakeServer, home: Path, tmp_path: Path
    ) -> None:
        code = tmp_path / "f.py"
        code.write_text("x = 1\n", encoding="utf-8")
        notes = tmp_path / "notes.txt"
        notes.write_text("remember ``` this\n", encoding="utf-8")
        editor = tmp_path / "editor.py"
        editor.write_text(
            "import sys, pathlib\npathlib.Path(sys.argv[1]).write_text('edited question')\n"
        )
        env = environment(home, EDITOR=f"{sys.executable} {editor}")
        start = len(server.requests)
        screen = Screen(["chat", "--base-url", server.url, "-f", str(code)], env)
        try:
            screen.expect_prompt()
            screen.type("look at it\r")
            answered(screen)
            screen.type(f"/file {notes}\r")
            screen.expect("goes with the next question")
            screen.expect_prompt()
            screen.type("and these\r")
            answered(screen)
            screen.type("plain again\r")
            answered(screen)
            screen.type("/edit\r")
            answered(screen)
            screen.type("/file /no/such/file\r")
            screen.expect("cannot read /no/such/file")
            screen.expect_prompt()
        finally:
            screen.close()

        assert questions(server, start) == [
            f"look at it\n\n{code}:\n```\nx = 1\n```",
            f"and these\n\n{notes}:\n````\nremember ``` this\n````",
            "plain again",
            "edited question",
        ]

    def test_an_empty_message_is_refused(self, server: FakeServer, home: Path) -> None:
        start = len(server.requests)
        screen = Screen(["chat", "--base-url", server.url, ""], environment(home))
        try:
            screen.expect(r"ails: error: the message is empty; give a question")
            assert screen.wait() == 1
        finally:
            screen.close()
        assert len(server.requests) == start
        assert not (home / "history.db").exists()


def _cells(screen: Screen, word: str) -> list[object]:
    """The pyte cells where ``word`` first shows on the screen."""
    for y, line in enumerate(screen.screen.display):
        x = line.find(word)
        if x >= 0:
            row = screen.screen.buffer[y]
            return [row[x + i] for i in range(len(word))]
    raise AssertionError(f"{word!r} is not on the screen:\n{screen.text}")


class TestOutput:
    def test_markdown_is_rendered_while_it_streams(self, server: FakeServer, home: Path) -> None:
        screen = Screen(["chat", "--base-url", server.url], environment(home), columns=40)
        try:
            screen.expect_prompt()
            screen.type("markdown please\r")
            answered(screen)
            text = screen.text
        finally:
            screen.close()

        assert "# Heading" not in text
        assert "Heading" in text
        assert all(cell.bold for cell in _cells(screen, "Heading"))  # type: ignore[attr-defined]
        assert "**" not in text
        assert all(cell.bold for cell in _cells(screen, "bold"))  # type: ignore[attr-defined]
        assert "• item one" in text
        assert "alpha" in text
        assert "| alpha |" not in text  # a table, not its pipes
        assert "```" not in text
        assert any(cell.fg != "default" for cell in _cells(screen, "print"))  # type: ignore[attr-defined]
        # Wrapped at 40 columns between words: every word is whole on some line.
        words = set(text.split())
        assert set(f"{PARAGRAPH}.".split()) <= words
        assert max(len(line) for line in text.splitlines()) <= 40

    def test_no_color_keeps_the_layout_and_drops_the_colours(
        self, server: FakeServer, home: Path
    ) -> None:
        screen = Screen(["chat", "--base-url", server.url], environment(home, NO_COLOR="1"))
        try:
            screen.expect_prompt()
            screen.type("markdown please\r")
            answered(screen)
        finally:
            screen.close()

        cells = [cell for row in screen.screen.buffer.values() for cell in row.values()]
        assert {cell.fg for cell in cells} == {"default"}
        assert {cell.bg for cell in cells} == {"default"}
        assert all(cell.bold for cell in _cells(screen, "Heading"))  # type: ignore[attr-defined]
        assert "**" not in screen.text

    def test_raw_shows_the_exact_text(self, server: FakeServer, home: Path) -> None:
        screen = Screen(["chat", "--raw", "--base-url", server.url], environment(home))
        try:
            screen.expect_prompt()
            screen.type("markdown please\r")
            answered(screen)
        finally:
            screen.close()

        assert "# Heading" in screen.text
        assert "Some **bold** words." in screen.text
        assert "| alpha | 1 |" in screen.text

    def test_a_one_shot_answer_is_rendered_too(self, server: FakeServer, home: Path) -> None:
        screen = Screen(["chat", "--base-url", server.url, "markdown please"], environment(home))
        try:
            assert screen.wait() == 0
        finally:
            screen.close()

        assert "• item one" in screen.text
        assert "**" not in screen.text
        assert re.search(r"ails: saved as [0-9a-f]{12}; go on with: ails chat -c", screen.text)

    def test_ctrl_c_before_the_first_token_claims_nothing_was_kept(
        self, server: FakeServer, chat: Screen
    ) -> None:
        start = len(server.requests)
        chat.type("be silent\r")
        chat.expect("waiting for the first token")
        chat.wait_until(lambda: len(server.requests) > start, "the request at the server")
        chat.type("\x03")
        chat.expect("interrupted before the answer began")
        chat.expect_prompt()

        assert "partial answer" not in chat.text
        assert server.requests[-1].fixture == "silent"

    def test_commands_say_plain_things(self, server: FakeServer, home: Path) -> None:
        argv = ["chat", "--base-url", server.url, "--system", "Be brief", "--window", "2"]
        screen = Screen(argv, environment(home))
        start = len(server.requests)
        try:
            screen.expect(r"model gpt-3.5-turbo · profile ails · sends the last 2 messages")
            screen.expect_prompt()
            screen.type("/retry\r")
            screen.expect("nothing to retry yet: ask a question first")
            screen.expect_prompt()
            screen.type("/history\r")
            screen.expect(r"system\s+Be brief")
            screen.expect_prompt()
            screen.type("one\r")
            answered(screen)
            screen.type("two\r")
            answered(screen)
            screen.type("/model other-model\r")
            screen.expect("model: other-model from the next question on")
            screen.expect_prompt()
            screen.type("/window 1\r")
            screen.expect("each question goes with the last 1 message")
            screen.expect_prompt()
            screen.type("three\r")
            answered(screen)
            screen.type("/system\r")
            screen.expect("system message cleared")
            screen.expect_prompt()
            screen.type("/system\r")
            screen.expect("there was no system message")
            screen.expect_prompt()
        finally:
            screen.close()

        assert "ValidationError" not in screen.text
        sent = [r.json for r in server.requests[start:]]
        assert [len(body["messages"]) for body in sent] == [2, 4, 3]  # system + window + question
        assert [body["model"] for body in sent] == ["gpt-3.5-turbo", "gpt-3.5-turbo", "other-model"]

    def test_the_banner_warns_when_questions_go_to_the_public_service(self, home: Path) -> None:
        screen = Screen(["chat"], environment(home))
        try:
            screen.expect(r"· server https://api\.caipacity\.com\n")
            screen.expect(r"!! questions go to the public Ails service")
            screen.expect_prompt()
            screen.type("\x04")  # leaves before anything is asked: nothing is sent
            assert screen.wait() == 0
        finally:
            screen.close()

    def test_a_local_server_gets_no_warning(self, chat: Screen) -> None:
        assert "public Ails service" not in chat.text
        assert "profile ails · sends the last 6 messages" in chat.text

    def test_the_missing_key_message_names_the_option(self, server: FakeServer, home: Path) -> None:
        start = len(server.requests)
        argv = ["chat", "--profile", "openai", "--base-url", server.url, "hi"]
        screen = Screen(argv, environment(home))
        try:
            screen.expect(r"give --api-key KEY or set AILS_API_KEY")
            assert screen.wait() == 1
        finally:
            screen.close()
        assert "api_key=" not in screen.text
        assert len(server.requests) == start

    def test_save_writes_0600_with_the_answer_s_headings_below(
        self, chat: Screen, tmp_path: Path
    ) -> None:
        target = tmp_path / "chat.md"
        chat.type("markdown please\r")
        answered(chat)
        chat.type(f"/save {target}\r")
        chat.expect("saved to")
        chat.expect_prompt()

        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        saved = target.read_text(encoding="utf-8")
        assert "## Assistant\n\n### Heading\n" in saved
        assert "\n# Heading" not in saved
