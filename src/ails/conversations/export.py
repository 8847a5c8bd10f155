"""A saved conversation as Markdown (to read or share) or JSON (for scripts)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

from ails.conversations.saved import ConversationInfo, SavedConversation
from ails.domain.errors import ValidationError
from ails.domain.history import Turn

__all__ = [
    "FORMATS",
    "demote_headings",
    "describe_error",
    "export",
    "info_to_dict",
    "iso_time",
    "short_time",
    "to_json",
    "to_markdown",
    "turn_to_dict",
]

FORMATS = ("markdown", "json")
_HEADINGS = {"user": "User", "assistant": "Assistant", "tool": "Tool"}
_ATX_HEADING = re.compile(r"^( {0,3})(#{1,6})(?=\s|$)")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
#: Each message is a ``##`` section: its own headings start one level below.
_DEMOTE_BY = 2


def demote_headings(text: str) -> str:
    """``text`` with each Markdown heading (outside code fences) two levels down, at most 6.

    So an answer's ``# Title`` reads as part of its ``## Assistant`` section.
    """
    lines = []
    fence: str | None = None
    for line in text.split("\n"):
        marker = _FENCE.match(line)
        if fence is None and marker is not None:
            fence = marker.group(1)[0]
        elif fence is not None and marker is not None and marker.group(1)[0] == fence:
            fence = None
        elif fence is None:
            line = _ATX_HEADING.sub(
                lambda found: found.group(1) + "#" * min(6, len(found.group(2)) + _DEMOTE_BY),
                line,
            )
        lines.append(line)
    return "\n".join(lines)


#: How the history's error marks read to a person.
_PLAIN_ERRORS = {"KeyboardInterrupt": "interrupted", "superseded": "superseded by a retry"}


def describe_error(error: str | None) -> str | None:
    """A stored message's ``error`` in plain words ("interrupted", not ``KeyboardInterrupt``)."""
    return None if error is None else _PLAIN_ERRORS.get(error, error)


def short_time(seconds: float) -> str:
    """A Unix time to the minute in UTC, as ``ails logs`` lists it (the zone the exports use)."""
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def iso_time(seconds: float) -> str:
    """A Unix time as ISO 8601 in UTC, to the second."""
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds")


def info_to_dict(info: ConversationInfo) -> dict[str, Any]:
    """A conversation's row as JSON-ready values (times in ISO 8601, UTC)."""
    return {
        "id": info.id,
        "title": info.title,
        "created": iso_time(info.created),
        "updated": iso_time(info.updated),
        "model": info.model,
        "profile": info.profile,
        "base_url": info.base_url,
        "system": info.system,
        "turns": info.turns,
        "failed": info.failed,
    }


def turn_to_dict(turn: Turn) -> dict[str, Any]:
    """One message with what the history knows of it."""
    return {
        "role": turn.role.value,
        "content": turn.content,
        "created": iso_time(turn.created),
        "complete": turn.complete,
        "error": turn.error,
        "tokens": turn.tokens,
        "time_to_first_token": turn.time_to_first_token,
        "duration": turn.duration,
        "tool_calls": [call.to_dict() for call in turn.tool_calls],
        "tool_call_id": turn.tool_call_id,
    }


def to_json(saved: SavedConversation) -> str:
    """The conversation as one JSON object with its ``messages``."""
    data = info_to_dict(saved.info)
    data["title"] = saved.title
    data["messages"] = [turn_to_dict(turn) for turn in saved.turns]
    return json.dumps(data, ensure_ascii=False, indent=2)


def to_markdown(saved: SavedConversation) -> str:
    """The conversation as a Markdown document, one section per message."""
    info = saved.info
    lines = [f"# {saved.title or 'Untitled conversation'}", ""]
    lines.append(f"- id: `{info.id}`")
    lines.append(f"- started: {iso_time(info.created)}")
    lines.extend(
        f"- {label}: {value}"
        for label, value in (
            ("model", info.model),
            ("profile", info.profile),
            ("server", info.base_url),
        )
        if value
    )
    lines.append("")
    if info.system:
        lines += ["## System", "", demote_headings(info.system), ""]
    for turn in saved.turns:
        heading = _HEADINGS[turn.role.value]
        if turn.tool_call_id is not None:
            heading += f" (result of `{turn.tool_call_id}`)"
        lines += [f"## {heading}", ""]
        if turn.content:
            lines += [demote_headings(turn.content), ""]
        lines.extend(
            f"- calls `{call.name}` (`{call.id}`) with `{call.arguments}`"
            for call in turn.tool_calls
        )
        if turn.tool_calls:
            lines.append("")
        if not turn.complete:
            why = describe_error(turn.error)
            lines += [f"*(incomplete{': ' + why if why else ''})*", ""]
    return "\n".join(lines)


def export(saved: SavedConversation, format: str = "markdown") -> str:
    """``saved`` as ``"markdown"`` or ``"json"`` text."""
    if format == "markdown":
        return to_markdown(saved)
    if format == "json":
        return to_json(saved)
    raise ValidationError(f"unknown export format {format!r}; use 'markdown' or 'json'")
