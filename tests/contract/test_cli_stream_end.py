"""How `ails chat` reports the end of an answer: the done event and the cut-answer note."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from ails.cli import main
from ails.cli.terminal import CUT_NOTE
from ails.testing import FakeServer, chat_chunk, sse_event
from ails.testing.fixtures import parse_fixture

USAGE = {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14}


def _cut_fixture() -> dict[str, object]:
    finish = {**chat_chunk(finish_reason="length"), "model": "gpt-4o-mini", "usage": USAGE}
    events = [chat_chunk(role="assistant"), chat_chunk("Once"), chat_chunk(" upon"), finish]
    return {
        "name": "cut",
        "match": "story",
        "replies": [{"body": [sse_event(e).decode() for e in events] + ["data: [DONE]\n\n"]}],
    }


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    cut = parse_fixture(_cut_fixture())
    with FakeServer(delay_scale=0.0, fixtures={"cut": cut}) as running:
        yield running


def test_json_done_carries_finish_reason_usage_and_model(server, capsys):
    assert main(["chat", "--json", "--base-url", server.url, "a story"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert re.fullmatch("[0-9a-f]{32}", events[-1].pop("conversation_id"))
    assert events[-1] == {
        "event": "done",
        "tokens": 2,
        "finish_reason": "length",
        "usage": USAGE,
        "model": "gpt-3.5-turbo",  # the first chunk's model wins
    }


@pytest.mark.parametrize("transport", ["requests", "aiohttp"])
def test_a_cut_answer_gets_a_one_line_note(server, capsys, transport):
    assert main(["chat", "--transport", transport, "--base-url", server.url, "a story"]) == 0
    out, err = capsys.readouterr()
    assert out == "Once upon\n"
    assert err.splitlines() == [CUT_NOTE]


def test_a_complete_answer_gets_no_note(server, capsys):
    assert main(["chat", "--base-url", server.url, "Привет"]) == 0
    assert capsys.readouterr().err == ""


def test_the_interactive_session_notes_a_cut_answer_too(server):
    import io

    from ails import Client, Conversation
    from ails.cli.session import Session

    out, err = io.StringIO(), io.StringIO()
    with Client(base_url=server.url) as client:
        conversation = Conversation(client)
        session = Session(
            client, conversation, reader=None, out=out, err=err, options={}, saving=False
        )
        session.ask(lambda: conversation.stream("a story"))
        session.ask(lambda: conversation.stream("Привет"))
    assert out.getvalue().startswith("Once upon\n")
    notes = [line for line in err.getvalue().splitlines() if not line.startswith("──")]
    assert notes == [CUT_NOTE]
    assert "cut at the token limit ──" in err.getvalue().splitlines()[1]  # the closing line
