"""How a request option's value is checked: one small function per kind of value.

Each check is ``check(name, value)``: it returns the value to send (a list
where a tuple was given, a plain ``dict`` for any mapping) or raises
``ValidationError`` naming the option. :data:`ails.domain.options.OPTIONS`
gives each option its check.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

from ails.domain.errors import ValidationError

__all__ = [
    "Check",
    "boolean",
    "integer",
    "json_object",
    "json_objects",
    "number",
    "one_answer",
    "plain_json",
    "stop",
    "stream_options",
    "string",
    "strings",
    "tool_choice",
]

#: A check: ``check(name, value)`` returns the value to send or raises ``ValidationError``.
Check = Callable[[str, Any], Any]


def integer(minimum: int | None = None, maximum: int | None = None) -> Check:
    """A check for a whole number (not a ``bool``) within the bounds given."""

    def check(name: str, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"{name} must be an integer, got {type(value).__name__}")
        if minimum is not None and value < minimum:
            raise ValidationError(f"{name} must be at least {minimum}, got {value!r}")
        if maximum is not None and value > maximum:
            raise ValidationError(f"{name} must be at most {maximum}, got {value!r}")
        return value

    return check


def number(low: float, high: float) -> Check:
    """A check for a number (not a ``bool``, not NaN) from ``low`` to ``high``."""

    def check(name: str, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError(f"{name} must be a number, got {type(value).__name__}")
        if math.isnan(value) or not low <= value <= high:
            raise ValidationError(f"{name} must be between {low:g} and {high:g}, got {value!r}")
        return value

    return check


def string(name: str, value: Any) -> Any:
    """A ``str``."""
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a string, got {type(value).__name__}")
    return value


def boolean(name: str, value: Any) -> Any:
    """``True`` or ``False``."""
    if not isinstance(value, bool):
        raise ValidationError(f"{name} must be true or false, got {type(value).__name__}")
    return value


def plain_json(name: str, value: Any) -> Any:
    """Any value that JSON can carry (no NaN or infinity, string keys)."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{name} must be plain JSON values: {exc}") from None
    return value


def json_object(name: str, value: Any) -> Any:
    """A mapping of plain JSON values, sent as a ``dict``."""
    if not isinstance(value, Mapping):
        raise ValidationError(f"{name} must be an object (a dict), got {type(value).__name__}")
    return plain_json(name, dict(value))


def json_objects(name: str, value: Any) -> Any:
    """A list (or tuple) of mappings of plain JSON values, sent as a list of ``dict``."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, Mapping) for v in value):
        raise ValidationError(f"{name} must be a list of objects (dicts)")
    return plain_json(name, [dict(v) for v in value])


def strings(name: str, value: Any) -> Any:
    """A list (or tuple) of ``str``, sent as a list."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValidationError(f"{name} must be a list of strings")
    return list(value)


def stop(name: str, value: Any) -> Any:
    """``stop``: a ``str``, or a list (or tuple) of them."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return list(value)
    raise ValidationError(f"{name} must be a string or a list of strings")


def tool_choice(name: str, value: Any) -> Any:
    """``tool_choice``: a word (``"auto"``, ``"none"``, ...) or an object naming a tool."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return json_object(name, value)
    raise ValidationError(
        f"{name} must be 'auto', 'none', 'required' or an object naming a tool, "
        f"got {type(value).__name__}"
    )


def one_answer(name: str, value: Any) -> Any:
    """``n``: only 1, since ails reads one answer per request."""
    value = integer(1)(name, value)
    if value != 1:
        raise ValidationError(f"{name} must be 1: ails reads one answer per request")
    return value


def stream_options(name: str, value: Any) -> Any:
    """``stream_options``: an object whose ``include_usage``, if given, is a ``bool``."""
    value = json_object(name, value)
    include = value.get("include_usage", False)
    if not isinstance(include, bool):
        raise ValidationError(f"{name}.include_usage must be true or false")
    return value
