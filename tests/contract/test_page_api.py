"""The page's JSON API and assets, in process: a gateway app with the page, a fake upstream."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from ails import AsyncClient, ConversationStore
from ails.gateway import BackgroundGateway, create_app
from ails.page import CONTENT_SECURITY_POLICY, add_page
from ails.page.app import assets
from ails.testing import FakeServer

#: The page's first load: the HTML and every file it loads before it can be used.
FIRST_LOAD = [
    "index.html",
    "page.css",
    "page.js",
    "icon.svg",
    "vendor/purify.min.js",
    "vendor/marked.esm.js",
    "vendor/highlight.core.min.js",
]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeServer]:
    with FakeServer(delay_scale=0.0) as server:
        yield server


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def gateway(fake: FakeServer, home: Path) -> Iterator[str]:
    app = create_app(lambda: AsyncClient(base_url=fake.url), models=["m1", "m2"])
    add_page(app, lambda: ConversationStore(home / "history.db"))
    with BackgroundGateway(app) as running:
        yield running.url.removesuffix("/v1")


def lines(response: requests.Response) -> list[dict[str, Any]]:
    return [json.loads(line) for line in response.iter_lines() if line]


def ask(url: str, **body: Any) -> list[dict[str, Any]]:
    response = requests.post(f"{url}/page/api/answers", json=body, stream=True, timeout=20)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return lines(response)


class TestAssets:
    def test_index_and_assets_carry_the_policy_and_an_etag(self, gateway: str) -> None:
        page = requests.get(f"{gateway}/", timeout=10)
        assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert page.headers["content-type"].startswith("text/html")
        script = requests.get(f"{gateway}/page/assets/page.js", timeout=10)
        assert script.headers["content-type"].startswith("text/javascript")
        again = requests.get(
            f"{gateway}/page/assets/page.js",
            headers={"if-none-match": script.headers["etag"]},
            timeout=10,
        )
        assert again.status_code == 304

    def test_unknown_and_traversing_names_are_404(self, gateway: str) -> None:
        for name in ("nope.js", "../app.py", "vendor/licenses/../../page.js.map"):
            assert requests.get(f"{gateway}/page/assets/{name}", timeout=10).status_code == 404

    def test_the_first_load_is_at_most_300_kb_and_names_no_other_host(self) -> None:
        files = assets()
        total = sum(len(files[name].body) for name in FIRST_LOAD)
        total += sum(len(a.body) for n, a in files.items() if n.startswith("vendor/languages/"))
        assert total <= 300 * 1024, total
        index = files["index.html"].body.decode()
        assert "http://" not in index
        assert "https://" not in index

    def test_the_vendored_libraries_ship_with_their_licenses(self) -> None:
        folder = Path(__file__).parents[2] / "src/ails/page/assets/vendor"
        licenses = {path.name for path in (folder / "licenses").iterdir()}
        assert licenses == {
            "marked.LICENSE.txt",
            "dompurify.LICENSE.txt",
            "highlight.js.LICENSE.txt",
        }
        versions = (folder / "VERSIONS.txt").read_text()
        assert "marked 18.3.0" in versions

    def test_add_page_needs_a_gateway_app(self) -> None:
        from aiohttp import web

        with pytest.raises(ValueError, match="create_app"):
            add_page(web.Application())


class TestAnswers:
    def test_a_question_streams_back_and_is_saved(self, gateway: str, home: Path) -> None:
        head, *texts, end = ask(gateway, content="Привет!", model="m2")
        assert head["question"] == 1
        assert head["model"] == "m2"
        text = "".join(piece["text"] for piece in texts)
        assert text.startswith("Привет!")
        assert end["end"] == {"seq": 2, "complete": True, "error": None, "message": None}
        with ConversationStore(home / "history.db") as store:
            saved = store.load(head["conversation"])
        assert [t.content for t in saved.turns] == ["Привет!", text]
        assert saved.info.model == "gpt-3.5-turbo"  # the one the server said answered

    def test_regenerate_and_edit_make_branches(self, gateway: str) -> None:
        head, *_ = ask(gateway, content="first")
        id = head["conversation"]
        ask(gateway, conversation=id, regenerate=1)
        ask(gateway, conversation=id, content="first, edited", after=None)
        tree = requests.get(f"{gateway}/page/api/conversations/{id}", timeout=10).json()
        parents = [(m["seq"], m["parent"]) for m in tree["messages"]]
        assert parents == [(1, None), (2, 1), (3, 1), (4, None), (5, 4)]
        assert tree["head"] == 5
        shown = requests.patch(
            f"{gateway}/page/api/conversations/{id}", json={"show": 2}, timeout=10
        ).json()
        assert shown["head"] == 2

    @pytest.mark.parametrize(
        ("body", "complaint"),
        [
            ({"content": ""}, "empty"),
            ({"content": 5}, "content must be a string"),
            ({"content": "x", "model": "nope"}, "not offered"),
            ({"regenerate": 1}, "needs the conversation"),
            ({"content": "x", "after": "1"}, "message number"),
        ],
    )
    def test_bad_requests_say_what_is_wrong(
        self, gateway: str, body: dict[str, Any], complaint: str
    ) -> None:
        response = requests.post(f"{gateway}/page/api/answers", json=body, timeout=10)
        assert response.status_code == 400
        assert complaint in response.json()["error"]["message"]

    def test_a_body_that_is_not_json_or_an_unknown_conversation(self, gateway: str) -> None:
        response = requests.post(
            f"{gateway}/page/api/answers",
            data=b"{",
            headers={"content-type": "application/json"},
            timeout=10,
        )
        assert response.status_code == 400
        response = requests.post(
            f"{gateway}/page/api/answers", json={"conversation": "nope", "content": "x"}, timeout=10
        )
        assert response.status_code == 404

    def test_a_body_must_be_json_so_another_site_cannot_post_a_form(self, gateway: str) -> None:
        response = requests.post(
            f"{gateway}/page/api/answers",
            data=b'{"content": "x"}',
            headers={"content-type": "text/plain"},
            timeout=10,
        )
        assert response.status_code == 415

    def test_regenerate_must_name_a_question_and_after_a_message(self, gateway: str) -> None:
        head, *_ = ask(gateway, content="q")
        id = head["conversation"]
        for body in ({"regenerate": 2}, {"content": "x", "after": 99}):
            response = requests.post(
                f"{gateway}/page/api/answers", json={"conversation": id, **body}, timeout=10
            )
            assert response.status_code == 400, body

    def test_nothing_to_follow_or_stop(self, gateway: str) -> None:
        assert requests.get(f"{gateway}/page/api/answers/none", timeout=10).status_code == 404
        stopped = requests.post(f"{gateway}/page/api/answers/none/stop", timeout=10).json()
        assert stopped == {"stopped": False}


class TestConversations:
    def test_rename_system_export_search_delete(self, gateway: str) -> None:
        head, *_ = ask(gateway, content="Привет, поиск")
        id = head["conversation"]
        base = f"{gateway}/page/api/conversations/{id}"
        renamed = requests.patch(base, json={"title": "Named", "system": "Be brief."}, timeout=10)
        assert renamed.json()["conversation"]["title"] == "Named"
        assert renamed.json()["conversation"]["system"] == "Be brief."
        assert requests.patch(base, json={"title": " "}, timeout=10).status_code == 400
        listed = requests.get(f"{gateway}/page/api/conversations", timeout=10).json()["data"]
        assert [c["title"] for c in listed] == ["Named"]

        markdown = requests.get(f"{base}/export?format=markdown", timeout=10)
        assert "Привет, поиск" in markdown.text
        assert "attachment" in markdown.headers["content-disposition"]
        as_json = requests.get(f"{base}/export?format=json", timeout=10).json()
        assert as_json
        assert requests.get(f"{base}/export?format=pdf", timeout=10).status_code == 400

        hits = requests.get(f"{gateway}/page/api/search", params={"q": "ПОИСК"}, timeout=10)
        [hit] = hits.json()["data"]
        assert (hit["conversation"], hit["seq"], hit["title"]) == (id, 1, "Named")
        empty = requests.get(f"{gateway}/page/api/search", params={"q": " "}, timeout=10)
        assert empty.json() == {"data": []}

        assert requests.delete(base, timeout=10).json() == {"id": id, "deleted": True}
        assert requests.get(base, timeout=10).status_code == 404

    def test_the_key_guards_the_api(self, fake: FakeServer, home: Path) -> None:
        app = create_app(lambda: AsyncClient(base_url=fake.url), require_key="k")
        add_page(app, lambda: ConversationStore(home / "keyed.db"))
        with BackgroundGateway(app) as running:
            url = running.url.removesuffix("/v1")
            assert requests.get(f"{url}/page/api/conversations", timeout=10).status_code == 401
            keyed = requests.get(
                f"{url}/page/api/conversations", headers={"authorization": "Bearer k"}, timeout=10
            )
            assert keyed.status_code == 200
            assert requests.get(f"{url}/", timeout=10).status_code == 200  # asks for the key


class TestLiveAnswers:
    @pytest.fixture
    def slow(self, fake: FakeServer, home: Path) -> Iterator[str]:
        app = create_app(lambda: AsyncClient(base_url=fake.url_for("slow-stream")))
        add_page(app, lambda: ConversationStore(home / "slow.db"))
        with BackgroundGateway(app) as running:
            yield running.url.removesuffix("/v1")

    def test_follow_from_the_start_refuse_a_second_then_stop(self, slow: str, home: Path) -> None:
        asked = requests.post(
            f"{slow}/page/api/answers", json={"content": "slow"}, stream=True, timeout=20
        )
        rows = asked.iter_lines()
        head = json.loads(next(rows))
        first = json.loads(next(rows))["text"]
        id = head["conversation"]

        followed = requests.get(f"{slow}/page/api/answers/{id}", stream=True, timeout=20)
        follow_rows = followed.iter_lines()
        assert json.loads(next(follow_rows))["question"] == head["question"]
        assert json.loads(next(follow_rows))["text"].startswith(first)  # from the first token

        tree = requests.get(f"{slow}/page/api/conversations/{id}", timeout=10).json()
        assert tree["live"]["question"] == 1
        second = requests.post(
            f"{slow}/page/api/answers", json={"conversation": id, "content": "x"}, timeout=10
        )
        assert second.status_code == 409

        stopped = requests.post(f"{slow}/page/api/answers/{id}/stop", timeout=10).json()
        assert stopped == {"stopped": True, "seq": 2}
        end = [json.loads(row) for row in rows if row][-1]["end"]
        assert (end["complete"], end["error"]) == (False, "Stopped")
        with ConversationStore(home / "slow.db") as store:
            turns = store.load(id).turns
        assert [(t.complete, t.error) for t in turns] == [(False, "Stopped")] * 2

    def test_shutdown_lets_an_answer_finish_and_saves_it(
        self, fake: FakeServer, home: Path
    ) -> None:
        app = create_app(lambda: AsyncClient(base_url=fake.url_for("slow-stream")))
        add_page(app, lambda: ConversationStore(home / "drain.db"))
        with BackgroundGateway(app) as running:
            url = running.url.removesuffix("/v1")
            asked = requests.post(
                f"{url}/page/api/answers", json={"content": "slow"}, stream=True, timeout=20
            )
            rows = asked.iter_lines()
            id = json.loads(next(rows))["conversation"]
            next(rows)
            asked.close()  # the tab went away; the gateway goes on
        with ConversationStore(home / "drain.db") as store:
            [_, answer] = store.load(id).turns
        assert answer.complete
        assert answer.content == "".join(f" t{i}" for i in range(40))

    def test_deleting_a_conversation_stops_its_answer_first(self, slow: str) -> None:
        asked = requests.post(
            f"{slow}/page/api/answers", json={"content": "slow"}, stream=True, timeout=20
        )
        rows = asked.iter_lines()
        id = json.loads(next(rows))["conversation"]
        deleted = requests.delete(f"{slow}/page/api/conversations/{id}", timeout=10)
        assert deleted.json() == {"id": id, "deleted": True}
        end = [json.loads(row) for row in rows if row][-1]["end"]
        assert end["error"] == "Stopped"
        gone = requests.get(f"{slow}/page/api/conversations/{id}", timeout=10)
        assert gone.status_code == 404  # saved when stopped, then deleted: nothing comes back


class TestTheCommand:
    @pytest.mark.parametrize("no_page", [False, True])
    def test_ails_gateway_serves_the_page_unless_told_not_to(
        self, fake: FakeServer, tmp_path: Path, no_page: bool
    ) -> None:
        import os
        import subprocess
        import sys

        command = [sys.executable, "-m", "ails", "gateway", "--port", "0", "--quiet"]
        command += ["--base-url", fake.url, *(["--no-page"] if no_page else [])]
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "AILS_HOME": str(tmp_path)},
        )
        try:
            assert process.stdout is not None
            url = process.stdout.readline().rsplit(" ", 1)[1].strip().removesuffix("v1")
            second = process.stdout.readline()
            status = requests.get(url, timeout=10).status_code
        finally:
            process.terminate()
            process.communicate(timeout=20)
        assert ("chat page at" in second) is not no_page
        assert status == (404 if no_page else 200)
