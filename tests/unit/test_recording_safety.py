"""RecordingTransport keeps no secret and writes only where it was told to.

No socket: the recorder wraps a ``MockTransport``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ails import Client, Message
from ails.errors import ValidationError
from ails.testing import MockResponse, MockTransport, RecordingTransport, chat_stream
from ails.testing.recording import REDACTED, redact_request_url

QUESTION = [Message.user("hi")]
ORIGIN = "http://127.0.0.1:8787"


def _answer(headers: dict[str, str] | None = None) -> MockTransport:
    headers = headers or {"content-type": "text/event-stream"}
    return MockTransport(lambda request: MockResponse(headers=headers, chunks=chat_stream(["ok"])))


def _record(directory: Path, **client: object) -> tuple[Path, str]:
    recorder = RecordingTransport(_answer(), directory)
    options: dict[str, object] = {"base_url": ORIGIN, "max_retries": 0, **client}
    with Client(recorder, **options) as chat:  # type: ignore[arg-type]
        assert chat.complete(QUESTION) == "ok"
    [path] = recorder.written
    return path, path.read_text(encoding="utf-8")


class TestSecretsStayOut:
    def test_url_credentials_reach_neither_the_url_nor_the_description(
        self, tmp_path: Path
    ) -> None:
        _, text = _record(tmp_path, base_url="http://alice:s3cr3t-pw@127.0.0.1:8787")

        fixture = json.loads(text)
        assert "s3cr3t-pw" not in text
        assert "alice" not in text
        assert fixture["request"]["url"] == ORIGIN + "/v1/chat/completions?full=false"
        assert fixture["description"] == f"Recorded from {ORIGIN}/v1/chat/completions by ails."

    @pytest.mark.parametrize(
        "name",
        [
            "X-Auth-Token",
            "api-key",
            "X-Api-Key",
            "Cookie",
            "X-Client-Secret",
            "X-Password",
            "Proxy-Authorization",
            "X-Session",
        ],
    )
    def test_credential_like_request_headers_are_redacted(self, tmp_path: Path, name: str) -> None:
        _, text = _record(tmp_path, headers={name: "hunter2-value"})

        assert "hunter2-value" not in text
        assert json.loads(text)["request"]["headers"][name.lower()] == REDACTED

    def test_plain_headers_and_the_authority_are_kept(self, tmp_path: Path) -> None:
        _, text = _record(tmp_path, headers={"X-Trace": "abc"})

        headers = json.loads(text)["request"]["headers"]
        assert headers["x-trace"] == "abc"
        assert headers["authority"] == "127.0.0.1:8787"
        assert headers["content-type"] == "application/json"

    def test_credential_like_response_headers_are_not_recorded(self, tmp_path: Path) -> None:
        recorder = RecordingTransport(
            _answer(
                {
                    "content-type": "text/event-stream",
                    "Set-Cookie": "sid=cookie-value",
                    "X-Session-Token": "token-value",
                    "X-Request-Id": "req-1",
                }
            ),
            tmp_path,
        )
        with Client(recorder, base_url=ORIGIN) as chat:
            chat.complete(QUESTION)
        text = recorder.written[0].read_text(encoding="utf-8")

        assert "cookie-value" not in text
        assert "token-value" not in text
        assert json.loads(text)["replies"][0]["headers"]["x-request-id"] == "req-1"

    @pytest.mark.parametrize(
        ("url", "expected"),
        [
            ("http://u:p@h/v1/x?full=false", "http://h/v1/x?full=false"),
            ("http://h/v1/x?key=abc&full=false", f"http://h/v1/x?key={REDACTED}&full=false"),
            ("http://h/v1/x?access_token=abc", f"http://h/v1/x?access_token={REDACTED}"),
            ("http://h/v1/x?a=%20b", "http://h/v1/x?a=%20b"),
        ],
    )
    def test_request_url_redaction(self, url: str, expected: str) -> None:
        assert redact_request_url(url) == expected


class TestFilesStayInside:
    def test_a_planted_symlink_is_skipped_not_followed(self, tmp_path: Path) -> None:
        outside = tmp_path / "outside.txt"
        outside.write_text("precious\n")
        folder = tmp_path / "recordings"
        folder.mkdir()
        (folder / "recorded-001.json").symlink_to(outside)

        path, _ = _record(folder)

        assert outside.read_text() == "precious\n"
        assert path == folder / "recorded-002.json"
        assert not path.is_symlink()
        assert (folder / "recorded-001.json").is_symlink()

    def test_a_dangling_symlink_creates_nothing_at_its_target(self, tmp_path: Path) -> None:
        target = tmp_path / "would-be-created.json"
        folder = tmp_path / "recordings"
        folder.mkdir()
        (folder / "recorded-001.json").symlink_to(target)

        path, _ = _record(folder)

        assert not target.exists()
        assert path.name == "recorded-002.json"

    def test_existing_files_are_skipped(self, tmp_path: Path) -> None:
        (tmp_path / "recorded-001.json").write_text("{}")

        path, _ = _record(tmp_path)

        assert path.name == "recorded-002.json"
        assert (tmp_path / "recorded-001.json").read_text() == "{}"

    @pytest.mark.parametrize(
        "prefix", ["../x", "a/b", "..", "", ".hidden", "x\x00y", "/abs", "a\\b", "x" * 101]
    )
    def test_a_prefix_with_a_path_is_refused(self, tmp_path: Path, prefix: str) -> None:
        folder = tmp_path / "recordings"

        with pytest.raises(ValidationError, match="prefix"):
            RecordingTransport(_answer(), folder, prefix=prefix)

        assert list(tmp_path.iterdir()) == []

    def test_a_plain_prefix_names_the_files(self, tmp_path: Path) -> None:
        recorder = RecordingTransport(_answer(), tmp_path, prefix="chat_v1.2-ru")
        with Client(recorder, base_url=ORIGIN) as chat:
            chat.complete(QUESTION)

        assert [p.name for p in recorder.written] == ["chat_v1.2-ru-001.json"]

    def test_files_are_regular_and_readable(self, tmp_path: Path) -> None:
        path, _ = _record(tmp_path)

        assert path.is_file()
        assert not path.is_symlink()
        assert json.loads(path.read_text(encoding="utf-8"))["name"] == "recorded-001"
