"""`ails chat` never lets the server write escape sequences to a terminal.

A token holding ``ESC ] 0 ; title BEL`` would retitle the terminal, and an
OSC 52 sequence in an error body would set the clipboard. On a terminal the
control characters are stripped; piped output and ``--json`` keep the text.
"""

from __future__ import annotations

import io
import json
import sys

import pytest

from ails import Client, Conversation
from ails.cli import EXIT_ERROR, main
from ails.cli.prompt import LineReader
from ails.cli.session import Session
from ails.cli.terminal import (
    JsonLinesOutput,
    Spinner,
    TextOutput,
    for_stream,
    sanitize_for_terminal,
)
from ails.testing import FakeServer, Fixture, MockResponse, MockTransport, chat_stream
from ails.testing.fixtures import Reply, Step

RETITLE = "\x1b]0;pwned\x07"
CLIPBOARD = "\x1b]52;c;ZWNobyBoaQ==\x07"
TOKENS = ["Hello ", f"{RETITLE}there", "\x9b2J\ttab\nline"]
EXACT = "".join(TOKENS)
SHOWN = "Hello ]0;pwnedthere2J\ttab\nline"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _fixtures() -> dict[str, Fixture]:
    answer = Reply(body=tuple(Step(data=chunk) for chunk in chat_stream(TOKENS)))
    error = Reply(
        status=400,
        headers=(("content-type", "text/plain"),),
        body=(Step(data=f"bad request {CLIPBOARD}\x1b[2J done".encode()),),
    )
    return {
        "escapes": Fixture(name="escapes", replies=(answer,), expect={"text": EXACT}),
        "escapes-400": Fixture(name="escapes-400", replies=(error,)),
    }


@pytest.fixture(scope="module")
def server():
    with FakeServer(fixtures=_fixtures(), delay_scale=0.0) as running:
        yield running


class TestSanitize:
    @pytest.mark.parametrize(
        ("text", "shown"),
        [
            ("plain ☃ text", "plain ☃ text"),
            ("keeps\ttab\nand newline", "keeps\ttab\nand newline"),
            (RETITLE, "]0;pwned"),
            ("a\rb\x08c\x00d\x7fe", "abcde"),
            ("c1 \x9b31m \x9d0;t\x9c \x85", "c1 31m 0;t "),
        ],
    )
    def test_strips_control_characters_but_newline_and_tab(self, text: str, shown: str) -> None:
        assert sanitize_for_terminal(text) == shown

    def test_for_stream_keeps_piped_text_exact(self) -> None:
        assert for_stream(RETITLE, io.StringIO()) == RETITLE
        assert for_stream(RETITLE, _Terminal()) == "]0;pwned"


class TestOutputs:
    def test_text_on_a_terminal_is_sanitized(self) -> None:
        terminal = _Terminal()
        output = TextOutput(terminal)
        for token in TOKENS:
            output.token(token)

        assert terminal.getvalue() == SHOWN

    def test_text_into_a_pipe_is_exact(self) -> None:
        pipe = io.StringIO()
        output = TextOutput(pipe)
        for token in TOKENS:
            output.token(token)

        assert pipe.getvalue() == EXACT

    @pytest.mark.parametrize("stream", [io.StringIO, _Terminal])
    def test_json_lines_are_inert_and_decode_to_the_exact_text(self, stream: type) -> None:
        out = stream()
        output = JsonLinesOutput(out)
        for token in TOKENS:
            output.token(token)

        lines = out.getvalue().splitlines()
        assert "".join(json.loads(line)["text"] for line in lines) == EXACT
        assert sanitize_for_terminal(out.getvalue()) == out.getvalue()


class TestChat:
    def test_raw_tokens_on_a_terminal_carry_no_escape(self, server, monkeypatch):
        terminal = _Terminal()
        monkeypatch.setattr(sys, "stdout", terminal)
        assert main(["chat", "--raw", "--base-url", server.url_for("escapes"), "hi"]) == 0

        assert terminal.getvalue() == SHOWN + "\n"

    def test_rendered_tokens_on_a_terminal_carry_none_of_the_server_s_escapes(
        self, server, monkeypatch
    ):
        terminal = _Terminal()
        monkeypatch.setattr(sys, "stdout", terminal)
        assert main(["chat", "--base-url", server.url_for("escapes"), "hi"]) == 0

        shown = terminal.getvalue()
        assert "pwned" in shown  # the text is rendered, its controls are not
        assert RETITLE not in shown
        assert "\x9b" not in shown
        assert "\x1b]" not in shown  # no OSC at all: rich's own codes are CSI only

    def test_piped_tokens_are_exact(self, server, capsys):
        assert main(["chat", "--base-url", server.url_for("escapes"), "hi"]) == 0

        assert capsys.readouterr().out == EXACT + "\n"

    def test_json_keeps_the_exact_text(self, server, capsys):
        assert main(["chat", "--json", "--base-url", server.url_for("escapes"), "hi"]) == 0

        events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert "".join(e["text"] for e in events if e["event"] == "token") == EXACT

    def test_an_error_body_on_a_terminal_stderr_carries_no_escape(self, server, monkeypatch):
        terminal = _Terminal()
        monkeypatch.setattr(sys, "stderr", terminal)
        status = main(["chat", "--base-url", server.url_for("escapes-400"), "hi"])

        # The spinner's own line comes first and is erased with Spinner.CLEAR.
        shown = terminal.getvalue().rpartition(Spinner.CLEAR)[2]
        assert status == EXIT_ERROR
        assert shown.startswith("ails: HTTPStatusError: HTTP 400")
        assert "]52;c;ZWNobyBoaQ==" in shown  # the text is kept, its controls are not
        assert sanitize_for_terminal(shown) == shown

    def test_a_piped_error_keeps_the_server_text(self, server, capsys):
        assert main(["chat", "--base-url", server.url_for("escapes-400"), "hi"]) == EXIT_ERROR

        assert CLIPBOARD in capsys.readouterr().err


class TestInteractiveSession:
    """The interactive ``ails chat`` (always on a terminal) shows answers and errors inert."""

    @staticmethod
    def _session(*answers: MockResponse) -> tuple[Session, _Terminal, _Terminal]:
        queue = list(answers)
        client = Client(MockTransport(lambda request: queue.pop(0)), base_url="http://h:1")
        out, err = _Terminal(), _Terminal()
        session = Session(
            client,
            Conversation(client),
            reader=LineReader(None),
            out=out,
            err=err,
            options={},
            saving=False,
            raw=True,
        )
        return session, out, err

    def test_tokens_and_errors_carry_no_escape(self) -> None:
        error_body = f"bad {CLIPBOARD}".encode()
        session, out, err = self._session(
            MockResponse(chunks=chat_stream(TOKENS)),
            MockResponse(status=400, headers={"content-type": "text/plain"}, chunks=[error_body]),
        )

        session.ask(lambda: session.conversation.stream("hi"))
        session.ask(lambda: session.conversation.stream("again"))

        assert out.getvalue() == SHOWN + "\n"
        shown = err.getvalue().rpartition(Spinner.CLEAR)[2]
        assert "HTTPStatusError" in shown
        assert "]52;c;ZWNobyBoaQ==" in shown
        assert sanitize_for_terminal(shown) == shown
