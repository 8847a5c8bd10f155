"""``ails logs``: search (-q), ``list``, ``show`` without an id, failed marks, one time zone."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from ails.cli.main import main
from ails.testing.server import FakeServer


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with FakeServer(delay_scale=0.0) as running:
        yield running


@pytest.fixture(autouse=True)
def home(ails_home: Path) -> Path:
    return ails_home


def chat(server: FakeServer, *args: str, url: str | None = None) -> int:
    return main(["chat", "--base-url", url or server.url, *args])


def run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert main(["logs", *args]) == 0
    return capsys.readouterr().out


class TestSearch:
    def test_q_finds_words_in_any_case_and_script(
        self, server: FakeServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        chat(server, "Привет")  # the ru-greeting answer: it says хорошо
        chat(server, "hello")

        hits = json.loads(run(capsys, "-q", "ПРИВЕТ", "--json"))

        assert {hit["role"] for hit in hits} == {"user", "assistant"}
        assert all(hit["title"] == "Привет" for hit in hits)
        assert "хорошо" in run(capsys, "-q", "Хорошо")
        assert (
            run(capsys, "-q", "nowhere-to-be-found") == "no message holds 'nowhere-to-be-found'\n"
        )

    def test_hits_are_ranked_and_marked(
        self, server: FakeServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        chat(server, "hello")  # "Hello! I'm doing well, thanks. How can I help you today?"
        chat(server, "hello hello hello")

        hits = json.loads(run(capsys, "-q", "hello", "--json"))
        shown = run(capsys, "-q", "hello")

        assert [hit["rank"] for hit in hits] == sorted(hit["rank"] for hit in hits)
        assert hits[0]["snippet"] == "hello hello hello"  # the best match first
        assert "[hello] [hello] [hello]" in shown  # piped: the matches between brackets

    def test_list_is_a_name_for_the_listing(
        self, server: FakeServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        chat(server, "hello")

        assert run(capsys, "list") == run(capsys)
        assert "hello" in run(capsys, "list", "-n", "1")


class TestListAndShow:
    def test_the_list_names_model_server_and_failures(
        self, server: FakeServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        chat(server, "hello")
        chat(server, "this fails", url=server.url_for("not-found"))

        failed, fine = run(capsys).splitlines()

        assert failed.endswith("this fails  [failed]")
        assert fine.endswith("hello")
        host = server.url.split("//")[1]
        assert f"gpt-3.5-turbo  {host}" in fine
        assert "[failed]" not in fine
        assert [item["failed"] for item in json.loads(run(capsys, "--json"))] == [True, False]

    def test_show_without_an_id_shows_the_latest(
        self, server: FakeServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        chat(server, "hello")
        chat(server, "Привет")

        assert run(capsys, "show").startswith("# Привет\n")

    def test_show_with_nothing_saved_says_so(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["logs", "show"]) == 1
        assert "no conversation" in capsys.readouterr().err

    def test_list_and_show_print_times_in_the_same_zone(
        self, server: FakeServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        chat(server, "hello")

        listed = re.search(r"(\d{4}-\d\d-\d\d) (\d\d:\d\d) UTC", run(capsys))
        shown = re.search(
            r"started: (\d{4}-\d\d-\d\d)T(\d\d:\d\d):\d\d\+00:00", run(capsys, "show")
        )

        assert listed is not None
        assert shown is not None
        assert listed.groups() == shown.groups()

    @pytest.mark.parametrize("action", ["list", "show", "path", "delete"])
    def test_each_action_s_help_ends_with_examples(
        self, action: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with pytest.raises(SystemExit):
            main(["logs", action, "--help"])
        help = capsys.readouterr().out
        examples = help.rpartition("Examples:\n")[2]
        assert examples.strip().startswith(f"ails logs {action}")
