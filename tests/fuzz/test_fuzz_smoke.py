"""A few thousand inputs of the parser fuzzer, so ``make fuzz`` cannot rot unnoticed."""

from __future__ import annotations

import json
from pathlib import Path

import fuzz_parser
import pytest


def test_the_fuzzer_runs_clean_and_reports_its_count(capsys: pytest.CaptureFixture[str]) -> None:
    assert fuzz_parser.main(["--inputs", "2000", "--seed", "20240601"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["fuzz_inputs"] == 2000


def test_it_stops_on_an_escaped_exception(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(rng: object, data: bytes) -> None:
        raise RuntimeError("boom")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(fuzz_parser, "check", broken)
    assert fuzz_parser.main(["--inputs", "10", "--seed", "1"]) == 1
    assert "FAILED on input 1" in capsys.readouterr().out
    assert (tmp_path / "fuzz-crash-1.bin").exists()
