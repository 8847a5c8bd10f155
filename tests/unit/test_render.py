"""Markdown while it streams: blocks cut where Markdown cuts them, only the open one redrawn."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console

from ails.cli.render import MarkdownStream, split_blocks


class TestSplitBlocks:
    def test_blank_lines_end_blocks(self) -> None:
        assert split_blocks("# T\n\none\ntwo\n\nthree") == (
            ["# T\n\n", "one\ntwo\n\n"],
            "three",
            None,
        )

    def test_a_fence_holds_its_blank_lines_and_ends_at_its_closing_line(self) -> None:
        text = "```py\nx = 1\n\ny = 2\n```\nafter"
        assert split_blocks(text) == (["```py\nx = 1\n\ny = 2\n```\n"], "after", None)

    def test_an_open_fence_is_reported(self) -> None:
        assert split_blocks("~~~~\ncode\n\n") == ([], "~~~~\ncode\n\n", "~~~~")
        # A shorter or other fence does not close it; as many marks or more do.
        assert split_blocks("~~~~\n~~~\n```\n~~~~~\n")[0] == ["~~~~\n~~~\n```\n~~~~~\n"]

    def test_a_fence_with_an_info_string_does_not_close(self) -> None:
        assert split_blocks("```\n```python\n")[2] == "```"

    @pytest.mark.parametrize("cut", range(1, 30))
    def test_blocks_do_not_depend_on_where_the_text_was_cut(self, cut: int) -> None:
        text = "para one\n\n```\na\n\nb\n```\n\nlast line\n"
        first, rest, _ = split_blocks(text[:cut])
        second, _, _ = split_blocks(rest + text[cut:])
        assert [*first, *second] == split_blocks(text)[0]


class _Counting(MarkdownStream):
    """Records every text it renders as Markdown."""

    def __init__(self, console: Console) -> None:
        super().__init__(io.StringIO(), console=console)
        self.rendered: list[str] = []

    def _markdown(self, text: str) -> Any:
        self.rendered.append(text)
        return super()._markdown(text)


def _console(out: io.StringIO, height: int = 40) -> Console:
    return Console(file=out, force_terminal=True, width=60, height=height, color_system=None)


class TestMarkdownStream:
    def test_a_finished_block_is_rendered_once_and_never_again(self) -> None:
        paragraphs = [f"paragraph number {n} with words." for n in range(30)]
        stream = _Counting(_console(io.StringIO()))
        for token in "\n\n".join(paragraphs).split(" "):
            stream.token(token + " ")
            stream._tail()  # what each redraw renders: the open block only
        stream.finish()

        for number in range(len(paragraphs) - 1):
            holding = [text for text in stream.rendered if f"number {number} " in text]
            settled = [text for text in holding if text.endswith("\n\n")]
            assert len(settled) == 1, number  # printed above the live part once
            assert all(f"number {number + 1} " not in text for text in holding)

    def test_a_code_block_taller_than_the_screen_is_settled_and_reopened(self) -> None:
        out = io.StringIO()
        stream = _Counting(_console(out, height=10))
        code = "".join(f"line_{n} = {n}\n" for n in range(30))
        for line in f"```python\n{code}```\n".splitlines(keepends=True):
            stream.token(line)
        stream.finish()

        settled = [text for text in stream.rendered if text.endswith("```\n")]
        assert len(settled) >= 3  # cut into pieces that fit the screen
        assert all(text.startswith("```python\n") for text in settled)  # each one highlighted
        shown = out.getvalue()
        assert all(f"line_{n} = {n}" in shown for n in range(30))

    def test_finish_is_idempotent_and_a_silent_answer_draws_nothing(self) -> None:
        out = io.StringIO()
        stream = MarkdownStream(out, console=_console(out))
        stream.token("")
        stream.finish()
        stream.finish()
        assert out.getvalue() == ""
        assert not stream.shown
