"""Where ails keeps its files (``$AILS_HOME``, by default under ``~/.local/share``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["HISTORY_FILE", "INPUT_HISTORY_FILE", "ails_home", "history_path"]

HISTORY_FILE = "history.db"
#: What the interactive ``ails chat`` remembers of the lines you typed.
INPUT_HISTORY_FILE = "input_history"


def ails_home(environ: Mapping[str, str] | None = None) -> Path:
    """The folder for ails's own files (not created here).

    ``$AILS_HOME`` if set; else ``$XDG_DATA_HOME/ails`` when that is an
    absolute path (the XDG spec says to ignore relative ones); else
    ``~/.local/share/ails``.
    """
    env = os.environ if environ is None else environ
    home = env.get("AILS_HOME")
    if home:
        return Path(home).expanduser()
    xdg = env.get("XDG_DATA_HOME")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "ails"
    return Path.home() / ".local" / "share" / "ails"


def history_path(environ: Mapping[str, str] | None = None) -> Path:
    """The default history database, ``<ails home>/history.db``."""
    return ails_home(environ) / HISTORY_FILE
