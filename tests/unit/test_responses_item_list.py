"""The input item list of a stored response: the query, the listed items, the pages."""

from __future__ import annotations

from typing import Any

import pytest

from ails.gateway.responses_item_list import (
    ItemListQuery,
    item_list,
    listed_items,
    parse_item_list_query,
)
from ails.gateway.validation import RequestError

RESPONSE_ID = "resp_abc"


def numbered(count: int) -> list[dict[str, Any]]:
    return [
        {"id": f"msg_{i}", "type": "message", "role": "user", "content": []} for i in range(count)
    ]


def ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["data"]]


class TestQuery:
    def test_the_defaults_are_openais(self) -> None:
        assert parse_item_list_query({}) == ItemListQuery(limit=20, order="desc", after=None)

    def test_every_parameter_is_read(self) -> None:
        query = parse_item_list_query({"limit": "5", "order": "asc", "after": "msg_1"})
        assert query == ItemListQuery(limit=5, order="asc", after="msg_1")

    def test_include_is_accepted_and_an_empty_after_is_none(self) -> None:
        query = parse_item_list_query({"include[]": "message.input_image.image_url", "after": ""})
        assert query == ItemListQuery()

    @pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", "1.5", "", "٣"])
    def test_a_limit_out_of_range_is_refused_by_name(self, limit: str) -> None:
        with pytest.raises(RequestError) as caught:
            parse_item_list_query({"limit": limit})
        assert caught.value.param == "limit"
        assert caught.value.status == 400

    @pytest.mark.parametrize("limit", ["1", "100"])
    def test_the_bounds_are_allowed(self, limit: str) -> None:
        assert parse_item_list_query({"limit": limit}).limit == int(limit)

    def test_an_unknown_order_is_refused_by_name(self) -> None:
        with pytest.raises(RequestError) as caught:
            parse_item_list_query({"order": "newest"})
        assert caught.value.param == "order"


class TestListedItems:
    def test_a_string_message_is_one_input_text_part_with_an_id_and_a_status(self) -> None:
        [item] = listed_items(RESPONSE_ID, [{"type": "message", "role": "user", "content": "hi"}])
        assert item == {
            "id": "msg_abc_0",
            "type": "message",
            "role": "user",
            "status": "completed",
            "content": [{"type": "input_text", "text": "hi"}],
        }

    def test_an_assistant_string_is_an_output_text_part(self) -> None:
        [item] = listed_items(RESPONSE_ID, [{"role": "assistant", "content": "ok"}])
        assert item["type"] == "message"
        assert item["content"] == [{"type": "output_text", "text": "ok", "annotations": []}]

    def test_parts_and_ids_the_client_sent_are_kept(self) -> None:
        sent = {
            "id": "msg_mine",
            "type": "message",
            "role": "developer",
            "status": "completed",
            "content": [{"type": "input_text", "text": "Rules."}],
        }
        assert listed_items(RESPONSE_ID, [sent]) == [sent]

    def test_tool_items_get_ids_by_type_and_a_status(self) -> None:
        call = {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"}
        result = {"type": "function_call_output", "call_id": "c1", "output": "21"}
        listed = listed_items(RESPONSE_ID, [call, result])
        assert listed == [
            {**call, "id": "fc_abc_0", "status": "completed"},
            {**result, "id": "fco_abc_1", "status": "completed"},
        ]

    def test_ids_are_the_same_on_every_call_and_unique_in_the_list(self) -> None:
        items = [{"type": "message", "role": "user", "content": "x"}] * 3
        first, again = listed_items(RESPONSE_ID, items), listed_items(RESPONSE_ID, items)
        assert [i["id"] for i in first] == [i["id"] for i in again]
        assert len({i["id"] for i in first}) == 3

    def test_the_stored_items_are_not_changed(self) -> None:
        item = {"type": "message", "role": "user", "content": "hi"}
        listed_items(RESPONSE_ID, [item])
        assert item == {"type": "message", "role": "user", "content": "hi"}


class TestPages:
    def test_newest_first_by_default(self) -> None:
        page = item_list(numbered(3), ItemListQuery())
        assert page == {
            "object": "list",
            "data": list(reversed(numbered(3))),
            "first_id": "msg_2",
            "last_id": "msg_0",
            "has_more": False,
        }

    def test_asc_is_the_order_sent(self) -> None:
        assert ids(item_list(numbered(3), ItemListQuery(order="asc"))) == [
            "msg_0",
            "msg_1",
            "msg_2",
        ]

    def test_pages_follow_each_last_id_to_the_end(self) -> None:
        items, seen, after = numbered(5), [], None
        pages = []
        while True:
            page = item_list(items, ItemListQuery(limit=2, order="asc", after=after))
            pages.append((ids(page), page["has_more"]))
            seen += ids(page)
            if not page["has_more"]:
                break
            after = page["last_id"]
        assert pages == [
            (["msg_0", "msg_1"], True),
            (["msg_2", "msg_3"], True),
            (["msg_4"], False),
        ]
        assert seen == [item["id"] for item in items]

    def test_after_counts_in_the_order_asked(self) -> None:
        page = item_list(numbered(4), ItemListQuery(limit=2, after="msg_2"))
        assert ids(page) == ["msg_1", "msg_0"]
        assert page["has_more"] is False

    def test_a_full_last_page_says_no_more(self) -> None:
        page = item_list(numbered(4), ItemListQuery(limit=2, order="asc", after="msg_1"))
        assert (ids(page), page["has_more"]) == (["msg_2", "msg_3"], False)

    def test_after_the_last_item_is_an_empty_page(self) -> None:
        page = item_list(numbered(2), ItemListQuery(order="asc", after="msg_1"))
        assert page["data"] == []
        assert (page["first_id"], page["last_id"], page["has_more"]) == (None, None, False)

    def test_an_unknown_after_is_refused_by_name(self) -> None:
        with pytest.raises(RequestError) as caught:
            item_list(numbered(2), ItemListQuery(after="msg_9"))
        assert caught.value.param == "after"
        assert caught.value.status == 400
