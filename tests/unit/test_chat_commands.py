"""The interactive session's loop and ``/commands``, driven by a scripted reader."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from ails import Client, Conversation
from ails.cli.prompt import LineReader
from ails.cli.session import Session
from ails.errors import TransportError
from ails.testing import MockResponse, MockTransport, chat_stream


class Script(LineReader):
    """A reader that hands out lines (or raises what is given) instead of prompting."""

    def __init__(self, lines: Iterable[str | BaseException]) -> None:
        super().__init__(None)
        self.lines = list(lines)
        self.saved = False

    def read(self) -> str:
        if not self.lines:
            raise EOFError
        line = self.lines.pop(0)
        if isinstance(line, BaseException):
            raise line
        return line

    def save(self) -> None:
        self.saved = True


def session(lines: Iterable[str | BaseException], *answers: Any) -> tuple[Session, Any]:
    queue = list(answers)

    def handler(request: Any) -> Any:
        if queue:
            answer = queue.pop(0)
            if isinstance(answer, BaseException):
                raise answer
            return answer
        question = json.loads(request.body)["messages"][-1]["content"]
        return MockResponse(chunks=chat_stream([f"re: {question}"]))

    transport = MockTransport(handler)
    client = Client(transport, base_url="http://127.0.0.1:8787")
    out, err = io.StringIO(), io.StringIO()
    return (
        Session(
            client,
            Conversation(client),
            reader=Script(lines),
            out=out,
            err=err,
            options={"temperature": 0.3},
            saving=False,
        ),
        transport,
    )


def screen(s: Session) -> tuple[str, str]:
    return s._out.getvalue(), s._err.getvalue()  # type: ignore[attr-defined]


def test_questions_commands_and_the_end() -> None:
    s, transport = session(["hello", "", "/system Be brief", "/history", "/exit", "never"])
    assert s.run() == 0
    out, err = screen(s)
    assert out == "re: hello\n"
    assert "system message: Be brief" in err
    assert "  1 user      hello" in err
    assert err.strip().endswith("was not saved (--no-log)")
    assert len(transport.requests) == 1
    assert json.loads(transport.requests[0].body)["temperature"] == 0.3
    assert s._reader.saved  # type: ignore[attr-defined]


def test_leaving_before_asking_says_nothing_was_saved() -> None:
    s, _ = session(["/exit"])
    s._saving = True
    assert s.run() == 0
    assert screen(s)[1].strip().endswith("nothing was saved: no question was asked")


def test_the_reason_for_not_saving_is_the_one_given() -> None:
    s, _ = session(["hello"])
    s._unsaved_reason = "AILS_NO_LOG"
    assert s.run() == 0
    assert screen(s)[1].strip().endswith("was not saved (AILS_NO_LOG)")


def test_ctrl_c_at_the_prompt_clears_the_line_and_goes_on() -> None:
    s, _ = session([KeyboardInterrupt(), "hello"])
    assert s.run() == 0
    assert screen(s)[0] == "re: hello\n\n"  # prompt_toolkit clears the line itself


def test_ctrl_c_during_an_answer_keeps_it_incomplete_and_goes_on() -> None:
    s, _ = session(
        ["hello", "again"],
        MockResponse(
            chunks=[*chat_stream(["part"], finish=False, done=False), KeyboardInterrupt()]
        ),
    )
    assert s.run() == 0
    err = screen(s)[1]
    assert "interrupted: the partial answer is kept" in err
    turns = s.conversation.messages
    assert [(t.content, t.complete, t.error) for t in turns[:2]] == [
        ("hello", False, "KeyboardInterrupt"),
        ("part", False, "KeyboardInterrupt"),
    ]
    assert turns[-1].content == "re: again"


def test_an_error_is_one_line_and_the_session_goes_on() -> None:
    s, _ = session(["hello", "again"], TransportError("connection refused"))
    assert s.run() == 0
    out, err = screen(s)
    assert "ails: TransportError: connection refused\n" in err
    assert "re: again\n" in out


def test_retry_new_help_unknown_and_save(tmp_path: Path) -> None:
    target = tmp_path / "chat.md"
    s, _ = session(
        [
            "/retry",
            "hello",
            "/retry",
            f"/save {target}",
            "/save",
            f"/save {tmp_path / 'no' / 'such' / 'dir.md'}",
            "/help",
            "/nope",
            "/system",
            "/new",
            "/history",
        ]
    )
    first = s.conversation.id
    assert s.run() == 0
    out, err = screen(s)
    assert "nothing to retry yet: ask a question first" in err  # in plain words
    assert "ValidationError" not in err
    assert out == "re: hello\nre: hello\n\n"  # the last newline: Ctrl-D
    assert target.read_text().startswith("# hello\n")
    assert "give a file name" in err
    assert "cannot save to" in err
    assert "/save FILE" in err  # the help
    assert '"""' in err
    assert "unknown command /nope" in err
    assert "there was no system message" in err  # none was set: nothing was cleared
    assert s.conversation.id != first
    assert f"new conversation {s.conversation.id}" in err
    assert "nothing said yet" in err


def test_the_history_marks_incomplete_messages() -> None:
    s, _ = session(["hello", "/history"], TransportError("reset"))
    s.run()
    assert "  1 user      hello [incomplete: TransportError]" in screen(s)[1]


class TestLineReader:
    def test_a_block_of_several_lines(self, monkeypatch: pytest.MonkeyPatch) -> None:
        typed = iter(['"""first', "second", 'third"""'])
        monkeypatch.setattr("builtins.input", lambda prompt="": next(typed))
        assert LineReader(None).read() == "first\nsecond\nthird"

    def test_a_block_on_one_line_and_a_plain_line(self, monkeypatch: pytest.MonkeyPatch) -> None:
        typed = iter(['  """one line"""', "plain"])
        monkeypatch.setattr("builtins.input", lambda prompt="": next(typed))
        reader = LineReader(None)
        assert reader.read() == "one line"
        assert reader.read() == "plain"

    def test_the_input_history_is_never_readable_by_others(self, tmp_path: Path) -> None:
        # readline creates its file 0644: the file must be 0600 before it writes.
        history = tmp_path / "home" / "input_history"
        modes: list[int] = []

        class Readline:
            def write_history_file(self, path: Path) -> None:
                modes.append(Path(path).stat().st_mode & 0o777)
                Path(path).write_text("hello\n")

        reader = LineReader(history)
        reader._readline = Readline()  # type: ignore[assignment]
        reader.save()
        history.chmod(0o644)  # left so by an older ails
        reader.save()
        assert modes == [0o600, 0o600]
        assert history.stat().st_mode & 0o777 == 0o600

    def test_the_input_history_is_private(self, tmp_path: Path) -> None:
        history = tmp_path / "home" / "input_history"
        reader = LineReader(history)
        reader.save()
        assert history.stat().st_mode & 0o777 == 0o600
        LineReader(history)  # reads it back without complaint
