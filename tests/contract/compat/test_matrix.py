"""docs/compatibility.md's matrix agrees with the compatibility tests it is made from."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

from . import matrix
from .conftest import COLLECTED

ROOT = Path(__file__).resolve().parents[3]
FIX = "run: .venv/bin/python -m tests.contract.compat.matrix --write"


def test_the_page_shows_what_the_tests_say() -> None:
    page = matrix.PAGE.read_text(encoding="utf-8")
    assert matrix.generated_part(page) == matrix.render(), f"the page is stale; {FIX}"


def test_every_client_module_is_a_row() -> None:
    modules = {p.stem for p in Path(__file__).parent.glob("test_*.py")} - {"test_matrix"}
    assert modules == {client.module for client in matrix.CLIENTS}


@pytest.mark.parametrize("client", matrix.CLIENTS, ids=lambda c: c.module)
def test_every_test_fills_a_cell(client: matrix.Client) -> None:
    module = importlib.import_module(f"{__package__}.{client.module}")
    names = [n for n, f in inspect.getmembers(module, inspect.isfunction) if n.startswith("test_")]
    assert names
    assert [n for n in names if matrix.column_of(n) is None] == []


def test_the_ids_on_the_page_are_the_collected_ones() -> None:
    # Checked against this session's collection: a run of this file alone
    # collects no client tests, a run of the folder (or the suite) all of them.
    ids = [
        case.id
        for client in matrix.CLIENTS
        if any(i.startswith(client.module + ".py::") for i in COLLECTED)
        for found in matrix.cases(client.module).values()
        for case in found
    ]
    assert [i for i in ids if i not in COLLECTED] == []


def test_the_page_is_in_the_nav_and_the_readme() -> None:
    assert "compatibility.md" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert "(docs/compatibility.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_a_cell_reads_its_cases() -> None:
    assert matrix.cell(None) == "-"
    assert matrix.cell([matrix.Case("a")]) == "yes"
    waiting = matrix.Case("b", waits="door", what="x")
    assert matrix.cell([matrix.Case("a"), waiting]) == "part (waits: door)"
    assert matrix.cell([waiting]) == "waits: door"
