"""Every declared request option is an ``ails chat`` flag, read and checked by its declaration."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from ails.cli.main import build_parser
from ails.cli.request_flags import NOT_ON_COMMAND_LINE, flag, given_options
from ails.domain.options import OPTION_NAMES, OPTIONS


def _chat_parser() -> argparse.ArgumentParser:
    commands = next(
        action
        for action in build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    parser: argparse.ArgumentParser = commands.choices["chat"]
    return parser


def _flags() -> dict[str, argparse.Action]:
    return {
        option: action for action in _chat_parser()._actions for option in action.option_strings
    }


def _parse(*argv: str) -> dict[str, object]:
    return given_options(build_parser().parse_args(["chat", *argv, "hi"]))


class TestEveryOptionIsAFlag:
    def test_each_declared_option_has_a_flag_or_a_reason_not_to(self) -> None:
        flags = _flags()
        for option in OPTIONS:
            if option.name in NOT_ON_COMMAND_LINE:
                assert flag(option.name) not in flags
                assert NOT_ON_COMMAND_LINE[option.name].strip()
            else:
                assert flag(option.name) in flags, option.name

    def test_the_absent_ones_are_declared_options(self) -> None:
        assert set(NOT_ON_COMMAND_LINE) <= set(OPTION_NAMES)

    def test_help_is_the_declarations(self) -> None:
        flags = _flags()
        for option in OPTIONS:
            assert option.help, f"{option.name} has no help text"
            if option.name not in NOT_ON_COMMAND_LINE:
                shown = flags[flag(option.name)].help
                assert shown is not None
                assert shown.startswith(option.help)

    def test_docs_list_every_flag(self) -> None:
        page = (Path(__file__).parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
        table = page.split("### Request options", 1)[1]
        for option in OPTIONS:
            if option.name not in NOT_ON_COMMAND_LINE:
                assert f"| `{flag(option.name)}" in table, option.name

    def test_flag_names(self) -> None:
        assert flag("max_tokens") == "--max-tokens"
        assert flag("reasoning_effort") == "--reasoning-effort"


class TestReading:
    def test_nothing_given_is_no_option(self) -> None:
        assert _parse() == {}

    def test_scalars(self) -> None:
        given = _parse(
            "--max-tokens", "7", "--top-p", "0.5", "--seed", "-3", "--reasoning-effort", "high"
        )
        assert given == {"max_tokens": 7, "top_p": 0.5, "seed": -3, "reasoning_effort": "high"}

    def test_booleans_both_ways(self) -> None:
        assert _parse("--parallel-tool-calls", "--no-store") == {
            "parallel_tool_calls": True,
            "store": False,
        }

    def test_text_or_json(self) -> None:
        assert _parse("--stop", "END") == {"stop": "END"}
        assert _parse("--stop", '["a", "b"]') == {"stop": ["a", "b"]}
        assert _parse("--tool-choice", "required") == {"tool_choice": "required"}
        choice = {"type": "function", "function": {"name": "clock"}}
        assert _parse("--tool-choice", json.dumps(choice)) == {"tool_choice": choice}

    def test_declared_words_and_json_text(self) -> None:
        assert _parse("--response-format", "json_object") == {
            "response_format": {"type": "json_object"}
        }
        schema = {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}
        assert _parse("--response-format", json.dumps(schema)) == {"response_format": schema}

    def test_json_from_a_file(self, tmp_path: Path) -> None:
        tools = [{"type": "function", "function": {"name": "clock"}}]
        path = tmp_path / "tools.json"
        path.write_text(json.dumps(tools), encoding="utf-8")
        assert _parse("--tools", str(path)) == {"tools": tools}


class TestBadValues:
    @pytest.mark.parametrize(
        ("argv", "said"),
        [
            (["--max-tokens", "0"], "argument --max-tokens: must be at least 1, got 0"),
            (["--max-tokens", "many"], "argument --max-tokens: expected a whole number"),
            (["--top-p", "2"], "argument --top-p: must be between 0 and 1, got 2.0"),
            (["--tools", '{"type": "function"}'], "argument --tools: must be a list of objects"),
            (["--tools", "[oops"], "argument --tools: JSON text is not valid JSON"),
            (["--tools", "missing.json"], "or the path of a JSON file"),
            (["--response-format", "yaml"], "one of text, json_object"),
        ],
    )
    def test_is_a_usage_error_naming_the_flag(
        self, argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with pytest.raises(SystemExit) as stopped:
            build_parser().parse_args(["chat", *argv, "hi"])
        assert stopped.value.code == 2
        assert said in capsys.readouterr().err

    def test_a_file_that_is_not_json(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = tmp_path / "tools.json"
        path.write_text("not json", encoding="utf-8")
        with pytest.raises(SystemExit):
            build_parser().parse_args(["chat", "--tools", str(path), "hi"])
        assert f"the file {str(path)!r} is not valid JSON" in capsys.readouterr().err
