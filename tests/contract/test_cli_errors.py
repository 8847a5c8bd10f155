"""The ``ails`` command says what went wrong in one line: no traceback, no internal name.

Each case is something a newcomer runs into: a busy or impossible port, a
fixture folder that is missing or holds a broken file, a recording folder
that cannot be written, a pipe closed by ``head``, a negative timeout, no
message at all. Every subcommand's help ends with examples that never send
to the real service.
"""

from __future__ import annotations

import errno
import io
import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ails.cli import EXIT_ERROR, main
from ails.cli.errors import EXIT_BROKEN_PIPE
from ails.cli.main import build_parser
from ails.cli.terminal import Spinner
from ails.testing import FakeServer, RecordingTransport

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server():
    with FakeServer(delay_scale=0.0) as running:
        yield running


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Stdin(io.StringIO):
    def __init__(self, text: str, *, tty: bool) -> None:
        super().__init__(text)
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def _one_clear_line(err: str) -> str:
    """The single ``ails: ...`` line in ``err``, checked for leaks of internals."""
    assert "Traceback" not in err
    assert "CliError" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("ails: ")
    return lines[0]


def _usage_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


class TestServe:
    def test_a_busy_port_says_so_and_how_to_pick_another(self, capsys):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            assert main(["serve", "--port", str(port)]) == EXIT_ERROR
        line = _one_clear_line(capsys.readouterr().err)
        assert line == (
            f"ails: error: port {port} on 127.0.0.1 is already in use (another ails serve?); "
            "pick another with --port N, or --port 0 for any free port"
        )

    @pytest.mark.parametrize("port", ["99999", "-1", "eighty"])
    def test_an_impossible_port_is_a_usage_error(self, capsys, port):
        line = _usage_error(capsys, ["serve", "--port", port])
        assert line.startswith("ails serve: error: argument --port: ")
        assert "0 for any free port" in line or "not a port number" in line

    def test_a_missing_fixtures_folder_is_refused(self, tmp_path, capsys):
        missing = tmp_path / "fixtrues"
        assert main(["serve", "--port", "0", "--fixtures", str(missing)]) == EXIT_ERROR
        line = _one_clear_line(capsys.readouterr().err)
        assert line == f"ails: error: the fixtures folder {str(missing)!r} does not exist"

    def test_a_broken_fixture_file_is_named(self, tmp_path, capsys):
        (tmp_path / "mine.json").write_text('{"name": "mine",', encoding="utf-8")
        assert main(["serve", "--port", "0", "--fixtures", str(tmp_path)]) == EXIT_ERROR
        line = _one_clear_line(capsys.readouterr().err)
        assert line.startswith(f"ails: error: {tmp_path / 'mine.json'}: not valid JSON")
        assert line.endswith("the format is in docs/testing.md#the-fixture-format")
        assert "FixtureError" not in line

    @pytest.mark.parametrize(
        ("extra", "shown"),
        [
            ([], "--api-key any-key"),
            (["--api-key", "sk-fake"], "--api-key sk-fake"),
        ],
    )
    def test_the_openai_try_line_works_as_printed(self, extra, shown, capsys, monkeypatch):
        process = subprocess.Popen(
            [sys.executable, "-m", "ails", "serve", "--port", "0", "--profile", "openai", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stdout is not None
            process.stdout.readline()  # "ails fake server on ..."
            try_line = process.stdout.readline()
            accepts = process.stdout.readline()
        finally:
            process.terminate()
            process.communicate(timeout=10)
        assert try_line.startswith("try: ails chat --profile openai ")
        assert shown in try_line
        assert "fake server accepts" in accepts
        # Run the printed command as it is (without the "try: ails" and the server
        # it named, which has stopped, swapped for a running one with the same rule).
        argv = _shell_words(try_line.removeprefix("try: ails").strip())
        monkeypatch.delenv("AILS_API_KEY", raising=False)
        key = extra[1] if extra else None
        with FakeServer(profile="openai", api_key=key, delay_scale=0.0) as openai:
            argv[argv.index("--base-url") + 1] = openai.url
            assert main(argv) == 0
            assert openai.requests[-1].rejection is None
        assert "Hello!" in capsys.readouterr().out


def _shell_words(line: str) -> list[str]:
    import shlex

    return shlex.split(line)


class TestChatMistakes:
    def test_no_message_on_a_terminal_is_reported_before_any_spinner(
        self, server, tmp_path, monkeypatch
    ):
        terminal = _Terminal()
        monkeypatch.setattr(sys, "stdin", _Stdin("", tty=True))
        monkeypatch.setattr(sys, "stderr", terminal)
        argv = ["record", "--base-url", server.url, "--out", str(tmp_path)]
        sent = len(server.requests)
        assert main(argv) == EXIT_ERROR
        shown = terminal.getvalue()
        assert Spinner.FRAMES[0] not in shown
        assert _one_clear_line(shown) == (
            'ails: error: give a message, e.g. ails record "Привет!", or pipe one on stdin'
        )
        assert len(server.requests) == sent

    def test_empty_stdin_is_one_line_without_class_names(self, server, capsys, monkeypatch):
        monkeypatch.setattr(sys, "stdin", _Stdin("  \n", tty=False))
        assert main(["chat", "--base-url", server.url]) == EXIT_ERROR
        line = _one_clear_line(capsys.readouterr().err)
        assert line == 'ails: error: stdin was empty; give a message, e.g. ails chat "Привет!"'

    @pytest.mark.parametrize("value", ["-1", "0", "soon", "nan", "inf"])
    def test_a_timeout_that_is_not_a_positive_number_is_refused(self, capsys, value):
        line = _usage_error(capsys, ["chat", "--timeout", value, "hi"])
        assert line == (
            "ails chat: error: argument --timeout: expected a positive number of seconds, "
            f"such as 30 or 2.5; got {value!r}"
        )

    def test_errors_of_the_library_keep_their_public_class_name(self, server, capsys):
        assert main(["chat", "--base-url", server.url_for("rate-limited"), "hi"]) == EXIT_ERROR
        assert _one_clear_line(capsys.readouterr().err).startswith("ails: RateLimitError: HTTP 429")


class TestBrokenPipe:
    def test_a_reader_that_left_before_the_answer_ends_the_command_quietly(self, server):
        # ``ails chat ... | head -c 0``: nobody reads, so the first token's write fails.
        process = subprocess.Popen(
            [sys.executable, "-m", "ails", "chat", "--base-url", server.url, "Привет!"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert process.stdout is not None
        process.stdout.close()
        _, err = process.communicate(timeout=30)
        assert err == b""
        assert process.returncode == EXIT_BROKEN_PIPE

    @pytest.mark.parametrize("transport", ["requests", "aiohttp"])
    def test_a_pipe_closed_mid_answer_stops_reading_and_says_nothing(
        self, server, capsys, monkeypatch, transport
    ):
        class Head(io.StringIO):
            """``head -c 5``: takes five characters, then the pipe is gone."""

            def write(self, text: str) -> int:
                if self.tell() >= 5:
                    raise BrokenPipeError(32, "Broken pipe")
                return super().write(text[: 5 - self.tell()])

        head = Head()
        monkeypatch.setattr(sys, "stdout", head)
        url = server.url_for("ru-greeting")
        assert main(["chat", "--base-url", url, "--transport", transport, "hi"]) == (
            EXIT_BROKEN_PIPE
        )
        assert head.getvalue() == server.fixtures["ru-greeting"].expect["text"][:5]
        assert capsys.readouterr().err == ""


class TestRecord:
    def test_a_folder_that_cannot_be_created_is_reported_before_asking(
        self, server, tmp_path, capsys
    ):
        blocker = tmp_path / "a-file"
        blocker.write_text("", encoding="utf-8")
        sent = len(server.requests)
        argv = ["record", "hi", "--base-url", server.url, "--out", str(blocker / "fixtures")]
        assert main(argv) == EXIT_ERROR
        line = _one_clear_line(capsys.readouterr().err)
        assert line.startswith(
            f"ails: error: cannot create the folder {str(blocker / 'fixtures')!r}"
        )
        assert len(server.requests) == sent

    @pytest.mark.parametrize("transport", ["requests", "aiohttp"])
    def test_a_file_that_cannot_be_written_after_the_answer_is_one_line(
        self, server, tmp_path, capsys, monkeypatch, transport
    ):
        # The disk fills up while the answer streams (the file is written as
        # the response closes): no permission trick can do that under root.
        def disk_full(self):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(RecordingTransport, "_create", disk_full)
        argv = ["record", "Привет", "--base-url", server.url, "--out", str(tmp_path)]
        assert main([*argv, "--transport", transport]) == EXIT_ERROR
        out, err = capsys.readouterr()
        assert out == server.fixtures["ru-greeting"].expect["text"] + "\n"
        assert _one_clear_line(err) == (
            f"ails: error: could not save the recording in {str(tmp_path)!r}: "
            "No space left on device"
        )

    def test_names_the_file_it_wrote(self, server, tmp_path, capsys):
        argv = ["record", "Привет", "--base-url", server.url, "--out", str(tmp_path)]
        assert main(argv) == 0
        [written] = tmp_path.glob("*.json")
        assert capsys.readouterr().err == f"ails: recorded to {written}\n"

    def test_names_the_file_it_wrote_when_the_answer_was_an_error(self, server, tmp_path, capsys):
        argv = ["record", "hi", "--base-url", server.url_for("not-found"), "--out", str(tmp_path)]
        assert main(argv) == EXIT_ERROR
        [written] = tmp_path.glob("*.json")
        assert json.loads(written.read_text(encoding="utf-8"))["replies"][0]["status"] == 404
        recorded, error = capsys.readouterr().err.splitlines()
        assert recorded == f"ails: recorded to {written}"
        assert error.startswith("ails: HTTPStatusError: HTTP 404")  # the last line, as usual


def _subcommands() -> dict[str, str]:
    """Every registered subcommand and its help page, as ``ails X --help`` prints it."""
    parser = build_parser()
    [action] = [a for a in parser._actions if a.dest == "command"]
    assert action.choices
    return {name: sub.format_help() for name, sub in action.choices.items()}


# A command line that asks a question, or forwards questions; it must name its server.
# (`ails gateway: ...` is what the command prints, not a command.)
_ASKS = re.compile(r"(?:^|[\s|$])ails (?:chat|record|gateway)\b(?!:)")
# Environment assignments before a command: `AILS_GATEWAY_KEY=k ails gateway ...`.
_ASSIGNMENTS = re.compile(r"^(?:[A-Z_][A-Z0-9_]*=\S*\s+)+")


def _sends_to_the_real_service(line: str) -> bool:
    return bool(_ASKS.search(line)) and not re.search(r"--base-url|AILS_BASE_URL", line)


class TestHelp:
    @pytest.mark.parametrize("command", sorted(_subcommands()))
    def test_every_subcommand_ends_with_examples(self, command):
        page = _subcommands()[command]
        _, found, examples = page.partition("\nExample")
        assert found, f"`ails {command} --help` has no examples"
        assert f"ails {command}" in examples or command == "demo"

    @pytest.mark.parametrize("command", ["", *sorted(_subcommands())])
    def test_no_example_in_help_asks_the_real_service(self, command):
        page = build_parser().format_help() if not command else _subcommands()[command]
        _, _, examples = page.partition("\nExample")
        asking = [line for line in examples.splitlines() if _sends_to_the_real_service(line)]
        assert asking == [], f"examples without --base-url in `ails {command} --help`"

    def test_no_command_in_the_docs_asks_the_real_service(self):
        pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
        asking = []
        for page in pages:
            exported = False  # an `export AILS_BASE_URL=...` earlier on the page counts
            for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
                exported = exported or "export AILS_BASE_URL=" in line
                command = line.strip().removeprefix("$ ")
                program = _ASSIGNMENTS.sub("", command)
                if (
                    not exported
                    and program.startswith(("ails ", "echo", "cat"))
                    and _sends_to_the_real_service(command)
                ):
                    asking.append(f"{page.relative_to(ROOT)}:{number}: {line.strip()}")
        assert asking == []
