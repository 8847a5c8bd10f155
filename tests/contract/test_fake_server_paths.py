"""FakeServer catches the mistakes it exists to catch: a wrong path, an unknown fixture name.

A user's suite must not stay green while the real service would answer
404: ``base_url=server.url + "/api"`` posts to ``/api/v1/chat/completions``.
(A base URL ending in ``/v1``, OpenAI's spelling, is one the client accepts.)
"""

from __future__ import annotations

import json

import pytest
import requests

from ails import Client
from ails.errors import HTTPStatusError
from ails.testing import FakeServer
from ails.testing.fixtures import UnknownFixtureError
from ails.transports.requests_transport import RequestsTransport

QUESTION = [{"role": "user", "content": "Привет"}]


@pytest.fixture(scope="module")
def server():
    with FakeServer(delay_scale=0.0) as running:
        yield running


def _post(url: str, **kw) -> requests.Response:
    return requests.post(url, json={"messages": QUESTION}, timeout=10, **kw)


class TestPaths:
    def test_a_base_url_with_a_path_is_a_404_naming_the_path_it_expected(self, server):
        with (
            Client(RequestsTransport(), base_url=server.url + "/api") as client,
            pytest.raises(HTTPStatusError) as info,
        ):
            client.complete(QUESTION)
        assert info.value.status == 404
        error = json.loads(info.value.body)["error"]
        assert error == {
            "code": "not_found",
            "message": "FakeServer answers POST /v1/chat/completions, not "
            "/api/v1/chat/completions; use base_url=server.url or server.url_for(name)",
        }
        assert server.requests[-1].rejection is not None
        assert server.requests[-1].fixture == ""

    @pytest.mark.parametrize(
        "path",
        ["/", "/chat/completions", "/v1/completions", "/v1/v1/chat/completions", "/v1/chat/x"],
    )
    def test_any_other_path_is_a_404(self, server, path):
        response = _post(server.url + path)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"

    def test_under_a_fixture_the_same_rule_holds(self, server):
        response = _post(server.url_for("ru-greeting") + "/v1/v1/chat/completions")
        assert response.status_code == 404
        assert (
            f"not {response.request.path_url.split('?')[0]}" in response.json()["error"]["message"]
        )

    @pytest.mark.parametrize(
        "suffix", ["/v1/chat/completions", "/fixtures/emoji/v1/chat/completions"]
    )
    def test_the_paths_it_serves(self, server, suffix):
        with Client(
            RequestsTransport(), base_url=server.url + suffix.removesuffix("/v1/chat/completions")
        ) as client:
            assert client.complete(QUESTION)
        assert server.requests[-1].rejection is None


class TestFixtureNames:
    def test_an_unknown_name_in_the_url_is_a_404_naming_the_fixtures(self, server):
        with (
            Client(RequestsTransport(), base_url=server.url + "/fixtures/typo/abc") as client,
            pytest.raises(HTTPStatusError) as info,
        ):
            client.complete(QUESTION)
        error = json.loads(info.value.body)["error"]
        assert error["code"] == "unknown_fixture"
        assert error["message"].startswith("no fixture named 'typo'; the fixtures are: ")
        assert "ru-greeting" in error["message"]
        assert "default" in error["message"]
        assert "HTTP 404" in str(info.value)

    def test_an_unknown_name_in_the_header_is_a_404_too(self, server):
        response = _post(server.url + "/v1/chat/completions", headers={"x-ails-fixture": "typo"})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "unknown_fixture"

    def test_url_for_an_unknown_name_says_the_same(self, server):
        with pytest.raises(UnknownFixtureError) as info:
            server.url_for("typo")
        assert isinstance(info.value, KeyError)  # a dict-like lookup failure, as before
        assert str(info.value) == (
            f"no fixture named 'typo'; the fixtures are: {', '.join(sorted(server.fixtures))}"
        )

    def test_a_missing_fixtures_folder_is_an_error(self, tmp_path):
        from ails.testing.fixtures import FixtureError

        with pytest.raises(FixtureError, match="does not exist"):
            FakeServer(fixtures_dir=tmp_path / "nope")
        (tmp_path / "file").write_text("", encoding="utf-8")
        with pytest.raises(FixtureError, match="is not a folder"):
            FakeServer(fixtures_dir=tmp_path / "file")
