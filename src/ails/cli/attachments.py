"""Files added to a question (``-f PATH``, ``/file PATH``): text, fenced under its name."""

from __future__ import annotations

import re
from pathlib import Path

from ails.cli.errors import CliError

__all__ = ["attach", "read_file"]


def attach(name: str, text: str) -> str:
    """A file's text as a fenced block under its name, the fence longer than any inside."""
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{name}:\n{fence}\n{text.rstrip(chr(10))}\n{fence}"


def read_file(path: str) -> str:
    """The text of a file to add to a question (``-f``, ``/file``), or a ``CliError``."""
    try:
        return Path(path).expanduser().read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CliError(f"{path} is not UTF-8 text; only text files can be added") from None
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None
