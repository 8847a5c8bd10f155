"""instructor's default mode (a forced tool call) against the gateway.

instructor is a layer over the ``openai`` client: its chat, usage and errors
are that row's. What it adds is structured output through tools, so that is
the cell it fills.
"""

from __future__ import annotations

from typing import Any

import instructor
import openai
import pydantic

from .conftest import GatewayFactory
from .support import CLIENT_KEY, MODEL, TOOL_NAME, WAITS_FOR_TOOLS

#: instructor names the tool after the model class: the upstream's call names get_weather.
Weather: Any = pydantic.create_model(TOOL_NAME, city=(str, ...))


@WAITS_FOR_TOOLS
def test_tools(gateway: GatewayFactory) -> None:
    upstream = gateway("compat-tool")
    with openai.OpenAI(base_url=upstream.url, api_key=CLIENT_KEY, max_retries=0) as raw:
        client = instructor.from_openai(raw)
        answer = client.chat.completions.create(
            model=MODEL,
            response_model=Weather,
            messages=[{"role": "user", "content": "Which city? Paris."}],
            max_retries=0,
        )
    assert answer.city == "Paris"
    [body] = upstream.bodies()
    assert body["tool_choice"] == {"type": "function", "function": {"name": TOOL_NAME}}
    assert [t["function"]["name"] for t in body["tools"]] == [TOOL_NAME]
