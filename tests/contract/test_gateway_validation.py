"""Any body at all: a 200 or a 4xx in the OpenAI error shape, never a 500 or a traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ails.testing import FakeServer

from .gateway_support import fake_server, gateway

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
ROLES = st.sampled_from(["system", "developer", "user", "assistant", "tool", "robot", ""]) | JSON
CONTENT = (
    st.text(max_size=40)
    | st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": st.text(max_size=10)}))
    | JSON
)
MESSAGE = st.fixed_dictionaries(
    {"role": ROLES, "content": CONTENT},
    optional={"name": st.text(max_size=5) | JSON, "tool_calls": JSON},
)
FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "model": st.sampled_from(["gpt-3.5-turbo", ""]) | JSON,
    "messages": st.lists(MESSAGE, max_size=3) | JSON,
    "stream": st.booleans() | JSON,
    "temperature": st.floats(-1, 3) | JSON,
    "n": st.integers(0, 3) | JSON,
    "top_p": st.floats(0, 1.5) | JSON,
    "max_tokens": st.integers(-1, 50) | JSON,
    "stop": st.text(max_size=3) | st.lists(st.text(max_size=3), max_size=5) | JSON,
    "stream_options": st.fixed_dictionaries({"include_usage": st.booleans()}) | JSON,
    "tools": st.just([]) | JSON,
    "user": st.text(max_size=5) | JSON,
    "seed": st.integers() | JSON,
    "presence_penalty": st.floats(-3, 3) | JSON,
    "frequency_penalty": st.floats(-3, 3) | JSON,
    "response_format": st.just({"type": "text"}) | JSON,
    "surprise": JSON,
}
REQUEST = st.fixed_dictionaries(
    {
        "model": st.just("gpt-3.5-turbo") | FIELDS["model"],
        "messages": st.lists(MESSAGE, min_size=1, max_size=3) | FIELDS["messages"],
    },
    optional={name: value for name, value in FIELDS.items() if name not in ("model", "messages")},
)
GOOD_MESSAGE = st.fixed_dictionaries(
    {
        "role": st.sampled_from(["system", "developer", "user", "assistant"]),
        "content": st.text(max_size=40)
        | st.lists(
            st.fixed_dictionaries({"type": st.just("text"), "text": st.text(max_size=10)}),
            min_size=1,
        ),
    },
    optional={"name": st.text(min_size=1, max_size=5)},
)
#: Requests an OpenAI client would send: most get a 200 (the ails profile refuses options).
GOOD_REQUEST = st.fixed_dictionaries(
    {
        "model": st.sampled_from(["gpt-3.5-turbo", "gpt-4o"]),
        "messages": st.lists(GOOD_MESSAGE, min_size=1, max_size=3),
    },
    optional={
        "stream": st.booleans(),
        "temperature": st.floats(0, 2),
        "n": st.just(1),
        "top_p": st.just(1),
        "user": st.text(max_size=5),
        "tools": st.just([]),
        "max_tokens": st.integers(1, 10),
    },
)
BODIES = (
    GOOD_REQUEST.map(lambda body: json.dumps(body).encode())
    | REQUEST.map(lambda body: json.dumps(body).encode())
    | JSON.map(lambda value: json.dumps(value).encode())
    | st.binary(max_size=200)
    | st.text(max_size=200).map(lambda text: text.encode("utf-8", "surrogatepass"))
)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    server: FakeServer
    with fake_server() as server, gateway(server.url_for("emoji")) as running:
        yield running


def check(response: requests.Response) -> None:
    assert response.status_code == 200 or 400 <= response.status_code < 500, response.text
    assert "Traceback" not in response.text
    if response.status_code == 200:
        return
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str)
    assert error["message"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=BODIES)
def test_any_body_gets_a_200_or_an_openai_4xx(url: str, body: bytes) -> None:
    response = requests.post(
        f"{url}/chat/completions",
        data=body,
        headers={"content-type": "application/json"},
        timeout=30,
    )
    event(f"status {response.status_code}")
    check(response)


@settings(max_examples=40, deadline=None)
@given(
    content_type=st.sampled_from(
        ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", ""]
    )
)
def test_a_body_that_is_not_declared_json_is_refused(url: str, content_type: str) -> None:
    # What a web page may send anywhere without a CORS preflight: never answered.
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    response = requests.post(
        f"{url}/chat/completions", data=body, headers={"content-type": content_type}, timeout=30
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


@settings(max_examples=20, deadline=None)
@given(content_type=st.sampled_from(["application/json", "application/json; charset=utf-8"]))
def test_a_json_body_is_answered(url: str, content_type: str) -> None:
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    response = requests.post(
        f"{url}/chat/completions", data=body, headers={"content-type": content_type}, timeout=30
    )
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"]
