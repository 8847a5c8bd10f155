"""A saved conversation as Markdown (to read or share) or JSON (for scripts)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from ails.conversations.saved import ConversationInfo, SavedConversation
from ails.domain.errors import ValidationError
from ails.domain.history import Turn

__all__ = [
    "FORMATS",
    "export",
    "info_to_dict",
    "iso_time",
    "to_json",
    "to_markdown",
    "turn_to_dict",
]

FORMATS = ("markdown", "json")
_HEADINGS = {"user": "User", "assistant": "Assistant", "tool": "Tool"}


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
        lines += ["## System", "", info.system, ""]
    for turn in saved.turns:
        heading = _HEADINGS[turn.role.value]
        if turn.tool_call_id is not None:
            heading += f" (result of `{turn.tool_call_id}`)"
        lines += [f"## {heading}", ""]
        if turn.content:
            lines += [turn.content, ""]
        lines.extend(
            f"- calls `{call.name}` (`{call.id}`) with `{call.arguments}`"
            for call in turn.tool_calls
        )
        if turn.tool_calls:
            lines.append("")
        if not turn.complete:
            lines += [f"*(incomplete{': ' + turn.error if turn.error else ''})*", ""]
    return "\n".join(lines)


def export(saved: SavedConversation, format: str = "markdown") -> str:
    """``saved`` as ``"markdown"`` or ``"json"`` text."""
    if format == "markdown":
        return to_markdown(saved)
    if format == "json":
        return to_json(saved)
    raise ValidationError(f"unknown export format {format!r}; use 'markdown' or 'json'")
