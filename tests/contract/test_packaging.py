"""``python -m build`` makes a wheel and an sdist ready for PyPI, with what users need inside.

The build runs with ``--no-isolation`` on a copy of the work tree: it uses the
venv's setuptools (the dev extra pins a recent one), needs no network, and
leaves no ``build/`` or ``*.egg-info`` behind in the checkout.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from ails import __version__

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = sorted(p.name for p in (ROOT / "src/ails/testing/fixtures").glob("*.json"))
_NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", ".*_cache", ".hypothesis", ".coverage*", "__pycache__", "*.egg-info",
    "build", "dist", "site",
)  # fmt: skip


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("build")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCE)
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(work / "dist"), "."],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    [wheel] = (work / "dist").glob("*.whl")
    [sdist] = (work / "dist").glob("*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


@pytest.fixture(scope="module")
def wheel_files(dists) -> dict[str, bytes]:
    with zipfile.ZipFile(dists["wheel"]) as wheel:
        return {name: wheel.read(name) for name in wheel.namelist()}


@pytest.fixture(scope="module")
def sdist_names(dists) -> set[str]:
    with tarfile.open(dists["sdist"]) as sdist:
        prefix = f"ails-{__version__}/"
        return {m.name.removeprefix(prefix) for m in sdist.getmembers() if m.isfile()}


def _metadata(wheel_files: dict[str, bytes]):
    return Parser().parsestr(wheel_files[f"ails-{__version__}.dist-info/METADATA"].decode())


@pytest.mark.slow
class TestWheel:
    def test_is_named_for_any_python3(self, dists):
        assert dists["wheel"].name == f"ails-{__version__}-py3-none-any.whl"

    def test_holds_the_page_and_its_vendored_libraries_with_their_licenses(self, wheel_files):
        source = Path(__file__).parents[2] / "src" / "ails" / "page" / "assets"
        expected = {
            f"ails/page/assets/{path.relative_to(source).as_posix()}"
            for path in source.rglob("*")
            if path.is_file()
        }
        assert "ails/page/assets/vendor/licenses/dompurify.LICENSE.txt" in expected
        assert expected <= set(wheel_files)
        shipped = wheel_files["ails/page/assets/page.js"]
        assert shipped == (source / "page.js").read_bytes()

    def test_holds_the_typing_marker_and_every_fixture(self, wheel_files):
        assert "ails/py.typed" in wheel_files
        shipped = sorted(
            name.removeprefix("ails/testing/fixtures/")
            for name in wheel_files
            if name.startswith("ails/testing/fixtures/")
        )
        assert shipped == FIXTURES

    def test_holds_only_the_package(self, wheel_files):
        tops = {name.split("/", 1)[0] for name in wheel_files}
        assert tops == {"ails", f"ails-{__version__}.dist-info"}

    def test_installs_the_ails_command(self, wheel_files):
        entry_points = wheel_files[f"ails-{__version__}.dist-info/entry_points.txt"].decode()
        assert "[console_scripts]" in entry_points
        assert "ails = ails.cli:main" in entry_points

    def test_metadata_is_ready_for_pypi(self, wheel_files):
        metadata = _metadata(wheel_files)
        assert metadata["Name"] == "ails"
        assert metadata["Version"] == __version__
        assert metadata["License-Expression"] == "MIT"
        assert metadata["Requires-Python"] == ">=3.10"
        assert metadata["Description-Content-Type"] == "text/markdown"
        assert metadata.get_payload().startswith("# ails")
        urls = dict(url.split(", ", 1) for url in metadata.get_all("Project-URL"))
        assert {"Homepage", "Documentation", "Source", "Issues", "Changelog"} <= set(urls)
        classifiers = metadata.get_all("Classifier")
        assert "Typing :: Typed" in classifiers
        assert metadata.get_all("License-File") == ["LICENSE"]
        assert f"ails-{__version__}.dist-info/licenses/LICENSE" in wheel_files

    def test_docs_and_test_tools_stay_out_of_the_runtime_dependencies(self, wheel_files):
        requires = _metadata(wheel_files).get_all("Requires-Dist")
        runtime = sorted(
            r.split(">")[0].split("[")[0].replace("_", "-").lower()
            for r in requires
            if "extra ==" not in r
        )
        # prompt-toolkit and rich: the ails command's terminal (docs/cli.md says why);
        # pyte, the terminal emulator of its tests, stays in the dev extra.
        assert runtime == ["aiohttp", "attrs", "prompt-toolkit", "requests", "rich", "structlog"]


@pytest.mark.slow
class TestSdist:
    def test_holds_what_a_rebuild_and_the_tests_need(self, sdist_names):
        for name in ("LICENSE", "README.md", "CHANGELOG.md", "pyproject.toml", "Makefile"):
            assert name in sdist_names
        assert "src/ails/py.typed" in sdist_names
        assert {f"src/ails/testing/fixtures/{name}" for name in FIXTURES} <= sdist_names
        assert "tests/conftest.py" in sdist_names
        assert "tests/contract/test_packaging.py" in sdist_names
        assert any(name.startswith("tests/unit/test_") for name in sdist_names)

    def test_holds_the_docs_and_their_example(self, sdist_names):
        assert "mkdocs.yml" in sdist_names
        assert "docs/index.md" in sdist_names
        assert "docs/examples/httpx_transport.py" in sdist_names

    def test_holds_no_caches(self, sdist_names):
        assert not [name for name in sdist_names if "__pycache__" in name or name.endswith(".pyc")]

    def test_holds_the_ai_sdk_project_but_not_its_install(self, sdist_names):
        # make test runs npm ci from the lock file; node_modules is tens of MB.
        js = "tests/contract/compat/js/"
        assert {js + "package.json", js + "package-lock.json", js + "compat.mjs"} <= sdist_names
        assert not [name for name in sdist_names if "node_modules" in name]
