"""The checks ``FakeServer`` applies to every request, as the real service would.

Each check returns a :class:`Rejection` naming what failed, or ``None``. The
server answers a rejection with its status and a JSON error, so a test (or a
user's own transport) learns exactly which part of the protocol it broke.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs

from ails.domain.chunks import NEED_REFRESH
from ails.domain.options import OPTION_NAMES
from ails.domain.signing import js_length, js_utf8

__all__ = [
    "MAX_BODY_SIZE",
    "REQUIRED_BROWSER_HEADERS",
    "Rejection",
    "body_length",
    "check_ails_request",
    "check_openai_request",
]

#: The largest request body the fake server reads (413 beyond): far more than
#: any chat, and a client announcing gigabytes cannot make it buffer them.
MAX_BODY_SIZE = 16 * 1024 * 1024

#: The browser-profile headers the service expects on every request.
REQUIRED_BROWSER_HEADERS = (
    "accept",
    "accept-language",
    "authorization",
    "client-id",
    "client-v",
    "content-type",
    "origin",
    "referer",
    "user-agent",
)

_UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
#: What a strict OpenAI server accepts: the spec's request fields, which are
#: the library's declared options.
_OPENAI_FIELDS = frozenset({"model", "messages", "temperature", "stream", *OPTION_NAMES})
_OPENAI_MESSAGE_KEYS = frozenset({"role", "content", "name", "tool_calls", "tool_call_id"})


@attrs.frozen
class Rejection:
    """Why a request was refused: the HTTP status, an error code and a message."""

    status: int
    code: str
    message: str

    def body(self) -> bytes:
        """The JSON error body the server sends."""
        error = {"error": {"code": self.code, "message": self.message}}
        return json.dumps(error).encode("utf-8")


def _openai_message(message: Any) -> bool:
    """An OpenAI message: string role, content a string or text parts, maybe a name."""
    if not isinstance(message, dict) or not _OPENAI_MESSAGE_KEYS.issuperset(message):
        return False
    content = message.get("content")
    if isinstance(content, list):
        content_ok = all(
            isinstance(part, dict)
            and part.get("type") == "text"
            and isinstance(part.get("text"), str)
            for part in content
        )
    else:
        content_ok = isinstance(content, str)
    name = message.get("name", "")
    return isinstance(message.get("role"), str) and content_ok and isinstance(name, str)


def _parse_body(body: bytes, *, openai: bool = False) -> dict[str, Any] | Rejection:
    try:
        data = json.loads(body)
    except ValueError:
        return Rejection(400, "invalid_json", "the body is not JSON")
    except RecursionError:
        return Rejection(400, "invalid_json", "the body's JSON is nested too deeply")
    if not isinstance(data, dict):
        return Rejection(400, "invalid_json", "the body is not a JSON object")
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        return Rejection(400, "invalid_messages", "messages must be a non-empty list")
    for i, message in enumerate(messages):
        if openai:
            if not _openai_message(message):
                return Rejection(
                    400,
                    "invalid_messages",
                    f"messages[{i}] needs a string role, content as a string or text "
                    "parts, and nothing but an optional string name",
                )
            continue
        if (
            not isinstance(message, dict)
            or not isinstance(message.get("role"), str)
            or not isinstance(message.get("content"), str)
        ):
            return Rejection(
                400, "invalid_messages", f"messages[{i}] needs string role and content"
            )
    if not isinstance(data.get("model"), str) or not data["model"]:
        return Rejection(400, "invalid_model", "model must be a non-empty string")
    if data.get("stream") is not True:
        return Rejection(400, "not_streaming", "stream must be true")
    return data


def check_ails_request(
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    secret: str,
    client_version: str,
    now_ms: int,
    tolerance_ms: int = 5 * 60 * 1000,
) -> Rejection | None:
    """Check a request the way the Ails service does; ``headers`` lower-cased."""
    if query != "full=false":
        return Rejection(400, "query", f"the query must be 'full=false', got {query!r}")
    missing = [name for name in REQUIRED_BROWSER_HEADERS if name not in headers]
    if missing:
        return Rejection(400, "headers", f"missing header(s): {', '.join(missing)}")
    if not headers["content-type"].startswith("application/json"):
        return Rejection(400, "headers", "content-type must be application/json")
    if not _UUID4.match(headers["client-id"]):
        return Rejection(400, "client_id", "client-id must be a lower-case uuid4")
    if headers["client-v"] != client_version:
        return Rejection(
            403, NEED_REFRESH, f"client-v {headers['client-v']!r} is not {client_version!r}"
        )
    data = _parse_body(body)
    if isinstance(data, Rejection):
        return data
    return _check_signature(data, secret=secret, now_ms=now_ms, tolerance_ms=tolerance_ms)


def _check_signature(
    data: dict[str, Any], *, secret: str, now_ms: int, tolerance_ms: int
) -> Rejection | None:
    d, t, s = data.get("d"), data.get("t"), data.get("s")
    if not (isinstance(d, str) and isinstance(t, str) and isinstance(s, str)):
        return Rejection(400, "signature", "the body needs string fields d, t and s")
    # ASCII digits, and no more than a millisecond time has: str.isdigit()
    # also takes superscripts and other scripts' digits, and int() refuses
    # strings of over 4300 digits.
    if not (t.isascii() and t.isdigit()) or len(t) > 20 or int(t[-1]) % 2 == 0:
        return Rejection(403, "timestamp", f"t must be digits ending in an odd digit, got {t!r}")
    if abs(int(t) - now_ms) > tolerance_ms:
        return Rejection(
            403, "timestamp", f"t is more than {tolerance_ms} ms from the server clock"
        )
    instant = datetime.fromtimestamp(int(t) / 1000, timezone.utc)
    # Any time zone on Earth: UTC-12 to UTC+14.
    dates = {(instant + timedelta(hours=h)).strftime("%Y-%m-%d") for h in range(-12, 15)}
    if d not in dates:
        return Rejection(403, "date", f"d {d!r} is not the date of t in any time zone")
    content = data["messages"][-1]["content"]
    expected = _digest(t, content, secret, js_length(content))
    if s != expected:
        if s == _digest(t, content, secret, len(content)):
            reason = "s used len() instead of the UTF-16 length"
        else:
            reason = "s does not match the last message, t and the secret"
        return Rejection(403, "signature", reason)
    return None


def _digest(t: str, content: str, secret: str, length: int) -> str:
    return hashlib.sha256(js_utf8(f"{t}:{content}:{secret}:{length}")).hexdigest()


def check_openai_request(
    query: str, headers: Mapping[str, str], body: bytes, *, api_key: str | None
) -> Rejection | None:
    """Check a request as a strict OpenAI-compatible server does."""
    authorization = headers.get("authorization", "")
    if api_key is not None and authorization != f"Bearer {api_key}":
        return Rejection(401, "invalid_api_key", "missing or wrong Authorization: Bearer key")
    if not headers.get("content-type", "").startswith("application/json"):
        return Rejection(400, "headers", "content-type must be application/json")
    data = _parse_body(body, openai=True)
    if isinstance(data, Rejection):
        return data
    unknown = sorted(set(data) - _OPENAI_FIELDS)
    if unknown:
        return Rejection(
            400, "unknown_fields", f"unrecognized request fields: {', '.join(unknown)}"
        )
    return None


def body_length(headers: Mapping[str, str]) -> tuple[int, Rejection | None]:
    """The request body's length from ``headers`` (lower-cased), or why it is refused unread."""
    if "transfer-encoding" in headers:
        return 0, Rejection(411, "length_required", "send the body with a content-length")
    raw = headers.get("content-length", "0").strip() or "0"
    # ASCII digits only: int() would also take "+5", "1_000" or other scripts' digits.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 20:
        return 0, Rejection(400, "content_length", f"content-length {raw[:40]!r} is not a size")
    length = int(raw)
    if length > MAX_BODY_SIZE:
        return 0, Rejection(
            413, "too_large", f"the body of {length} bytes is over {MAX_BODY_SIZE} bytes"
        )
    return length, None
