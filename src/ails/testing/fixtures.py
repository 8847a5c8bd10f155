r"""Recorded-fixture files: what ``FakeServer`` replays, in a documented JSON format.

A fixture file holds one JSON object::

    {
      "name": "ru-greeting",               # how tests select it
      "match": "Привет",                   # optional regex on the last message
      "expect": {"text": "Привет! ..."},   # optional: what a client should get
      "realtime": false,                   # true: delays ignore the server's delay_scale
      "client_options": {"max_event_size": 1024},  # optional: how the client is set up
      "call_options": {"extra_body": {...}},  # optional: what stream()/create() are given
      "replies": [                         # reply i answers request i (the last repeats)
        {
          "status": 200,
          "headers": {"content-type": "text/event-stream"},
          "framing": "chunked",            # "chunked", "close" or "length"
          "gzip": false,
          "body": [
            {"delay": 0.004, "data": "data: {...}\n\n"},
            {"data_b64": "..."},           # exact bytes, e.g. invalid UTF-8
            {"fault": "reset"}             # "reset", "close" or "stall"
          ]
        }
      ]
    }

A reply may also be ``{"fault": "no_response"}`` (accept, never answer) or
``{"fault": "garbage"}`` (answer with bytes that are not HTTP).

``expect`` is what the conformance kit checks: ``{"text": ...}`` for an
answer, or ``{"error": "<ails.errors class name>", ...}`` with any of
``partial_text``, ``status``, ``code``, ``retry_after`` and ``attempts``
(compared exactly), ``min_retry_after`` (a lower bound, for HTTP dates) and
``message_contains`` (strings the error message must hold). ``attempts`` may
accompany ``text`` too. ``client_options`` are keyword arguments the kit
passes to the client for this fixture, ``call_options`` those it passes to
``stream()`` and ``create()`` (JSON values only).

What the finished ``ails.Completion`` holds may be expected too (the kit
reads it through ``stream.events()`` and ``create()``): ``tool_calls`` (a
list of ``{"id", "name", "arguments"}``), ``reasoning``, ``finish_reason``,
``usage`` (``{"prompt_tokens", "completion_tokens", "total_tokens"}``) and
``outcome``; and ``events``, the deltas in arrival order, each
``{"text": ...}``, ``{"reasoning": ...}`` or ``{"tool_call": {"index",
"id", "name", "arguments"}}`` (``id`` and ``name`` null after a call's
first piece).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import attrs

__all__ = [
    "Fixture",
    "FixtureError",
    "Reply",
    "Step",
    "UnknownFixtureError",
    "builtin_fixtures",
    "load_fixture",
    "load_fixtures",
    "unknown_fixture_message",
]

_FRAMINGS = ("chunked", "close", "length")
_BODY_FAULTS = ("reset", "close", "stall")
_REPLY_FAULTS = ("no_response", "garbage")


class FixtureError(ValueError):
    """A fixture file does not follow the documented format."""


class UnknownFixtureError(KeyError):
    """No fixture has that name; the message lists the ones that exist.

    A ``KeyError`` (as a dict lookup would raise) whose text reads as a
    sentence, not as a quoted key.
    """

    def __init__(self, name: str, names: Iterable[str]) -> None:
        super().__init__(name)
        self.name = name
        self.message = unknown_fixture_message(name, names)

    def __str__(self) -> str:
        return self.message


def unknown_fixture_message(name: str, names: Iterable[str]) -> str:
    """What :class:`UnknownFixtureError` and the fake server's 404 say."""
    return f"no fixture named {name!r}; the fixtures are: {', '.join(sorted(names))}"


@attrs.frozen
class Step:
    """One body step: wait ``delay`` seconds, then send ``data`` or do ``fault``."""

    delay: float = 0.0
    data: bytes = b""
    fault: str | None = None


@attrs.frozen
class Reply:
    """One recorded response."""

    status: int = 200
    headers: tuple[tuple[str, str], ...] = (("content-type", "text/event-stream"),)
    framing: str = "chunked"
    gzip: bool = False
    body: tuple[Step, ...] = ()
    fault: str | None = None


@attrs.frozen
class Fixture:
    """A named conversation: how to select it, its replies, what to expect."""

    name: str
    replies: tuple[Reply, ...]
    match: re.Pattern[str] | None = None
    expect: dict[str, Any] = attrs.field(factory=dict)
    realtime: bool = False
    client_options: dict[str, Any] = attrs.field(factory=dict)
    call_options: dict[str, Any] = attrs.field(factory=dict)

    def reply(self, index: int) -> Reply:
        """The reply for the ``index``-th request (0-based); the last one repeats."""
        return self.replies[min(index, len(self.replies) - 1)]


def _step(raw: Any, where: str) -> Step:
    if isinstance(raw, str):
        return Step(data=raw.encode("utf-8"))
    if not isinstance(raw, dict):
        raise FixtureError(f"{where}: a body step is a string or an object")
    fault = raw.get("fault")
    if fault is not None and fault not in _BODY_FAULTS:
        raise FixtureError(f"{where}: fault must be one of {_BODY_FAULTS}, got {fault!r}")
    if "data_b64" in raw:
        data = base64.b64decode(raw["data_b64"])
    else:
        data = str(raw.get("data", "")).encode("utf-8")
    return Step(delay=float(raw.get("delay", 0.0)), data=data, fault=fault)


def _reply(raw: Any, where: str) -> Reply:
    if not isinstance(raw, dict):
        raise FixtureError(f"{where}: a reply is an object")
    fault = raw.get("fault")
    if fault is not None and fault not in _REPLY_FAULTS:
        raise FixtureError(f"{where}: fault must be one of {_REPLY_FAULTS}, got {fault!r}")
    framing = raw.get("framing", "chunked")
    if framing not in _FRAMINGS:
        raise FixtureError(f"{where}: framing must be one of {_FRAMINGS}, got {framing!r}")
    headers = raw.get("headers", {"content-type": "text/event-stream"})
    return Reply(
        status=int(raw.get("status", 200)),
        headers=tuple((str(k).lower(), str(v)) for k, v in headers.items()),
        framing=framing,
        gzip=bool(raw.get("gzip", False)),
        body=tuple(_step(s, f"{where}.body[{i}]") for i, s in enumerate(raw.get("body", []))),
        fault=fault,
    )


def parse_fixture(raw: Any, where: str = "fixture") -> Fixture:
    """Build a :class:`Fixture` from its decoded JSON object."""
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise FixtureError(f"{where}: a fixture is an object with a string 'name'")
    replies = raw.get("replies")
    if not isinstance(replies, list) or not replies:
        raise FixtureError(f"{where}: 'replies' must be a non-empty list")
    match = raw.get("match")
    client_options = raw.get("client_options", {})
    if not isinstance(client_options, dict):
        raise FixtureError(f"{where}: 'client_options' must be an object")
    call_options = raw.get("call_options", {})
    if not isinstance(call_options, dict):
        raise FixtureError(f"{where}: 'call_options' must be an object")
    return Fixture(
        name=raw["name"],
        replies=tuple(_reply(r, f"{where}.replies[{i}]") for i, r in enumerate(replies)),
        match=re.compile(match) if match else None,
        expect=dict(raw.get("expect", {})),
        realtime=bool(raw.get("realtime", False)),
        client_options=dict(client_options),
        call_options=dict(call_options),
    )


def load_fixture(path: str | Path) -> Fixture:
    """Load one fixture file."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise FixtureError(f"{path}: not valid JSON: {exc}") from exc
    return parse_fixture(raw, str(path))


def load_fixtures(directory: str | Path) -> dict[str, Fixture]:
    """Load every ``*.json`` fixture in ``directory``, by name.

    A folder that does not exist is a :class:`FixtureError`, not an empty set:
    a typo in the path would otherwise go unnoticed.
    """
    folder = Path(directory)
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise FixtureError(f"the fixtures folder {str(folder)!r} {what}")
    fixtures = (load_fixture(p) for p in sorted(folder.glob("*.json")))
    return _by_name(fixtures)


def builtin_fixtures() -> dict[str, Fixture]:
    """The fixtures shipped inside the package (demo conversations and faults)."""
    folder = resources.files("ails.testing") / "fixtures"
    entries = sorted(folder.iterdir(), key=lambda e: e.name)
    return _by_name(
        parse_fixture(json.loads(entry.read_text(encoding="utf-8")), entry.name)
        for entry in entries
        if entry.name.endswith(".json")
    )


def _by_name(fixtures: Iterable[Fixture]) -> dict[str, Fixture]:
    return {fixture.name: fixture for fixture in fixtures}
