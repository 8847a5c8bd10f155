"""Every runnable code block in README.md and docs/ runs here, against FakeServer.

How a page is run:

- ```` ```python ```` blocks run in order in one namespace per page, so a page
  reads as one session (a later block may use an earlier block's imports);
- ```` ```pycon ```` blocks run as doctests in that same namespace: what they
  show as printed output is checked;
- a block right after an ``<!-- skip: reason -->`` comment (which GitHub and
  mkdocs hide) is not run: for code that needs what the suite does not have;
- a block right after ``<!-- file: PATH -->`` must equal that file (``PATH``
  relative to the page), so a listing in the prose cannot drift from the file
  the tests import;
- other languages (``sh``, ``console``, ``text``, ``json``) are not run.

Pages talk to a FakeServer as a reader's code talks to ``ails serve``:
``$AILS_BASE_URL`` points at it and ``http://127.0.0.1:8787``, the address
``ails serve`` uses and the docs quote, is rewritten to its address. A
gateway in front of it stands in for ``ails gateway``: ``http://127.0.0.1:8788``
is rewritten to its address, and ``$OPENAI_BASE_URL`` and ``$OPENAI_API_KEY``
point an ``openai`` client at it. The
blocks run in a temporary directory, and logging and structlog are restored
after each page, so a page that configures them cannot leak into other tests.
"""

from __future__ import annotations

import doctest
import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
import structlog

from ails.testing import FakeServer

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
#: The address ``ails serve`` listens on by default, as the docs quote it.
SERVE_URL = "http://127.0.0.1:8787"
#: The address ``ails gateway`` listens on by default, as the docs quote it.
GATEWAY_URL = "http://127.0.0.1:8788"
RUNNABLE = ("python", "pycon")

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*?)\s*$")
_MARKER = re.compile(r"^<!--\s*(?P<marker>skip\b.*?|file:\s*\S+)\s*-->$")


@attrs.frozen
class Block:
    """One fenced code block of a page."""

    page: Path
    line: int  # 1-based line of the first line of code
    language: str
    code: str
    skip: bool = False
    file: str | None = None

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def parse_blocks(page: Path) -> list[Block]:
    """The fenced code blocks of a Markdown page, with the marker before each."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        language = (opening["info"].split() or [""])[0].lower()
        marker = _marker_before(lines, index)
        body: list[str] = []
        index += 1
        start = index + 1
        while index < len(lines):
            closing = _FENCE.match(lines[index])
            if closing and closing["fence"].startswith(fence) and not closing["info"]:
                break
            body.append(lines[index][indent:])
            index += 1
        else:
            raise AssertionError(f"{page.relative_to(ROOT)}:{start - 1}: unclosed code block")
        index += 1
        blocks.append(
            Block(
                page=page,
                line=start,
                language=language,
                code="\n".join(body) + "\n",
                skip=marker.startswith("skip"),
                file=marker[len("file:") :].strip() if marker.startswith("file:") else None,
            )
        )
    return blocks


def _marker_before(lines: list[str], index: int) -> str:
    previous = index - 1
    while previous >= 0 and not lines[previous].strip():
        previous -= 1
    found = _MARKER.match(lines[previous].strip()) if previous >= 0 else None
    return found["marker"] if found else ""


BLOCKS = {page: parse_blocks(page) for page in PAGES}
RUN_PAGES = [page for page, blocks in BLOCKS.items() if any(b.language in RUNNABLE for b in blocks)]


def _page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with FakeServer(delay_scale=0.0) as running:
        yield running


@pytest.fixture(scope="module")
def gateway(server: FakeServer) -> Iterator[str]:
    """``ails gateway`` in front of the server; yields its root URL (no ``/v1``)."""
    from ails import AsyncClient
    from ails.gateway import BackgroundGateway, create_app

    app = create_app(lambda: AsyncClient(base_url=server.url))
    with BackgroundGateway(app) as running:
        yield running.url.removesuffix("/v1")


@pytest.fixture
def isolated(monkeypatch, tmp_path, server, gateway) -> Iterator[None]:
    """A clean process state for one page: env, cwd, logging and structlog."""
    monkeypatch.setenv("AILS_BASE_URL", server.url)
    monkeypatch.setenv("OPENAI_BASE_URL", f"{gateway}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "any")
    monkeypatch.delenv("AILS_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    # Pages import the docs' example modules as a reader who saved them would.
    monkeypatch.syspath_prepend(str(DOCS / "examples"))
    root, ails_logger = logging.getLogger(), logging.getLogger("ails")
    saved = [
        (logger, logger.level, list(logger.handlers), logger.propagate)
        for logger in (root, ails_logger)
    ]
    try:
        yield
    finally:
        for logger, level, handlers, propagate in saved:
            for handler in logger.handlers:
                if handler not in handlers:
                    handler.close()
            logger.setLevel(level)
            logger.handlers[:] = handlers
            logger.propagate = propagate
        structlog.reset_defaults()


def run_block(
    block: Block, namespace: dict[str, object], server_url: str, gateway_url: str = GATEWAY_URL
) -> None:
    """Run one block in ``namespace``; tracebacks point at the Markdown lines."""
    source = block.code.replace(SERVE_URL, server_url).replace(GATEWAY_URL, gateway_url)
    if block.language == "python":
        # Padding makes the line numbers those of the page itself.
        code = compile("\n" * (block.line - 1) + source, str(block.page), "exec")
        exec(code, namespace)
        return
    report: list[str] = []
    test = doctest.DocTestParser().get_doctest(
        source, namespace, block.where, str(block.page), block.line - 1
    )
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test, out=report.append, clear_globs=False)
    if runner.failures:
        pytest.fail(f"{block.where}: the example's output differs\n{''.join(report)}")


@pytest.mark.usefixtures("isolated")
@pytest.mark.parametrize("page", RUN_PAGES, ids=_page_id)
def test_page_examples_run(page: Path, server: FakeServer, gateway: str) -> None:
    namespace: dict[str, object] = {"__name__": "__main__"}
    for block in BLOCKS[page]:
        if block.language in RUNNABLE and not block.skip:
            run_block(block, namespace, server.url, gateway)


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_listed_files_match(page: Path) -> None:
    for block in BLOCKS[page]:
        if block.file is not None:
            listed = (page.parent / block.file).read_text(encoding="utf-8")
            assert block.code == listed, f"{block.where}: differs from {block.file}"


def test_python_blocks_are_marked_so_they_run():
    """A block tagged ``py`` or ``python3`` would silently never run."""
    misnamed = [
        block.where
        for blocks in BLOCKS.values()
        for block in blocks
        if block.language.startswith("py") and block.language not in RUNNABLE
    ]
    assert misnamed == []


def test_most_examples_run():
    """Skipping is the exception: the docs are tested because their blocks run."""
    runnable = [b for blocks in BLOCKS.values() for b in blocks if b.language in RUNNABLE]
    skipped = [b for b in runnable if b.skip]
    assert len(runnable) >= 40
    assert len(skipped) <= len(runnable) // 10, [b.where for b in skipped]


def test_every_page_is_in_the_site_navigation():
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    listed = set(re.findall(r":\s*(\S+\.md)\s*$", config, re.MULTILINE))
    pages = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert pages == listed


@pytest.mark.slow
def test_the_site_builds_without_warnings(tmp_path):
    """``make docs`` in the suite: ``mkdocs build --strict`` fails on any warning."""
    pytest.importorskip("mkdocs", reason="mkdocs is in the dev and docs extras")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "errors" / "index.html").exists()
