"""The official `openai` SDK's Responses API against `ails gateway` in front of FakeServer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from ails.testing import FakeServer

from .gateway_support import MODEL, async_sdk, fake_server, gateway, sdk


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with fake_server() as running:
        yield running


def text_of(item: Any) -> str:
    """The text of a listed message's first part."""
    text: str = item.content[0].text
    return text


def role_of(item: Any) -> str:
    """A listed message's role."""
    role: str = item.role
    return role


def expected(server: FakeServer, name: str = "default") -> str:
    text: str = server.fixtures[name].expect["text"]
    return text


class TestText:
    def test_a_whole_response(self, server: FakeServer) -> None:
        with gateway(server.url_for("default")) as url, sdk(url) as client:
            response = client.responses.create(model=MODEL, input="Hello", instructions="Brief.")
        assert response.object == "response"
        assert response.id.startswith("resp_")
        assert response.status == "completed"
        assert response.output_text == expected(server)
        assert response.instructions == "Brief."
        [message] = response.output
        assert message.type == "message"
        assert message.role == "assistant"
        sent = server.requests[-1].json["messages"]
        assert sent == [
            {"role": "system", "content": "Brief."},
            {"role": "user", "content": "Hello"},
        ]

    def test_the_gateway_counts_what_the_upstream_does_not(self, server: FakeServer) -> None:
        with gateway(server.url_for("default")) as url, sdk(url) as client:
            whole = client.responses.create(model=MODEL, input="Hello")
            events = list(client.responses.create(model=MODEL, input="Hello", stream=True))
        streamed = events[-1].response.usage  # type: ignore[union-attr]
        for usage in (whole.usage, streamed):
            assert usage is not None
            assert usage.input_tokens > 0
            assert usage.output_tokens > 0
            assert usage.total_tokens == usage.input_tokens + usage.output_tokens
        assert whole.usage == streamed

    def test_a_streamed_response_is_the_real_event_sequence(self, server: FakeServer) -> None:
        with gateway(server.url_for("default")) as url, sdk(url) as client:
            events = list(client.responses.create(model=MODEL, input="Hello", stream=True))
        kinds = [event.type for event in events]
        assert kinds[:4] == [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
        ]
        assert kinds[-4:] == [
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
        assert [event.sequence_number for event in events] == list(range(len(events)))
        deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
        assert "".join(deltas) == expected(server)
        completed = events[-1]
        assert completed.type == "response.completed"
        assert completed.response.output_text == expected(server)
        assert completed.response.id == events[0].response.id  # type: ignore[union-attr]

    def test_the_stream_helper_accumulates_the_text(self, server: FakeServer) -> None:
        with (
            gateway(server.url_for("default")) as url,
            sdk(url) as client,
            client.responses.stream(model=MODEL, input="Hello") as stream,
        ):
            deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
            final = stream.get_final_response()
        assert "".join(deltas) == final.output_text == expected(server)

    async def test_async_whole_and_streamed(self, server: FakeServer) -> None:
        with gateway(server.url_for("default")) as url:
            async with async_sdk(url) as client:
                whole = await client.responses.create(model=MODEL, input="Hello")
                stream = await client.responses.create(model=MODEL, input="Hello", stream=True)
                kinds = [event.type async for event in stream]
        assert whole.output_text == expected(server)
        assert kinds[-1] == "response.completed"


class TestStored:
    def test_previous_response_id_continues_the_conversation(self, server: FakeServer) -> None:
        with gateway(server.url_for("default")) as url, sdk(url) as client:
            first = client.responses.create(model=MODEL, input="Hello", instructions="Brief.")
            second = client.responses.create(
                model=MODEL, input="And then?", previous_response_id=first.id
            )
        assert second.previous_response_id == first.id
        # The earlier input and output come first; its instructions do not (as in OpenAI).
        assert server.requests[-1].json["messages"] == [
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": expected(server)},
            {"role": "user", "content": "And then?"},
        ]

    def test_a_chain_of_three_keeps_every_turn(self, server: FakeServer) -> None:
        with gateway(server.url_for("default")) as url, sdk(url) as client:
            first = client.responses.create(model=MODEL, input="one")
            second = client.responses.create(
                model=MODEL, input="two", previous_response_id=first.id
            )
            client.responses.create(model=MODEL, input="three", previous_response_id=second.id)
        sent = server.requests[-1].json["messages"]
        assert [m["content"] for m in sent if m["role"] == "user"] == ["one", "two", "three"]

    def test_an_item_reference_is_the_stored_output_item(self, server: FakeServer) -> None:
        with gateway(server.url_for("default")) as url, sdk(url) as client:
            first = client.responses.create(model=MODEL, input="one")
            client.responses.create(
                model=MODEL,
                input=[
                    {"role": "user", "content": "one"},
                    {"type": "item_reference", "id": first.output[0].id},  # as the AI SDK sends
                    {"role": "user", "content": "two"},
                ],
            )
            with pytest.raises(openai.NotFoundError) as caught:
                client.responses.create(
                    model=MODEL, input=[{"type": "item_reference", "id": "msg_unknown"}]
                )
        assert server.requests[-1].json["messages"] == [
            {"role": "user", "content": "one"},
            {"role": "assistant", "content": expected(server)},
            {"role": "user", "content": "two"},
        ]
        assert caught.value.body["code"] == "item_not_found"  # type: ignore[index]

    def test_retrieve_and_delete(self, server: FakeServer) -> None:
        with gateway(server.url_for("default")) as url, sdk(url) as client:
            made = client.responses.create(model=MODEL, input="Hello")
            got = client.responses.retrieve(made.id)
            client.responses.delete(made.id)
            with pytest.raises(openai.NotFoundError) as caught:
                client.responses.retrieve(made.id)
            with pytest.raises(openai.NotFoundError):
                client.responses.delete(made.id)
        assert got.id == made.id
        assert got.output_text == made.output_text
        assert caught.value.body == {
            "message": f"Response with id {made.id!r} not found.",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }

    def test_a_streamed_response_is_stored_before_it_completes(self, server: FakeServer) -> None:
        with gateway(server.url_for("default")) as url, sdk(url) as client:
            for event in client.responses.create(model=MODEL, input="Hello", stream=True):
                if event.type == "response.completed":
                    got = client.responses.retrieve(event.response.id)
        assert got.output_text == expected(server)

    def test_store_false_is_not_kept(self, server: FakeServer) -> None:
        with gateway(server.url_for("default")) as url, sdk(url) as client:
            made = client.responses.create(model=MODEL, input="Hello", store=False)
            with pytest.raises(openai.NotFoundError) as caught:
                client.responses.retrieve(made.id)
            with pytest.raises(openai.NotFoundError) as follow_up:
                client.responses.create(model=MODEL, input="x", previous_response_id=made.id)
        assert made.store is False
        assert caught.value.body["type"] == "invalid_request_error"  # type: ignore[index]
        assert follow_up.value.body["param"] == "previous_response_id"  # type: ignore[index]

    def test_the_store_is_a_private_file_under_ails_home(
        self, server: FakeServer, tmp_path: Any
    ) -> None:
        path = tmp_path / "store" / "responses.db"
        with gateway(server.url_for("default"), responses_path=path) as url, sdk(url) as client:
            client.responses.create(model=MODEL, input="Hello")
        assert path.stat().st_mode & 0o777 == 0o600


class TestInputItems:
    def test_a_follow_up_lists_its_own_input_newest_first(self, server: FakeServer) -> None:
        with gateway(server.url_for("default")) as url, sdk(url) as client:
            first = client.responses.create(model=MODEL, input="Hello", instructions="Brief.")
            second = client.responses.create(
                model=MODEL,
                input=[
                    {"role": "developer", "content": "Answer in French."},
                    {"role": "user", "content": [{"type": "input_text", "text": "And then?"}]},
                ],
                previous_response_id=first.id,
            )
            page = client.responses.input_items.list(second.id)
            earlier = client.responses.input_items.list(first.id)
        # As in OpenAI: the last sent first, each with an id and its text as parts.
        assert [(role_of(item), text_of(item)) for item in page.data] == [
            ("user", "And then?"),
            ("developer", "Answer in French."),
        ]
        assert all(item.type == "message" and item.id for item in page.data)
        assert page.has_more is False
        [hello] = earlier.data
        assert isinstance(hello, openai.types.responses.ResponseInputMessageItem)
        assert hello.content == [
            openai.types.responses.ResponseInputText(type="input_text", text="Hello")
        ]

    def test_pages_of_limit_after_and_order(self, server: FakeServer) -> None:
        sent = [{"role": "user", "content": f"m{i}"} for i in range(5)]
        with gateway(server.url_for("default")) as url, sdk(url) as client:
            made = client.responses.create(model=MODEL, input=sent)  # type: ignore[arg-type]
            first = client.responses.input_items.list(made.id, limit=2, order="asc")
            second = client.responses.input_items.list(
                made.id, limit=2, order="asc", after=first.data[-1].id
            )
            # The SDK's own paging: it follows has_more with after=<the last id>.
            every = list(client.responses.input_items.list(made.id, limit=2, order="asc"))
            newest = client.responses.input_items.list(made.id, limit=2)
            again = client.responses.input_items.list(made.id, order="asc")
        texts = [text_of(item) for item in every]
        assert texts == ["m0", "m1", "m2", "m3", "m4"]
        assert [text_of(item) for item in first.data] == ["m0", "m1"]
        assert [text_of(item) for item in second.data] == ["m2", "m3"]
        assert (first.has_more, second.has_more) == (True, True)
        assert [text_of(item) for item in newest.data] == ["m4", "m3"]
        # The ids hold from call to call, so "after" always means the same item.
        assert [item.id for item in again.data] == [item.id for item in every]

    def test_unknown_deleted_and_unstored_responses_are_404(self, server: FakeServer) -> None:
        with gateway(server.url_for("default")) as url, sdk(url) as client:
            unstored = client.responses.create(model=MODEL, input="Hello", store=False)
            deleted = client.responses.create(model=MODEL, input="Hello")
            client.responses.delete(deleted.id)
            caught = []
            for response_id in ("resp_unknown", unstored.id, deleted.id):
                with pytest.raises(openai.NotFoundError) as error:
                    client.responses.input_items.list(response_id)
                caught.append(error.value.body)
        # The shape GET /v1/responses/{id} answers.
        assert caught == [
            {
                "message": f"Response with id {response_id!r} not found.",
                "type": "invalid_request_error",
                "param": None,
                "code": None,
            }
            for response_id in ("resp_unknown", unstored.id, deleted.id)
        ]

    def test_a_bad_page_is_a_400_naming_the_parameter(self, server: FakeServer) -> None:
        with gateway(server.url_for("default")) as url, sdk(url) as client:
            made = client.responses.create(model=MODEL, input="Hello")
            params = []
            queries: list[dict[str, Any]] = [{"limit": 0}, {"limit": 101}, {"after": "msg_x"}]
            for query in queries:
                with pytest.raises(openai.BadRequestError) as error:
                    client.responses.input_items.list(made.id, **query)
                params.append(error.value.body["param"])  # type: ignore[index]
            with pytest.raises(openai.BadRequestError) as order:
                client.responses.input_items.list(made.id, extra_query={"order": "up"})
        assert params == ["limit", "limit", "after"]
        assert order.value.body["param"] == "order"  # type: ignore[index]

    def test_the_key_is_checked_as_for_retrieve(self, server: FakeServer) -> None:
        with gateway(server.url_for("default"), require_key="s3cret") as url:
            with sdk(url, api_key="s3cret") as client:
                made = client.responses.create(model=MODEL, input="Hello")
                assert len(client.responses.input_items.list(made.id).data) == 1
            with sdk(url, api_key="wrong") as client, pytest.raises(openai.AuthenticationError):
                client.responses.input_items.list(made.id)


class TestErrors:
    def test_the_ails_profile_refuses_tools_by_name(self, server: FakeServer) -> None:
        tool = {"type": "function", "name": "f", "parameters": {"type": "object"}}
        with (
            gateway(server.url_for("default")) as url,
            sdk(url) as client,
            pytest.raises(openai.BadRequestError) as caught,
        ):
            client.responses.create(model=MODEL, input="Hello", tools=[tool])  # type: ignore[list-item]
        assert caught.value.body["param"] == "tools"  # type: ignore[index]
        assert server.requests == [] or server.requests[-1].json.get("tools") is None

    def test_an_upstream_rate_limit_before_the_stream_keeps_its_status(
        self, server: FakeServer
    ) -> None:
        with (
            gateway(server.url_for("rate-limited-always")) as url,
            sdk(url) as client,
            pytest.raises(openai.RateLimitError),
        ):
            client.responses.create(model=MODEL, input="Hello", stream=True)

    def test_a_failure_mid_stream_is_error_then_response_failed(self, server: FakeServer) -> None:
        with gateway(server.url_for("reset-mid-body")) as url, sdk(url) as client:
            events = list(client.responses.create(model=MODEL, input="Hello", stream=True))
        assert [event.type for event in events[-2:]] == ["error", "response.failed"]
        failed = events[-1]
        assert failed.type == "response.failed"
        assert failed.response.status == "failed"
        assert failed.response.error is not None
        assert [event.sequence_number for event in events] == list(range(len(events)))

    def test_an_unknown_field_is_a_400_naming_it(self, server: FakeServer) -> None:
        with (
            gateway(server.url_for("default")) as url,
            sdk(url) as client,
            pytest.raises(openai.BadRequestError) as caught,
        ):
            client.responses.create(model=MODEL, input="x", extra_body={"frobnicate": 1})
        assert caught.value.body["param"] == "frobnicate"  # type: ignore[index]
