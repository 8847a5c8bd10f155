"""What the gateway tells an OpenAI client about its options and models, in the client's terms.

A 400 names the field (``param``) and says what a gateway user can do, never
the library's API; ``drop_unsupported`` lets tools that always send
``max_tokens`` work behind the ``ails`` profile; ``GET /v1/models/{id}``
answers as OpenAI's does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
import requests

from ails.gateway.handlers import upstream_call
from ails.gateway.validation import parse_request
from ails.testing import FakeServer

from .gateway_support import MODEL, QUESTION, fake_server, gateway, sdk


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with fake_server() as running:
        yield running


def refusal(url: str, **fields: Any) -> dict[str, Any]:
    response = requests.post(
        f"{url}/chat/completions",
        json={"model": MODEL, "messages": QUESTION, **fields},
        timeout=10,
    )
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


class TestRefusalsNameTheField:
    @pytest.mark.parametrize(
        ("fields", "param"),
        [
            ({"temperature": "hot"}, "temperature"),
            ({"temperature": 9}, "temperature"),
            ({"max_tokens": 0}, "max_tokens"),
            ({"max_completion_tokens": "many"}, "max_completion_tokens"),
            ({"top_p": 7}, "top_p"),
            ({"stop": 3}, "stop"),
            ({"seed": 1.5}, "seed"),
        ],
    )
    def test_a_bad_value_names_its_field(
        self, server: FakeServer, fields: dict[str, Any], param: str
    ) -> None:
        with gateway(server.url) as url:
            error = refusal(url, **fields)
        assert error["param"] == param
        assert error["code"] == "invalid_value"
        assert param in error["message"]

    @pytest.mark.parametrize(
        "fields",
        [{"max_tokens": 5}, {"max_completion_tokens": 5}, {"stop": ["\n"]}, {"seed": 3}],
    )
    def test_an_option_the_ails_profile_cannot_send_says_how_to_start_the_gateway(
        self, server: FakeServer, fields: dict[str, Any]
    ) -> None:
        [name] = fields
        with gateway(server.url) as url:
            error = refusal(url, **fields)
        assert error["param"] == name
        assert error["code"] == "unsupported_parameter"
        assert "--drop-unsupported" in error["message"]
        assert "--profile openai" in error["message"]
        assert "extra_body" not in error["message"]

    def test_the_same_options_reach_an_openai_upstream(self) -> None:
        with (
            fake_server(profile="openai", api_key="k") as upstream,
            gateway(upstream.url, client={"profile": "openai", "api_key": "k"}) as url,
            sdk(url) as client,
        ):
            client.chat.completions.create(model=MODEL, messages=QUESTION, max_completion_tokens=4)
        sent = upstream.requests[-1].json
        # Sent as given (a declared option now), and no temperature the client did not set.
        assert sent["max_completion_tokens"] == 4
        assert "temperature" not in sent


class TestDropUnsupported:
    def test_options_the_ails_profile_cannot_send_are_left_out(self, server: FakeServer) -> None:
        events: list[dict[str, Any]] = []

        class Logger:
            def info(self, event: str, **kw: Any) -> None:
                events.append(kw)

            warning = info

        with (
            gateway(server.url_for("emoji"), drop_unsupported=True, logger=Logger()) as url,
            sdk(url) as client,
        ):
            answer = client.chat.completions.create(
                model=MODEL, messages=QUESTION, max_tokens=50, stop=["\n"], seed=1
            )
        assert answer.choices[0].message.content == server.fixtures["emoji"].expect["text"]
        sent = server.requests[-1]
        assert sent.rejection is None  # what the ai.ls web client sends, signed
        assert not {"max_tokens", "stop", "seed"} & set(sent.json)
        assert events[-1]["dropped"] == ["max_tokens", "stop", "seed"]  # names, not values

    def test_a_bad_value_is_still_refused(self, server: FakeServer) -> None:
        with gateway(server.url, drop_unsupported=True) as url:
            error = refusal(url, max_tokens=-1)
        assert (error["param"], error["code"]) == ("max_tokens", "invalid_value")


class TestUpstreamCall:
    def test_the_usage_ask_is_merged_into_extra_body(self) -> None:
        parsed = parse_request(
            b'{"model": "m", "messages": [{"role": "user", "content": "?"}]}', plain=False
        )
        parsed = type(parsed)(
            messages=parsed.messages,
            model=parsed.model,
            stream=True,
            include_usage=False,
            call={"extra_body": {"keep": 1, "stream_options": {"other": True}}},
        )
        call = upstream_call(parsed, plain=False)
        assert call["extra_body"] == {
            "keep": 1,
            "stream_options": {"other": True, "include_usage": True},
        }
        assert parsed.call["extra_body"] == {"keep": 1, "stream_options": {"other": True}}

    def test_nothing_is_added_for_the_ails_profile(self) -> None:
        parsed = parse_request(
            b'{"model": "m", "messages": [{"role": "user", "content": "?"}]}', plain=True
        )
        assert "extra_body" not in upstream_call(parsed, plain=True)


class TestModels:
    def test_a_listed_model_is_retrieved(self, server: FakeServer) -> None:
        with gateway(server.url, models=["gpt-3.5-turbo", "gpt-4o-mini"]) as url, sdk(url) as c:
            model = c.models.retrieve("gpt-4o-mini")
        assert (model.id, model.object, model.owned_by) == ("gpt-4o-mini", "model", "ails")

    def test_a_model_id_with_a_slash_is_retrieved(self, server: FakeServer) -> None:
        with gateway(server.url, models=["org/name-7b"]) as url:
            # As curl sends it: the slash not escaped (the SDK sends %2F, which works too).
            raw = requests.get(f"{url}/models/org/name-7b", timeout=10)
            with sdk(url) as c:
                assert c.models.retrieve("org/name-7b").id == "org/name-7b"
        assert (raw.status_code, raw.json()["id"]) == (200, "org/name-7b")

    def test_another_model_is_a_404_naming_the_offered_ones(self, server: FakeServer) -> None:
        with (
            gateway(server.url) as url,
            sdk(url) as c,
            pytest.raises(openai.NotFoundError) as caught,
        ):
            c.models.retrieve("gpt-9")
        assert caught.value.code == "model_not_found"
        assert "gpt-3.5-turbo" in caught.value.message

    def test_retrieving_needs_the_key_too(self, server: FakeServer) -> None:
        with (
            gateway(server.url, require_key="k") as url,
            sdk(url, api_key="wrong") as c,
            pytest.raises(openai.AuthenticationError),
        ):
            c.models.retrieve(MODEL)
