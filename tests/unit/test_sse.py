"""The event-stream parser against the WHATWG "event stream interpretation" rules.

https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
"""

from __future__ import annotations

import contextlib
import itertools
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ails.domain.errors import AilsError, ProtocolError
from ails.domain.sse import DEFAULT_MAX_EVENT_SIZE, ServerSentEvent, SSEParser

BOM = b"\xef\xbb\xbf"


def parse(*chunks: bytes, max_event_size: int = DEFAULT_MAX_EVENT_SIZE) -> list[ServerSentEvent]:
    """Feed ``chunks`` in order, then close; every event dispatched on the way."""
    parser = SSEParser(max_event_size=max_event_size)
    events = [event for chunk in chunks for event in parser.feed(chunk)]
    return events + parser.close()


def split_at(stream: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(cuts), len(stream)]
    return [stream[start:end] for start, end in itertools.pairwise(bounds)]


def reference_events(stream: bytes) -> list[ServerSentEvent]:
    """The WHATWG algorithm, written straight from the spec over the whole stream.

    Decode everything first (dropping one leading BOM), split on CRLF, CR or LF,
    drop the unterminated last line, then interpret each line. ``retry`` is
    reported on the event of the block that set it, as ails documents.
    """
    text = stream.decode("utf-8", "replace")
    text = text.removeprefix("\ufeff")
    lines = re.split("\r\n|\r|\n", text)[:-1]
    events: list[ServerSentEvent] = []
    data, event_type, last_id, retry = "", "", "", None
    for line in lines:
        if not line:
            if data:
                events.append(
                    ServerSentEvent(
                        data=data[:-1], event=event_type or "message", id=last_id, retry=retry
                    )
                )
            data, event_type, retry = "", "", None
            continue
        if line.startswith(":"):
            continue
        if ":" in line:
            field, value = line.split(":", 1)
            if value.startswith(" "):
                value = value[1:]
        else:
            field, value = line, ""
        if field == "data":
            data += value + "\n"
        elif field == "event":
            event_type = value
        elif field == "id" and "\0" not in value:
            last_id = value
        elif field == "retry" and value and all(c in "0123456789" for c in value):
            retry = int(value)
    return events


def message(
    data: str, *, event: str = "message", id: str = "", retry: int | None = None
) -> ServerSentEvent:
    return ServerSentEvent(data=data, event=event, id=id, retry=retry)


# Inputs for the split-everywhere tests: each exercises a rule that chunk
# boundaries could break.
SAMPLES: dict[str, bytes] = {
    "lf": b"data: a\n\ndata: b\n\n",
    "crlf": b"data: a\r\n\r\ndata: b\r\n\r\n",
    "cr": b"data: a\r\rdata: b\r\r",
    "mixed line ends": b"data: a\r\ndata: b\rdata: c\n\r\n",
    "bom": BOM + b"data: a\n\n",
    "double bom": BOM + BOM + b"data: a\n\ndata: b\n\n",
    "comments": b": ping\n\n:\ndata: a\n: inside\n\n",
    "multi-line": b"data: one\ndata: two\ndata:\ndata: four\n\n",
    "fields": b"event: add\nid: 7\nretry: 1500\ndata: {}\n\nid\ndata\n\n",
    "multi-byte": "data: Привет 😀\n\ndata: ünï\r\n\r\n".encode(),
    "invalid utf-8": b"data: \xff\xfe ok \xe2\x82\n\n",
    "chat": (
        b'data: {"choices":[{"delta":{"content":"Hi"}}]}\r\n\r\n'
        b": keep-alive\r\n\r\ndata: [DONE]\r\n\r\n"
    ),
    "unterminated tail": b"data: a\n\ndata: lost",
}


# Pieces that recombine into tricky streams: field names, separators, every
# line end, BOM fragments, invalid and multi-byte UTF-8, false line breaks.
_PIECES = [
    b"data",
    b"data:",
    b"data: ",
    b"event:",
    b"event: ping",
    b"id:",
    b"id: 1",
    b"retry:",
    b"retry: 15",
    b":",
    b": ping",
    b" ",
    b"x",
    b"\r",
    b"\n",
    b"\r\n",
    b"\n\n",
    b"\0",
    b"\x0b",
    BOM,
    BOM[:1],
    BOM[:2],
    b"\xff",
    "é".encode(),
    "😀".encode(),
    "\u2028".encode(),
]
event_streams = st.lists(st.sampled_from(_PIECES) | st.binary(max_size=3), max_size=40).map(
    b"".join
)


class TestLineEnds:
    @pytest.mark.parametrize("end", [b"\n", b"\r", b"\r\n"], ids=["LF", "CR", "CRLF"])
    def test_each_line_end_terminates_lines_and_events(self, end: bytes) -> None:
        stream = b"data: a" + end + b"data: b" + end + end + b"data: c" + end + end

        assert parse(stream) == [message("a\nb"), message("c")]

    def test_crlf_split_across_chunks_is_one_line_end(self) -> None:
        assert parse(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n") == [message("a\nb")]

    def test_cr_then_cr_is_two_line_ends(self) -> None:
        assert parse(b"data: a\r", b"\r") == [message("a")]

    def test_cr_at_chunk_end_followed_by_an_empty_chunk_still_pairs_with_lf(self) -> None:
        assert parse(b"data: a\r", b"", b"\n\n") == [message("a")]

    def test_lf_alone_after_pending_cr_produces_no_blank_line(self) -> None:
        # The LF completes the CRLF; were it a second line end, the event would
        # be dispatched here.
        parser = SSEParser()

        assert parser.feed(b"data: a\r") == []
        assert parser.feed(b"\n") == []
        assert parser.feed(b"\n") == [message("a")]

    @pytest.mark.parametrize(
        "char", ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
    )
    def test_characters_splitlines_breaks_on_are_ordinary_here(self, char: str) -> None:
        stream = f"data: a{char}b\n\n".encode()

        assert parse(stream) == [message(f"a{char}b")]


class TestByteOrderMark:
    def test_leading_bom_is_stripped(self) -> None:
        assert parse(BOM + b"data: a\n\n") == [message("a")]

    @pytest.mark.parametrize("cut", [1, 2])
    def test_bom_split_across_chunks_is_stripped(self, cut: int) -> None:
        assert parse(BOM[:cut], BOM[cut:] + b"data: a\n\n") == [message("a")]

    def test_bom_split_over_three_chunks_is_stripped(self) -> None:
        assert parse(b"\xef", b"\xbb", b"\xbf", b"data: a\n\n") == [message("a")]

    def test_empty_chunks_before_the_bom_do_not_end_the_check(self) -> None:
        assert parse(b"", BOM, b"data: a\n\n") == [message("a")]

    def test_only_one_bom_is_stripped(self) -> None:
        # The second BOM becomes part of the field name "\ufeffdata", which is unknown.
        assert parse(BOM + BOM + b"data: a\n\ndata: b\n\n") == [message("b")]

    def test_bom_after_the_start_is_kept(self) -> None:
        assert parse(b"data: a", BOM + b"\n\n") == [message("a\ufeff")]

    def test_bom_prefix_that_is_not_a_bom_is_kept_as_data(self) -> None:
        assert parse(b"data: \xef\xbb\n\n") == [message("\ufffd")]

    def test_partial_bom_at_the_start_that_is_not_a_bom_reaches_the_parser(self) -> None:
        # b"\xef" then "d...": the held-back byte is decoded with the line.
        assert parse(b"\xef", b"data: a\n\n") == []  # field "\ufffddata" is unknown
        assert parse(b"\xef\n", b"data: a\n\n") == [message("a")]


class TestComments:
    @pytest.mark.parametrize("line", [b":", b": ping", b":ping", b"::", b": data: x"])
    def test_comment_lines_produce_nothing(self, line: bytes) -> None:
        assert parse(line + b"\n\n") == []

    def test_keep_alives_between_events_change_nothing(self) -> None:
        stream = b": ping\n\ndata: a\n: ping\ndata: b\n\n: ping\n\n"

        assert parse(stream) == [message("a\nb")]


class TestFields:
    def test_field_without_colon_has_an_empty_value(self) -> None:
        assert parse(b"data\n\n") == [message("")]

    def test_one_space_after_the_colon_is_stripped(self) -> None:
        assert parse(b"data: a\n\n") == [message("a")]

    def test_no_space_after_the_colon_is_fine(self) -> None:
        assert parse(b"data:a\n\n") == [message("a")]

    def test_only_one_space_is_stripped(self) -> None:
        assert parse(b"data:  a \n\n") == [message(" a ")]

    def test_a_tab_after_the_colon_is_kept(self) -> None:
        assert parse(b"data:\ta\n\n") == [message("\ta")]

    def test_later_colons_belong_to_the_value(self) -> None:
        assert parse(b"data: a: b:c\n\n") == [message("a: b:c")]

    @pytest.mark.parametrize("line", [b"Data: x", b"foo: bar", b"data : x", b" data: x"])
    def test_unknown_fields_are_ignored(self, line: bytes) -> None:
        assert parse(line + b"\ndata: kept\n\n") == [message("kept")]


class TestData:
    def test_multiple_data_lines_are_joined_with_lf(self) -> None:
        assert parse(b"data: a\ndata: b\ndata: c\n\n") == [message("a\nb\nc")]

    def test_empty_data_line_dispatches_an_event_with_empty_data(self) -> None:
        assert parse(b"data:\n\n") == [message("")]

    def test_empty_data_lines_keep_their_line_breaks(self) -> None:
        assert parse(b"data: a\ndata:\n\n") == [message("a\n")]
        assert parse(b"data:\ndata:\n\n") == [message("\n")]


class TestEventType:
    def test_event_field_sets_the_type(self) -> None:
        assert parse(b"event: add\ndata: x\n\n") == [message("x", event="add")]

    def test_type_defaults_to_message(self) -> None:
        assert parse(b"data: x\n\n")[0].event == "message"

    def test_empty_event_field_means_message(self) -> None:
        assert parse(b"event:\ndata: x\n\n") == [message("x")]

    def test_type_applies_to_one_event_only(self) -> None:
        events = parse(b"event: add\ndata: x\n\ndata: y\n\n")

        assert [e.event for e in events] == ["add", "message"]


class TestDispatch:
    def test_block_without_data_dispatches_nothing(self) -> None:
        assert parse(b"event: add\nid: 1\nretry: 5\n\n") == []

    def test_block_without_data_resets_the_event_type(self) -> None:
        assert parse(b"event: add\n\ndata: x\n\n") == [message("x")]

    def test_block_without_data_resets_retry(self) -> None:
        assert parse(b"retry: 5\n\ndata: x\n\n") == [message("x")]

    def test_stray_blank_line_after_id_emits_nothing(self) -> None:
        assert parse(b"id: 1\n\n\n\n") == []

    def test_blank_lines_between_events_emit_nothing(self) -> None:
        assert parse(b"\n\n\ndata: a\n\n\n\n") == [message("a")]

    def test_feed_returns_events_as_soon_as_they_complete(self) -> None:
        parser = SSEParser()

        assert parser.feed(b"data: a\n") == []
        assert parser.feed(b"\ndata: b\n\ndata: c") == [message("a"), message("b")]
        assert parser.close() == []


class TestLastEventId:
    def test_id_is_attached_to_the_event(self) -> None:
        assert parse(b"id: 7\ndata: x\n\n") == [message("x", id="7")]

    def test_id_is_sticky_across_events(self) -> None:
        events = parse(b"id: 7\ndata: a\n\ndata: b\n\nid: 8\ndata: c\n\n")

        assert [e.id for e in events] == ["7", "7", "8"]

    def test_id_set_in_a_block_without_data_is_still_remembered(self) -> None:
        assert parse(b"id: 7\n\ndata: x\n\n") == [message("x", id="7")]

    def test_empty_id_resets_the_last_event_id(self) -> None:
        events = parse(b"id: 7\ndata: a\n\nid\ndata: b\n\n")

        assert [e.id for e in events] == ["7", ""]

    def test_id_containing_nul_is_ignored(self) -> None:
        events = parse(b"id: 7\ndata: a\n\nid: 8\x009\ndata: b\n\n")

        assert [e.id for e in events] == ["7", "7"]

    def test_last_event_id_property_tracks_the_stream(self) -> None:
        parser = SSEParser()
        assert parser.last_event_id == ""

        parser.feed(b"id: abc\n")

        assert parser.last_event_id == "abc"


class TestRetry:
    def test_retry_with_ascii_digits_is_reported(self) -> None:
        assert parse(b"retry: 1500\ndata: x\n\n") == [message("x", retry=1500)]

    @pytest.mark.parametrize(
        "value",
        ["", "-1", "1.5", "1e3", "  15", "15 ", "1a", "\u0661\u0662", "\u00b2", "\uff11"],
        ids=repr,
    )
    def test_retry_that_is_not_all_ascii_digits_is_ignored(self, value: str) -> None:
        assert parse(f"retry:{value}\ndata: x\n\n".encode()) == [message("x")]

    def test_retry_applies_to_its_own_event_only(self) -> None:
        events = parse(b"retry: 10\ndata: a\n\ndata: b\n\n")

        assert [e.retry for e in events] == [10, None]


class TestEndOfStream:
    def test_unterminated_event_is_discarded_at_close(self) -> None:
        parser = SSEParser()

        assert parser.feed(b"data: a\n\ndata: b\n") == [message("a")]
        assert parser.close() == []

    def test_unterminated_line_is_discarded_at_close(self) -> None:
        assert parse(b"data: a") == []

    def test_feed_after_close_raises(self) -> None:
        parser = SSEParser()
        parser.close()

        with pytest.raises(ProtocolError, match="after close"):
            parser.feed(b"data: a\n\n")


class TestDecoding:
    def test_invalid_utf8_becomes_replacement_characters(self) -> None:
        assert parse(b"data: a\xffb\xc3\n\n") == [message("a\ufffdb\ufffd")]

    def test_invalid_utf8_in_field_names_does_not_match_a_field(self) -> None:
        assert parse(b"d\xffta: a\n\n") == []

    def test_multi_byte_character_split_across_chunks_is_intact(self) -> None:
        encoded = "data: 😀\n\n".encode()
        cut = encoded.index(b"\xf0") + 2

        assert parse(encoded[:cut], encoded[cut:]) == [message("😀")]

    def test_every_split_of_a_multi_byte_text_is_intact(self) -> None:
        encoded = "data: Привет, 世界 😀\n\n".encode()

        for cut in range(len(encoded) + 1):
            assert parse(encoded[:cut], encoded[cut:]) == [message("Привет, 世界 😀")]


class TestMaxEventSize:
    def test_long_unterminated_line_raises(self) -> None:
        parser = SSEParser(max_event_size=32)

        with pytest.raises(ProtocolError, match="exceeded 32 bytes"):
            parser.feed(b"data: " + b"x" * 40)

    def test_long_line_growing_over_many_chunks_raises(self) -> None:
        parser = SSEParser(max_event_size=32)
        for _ in range(32):
            assert parser.feed(b"x") == []

        with pytest.raises(ProtocolError, match="max_event_size"):
            parser.feed(b"x")

    def test_many_data_lines_raise(self) -> None:
        parser = SSEParser(max_event_size=32)

        with pytest.raises(ProtocolError, match="exceeded 32 bytes"):
            parser.feed(b"data: 0123456789\n" * 3)

    def test_data_plus_unterminated_line_raises(self) -> None:
        parser = SSEParser(max_event_size=32)
        parser.feed(b"data: 0123456789\n")  # 16 bytes of data buffered
        parser.feed(b"data: 0123456789")  # + 16 bytes pending: 32 is allowed

        with pytest.raises(ProtocolError):
            parser.feed(b"x")

    def test_event_exactly_at_the_limit_is_fine(self) -> None:
        line = b"data: " + b"x" * 26  # 32 bytes

        assert parse(line, b"\n\n", max_event_size=32) == [message("x" * 26)]

    def test_limit_counts_one_event_at_a_time(self) -> None:
        events = parse(b"data: 0123456789\n\n" * 10, max_event_size=32)

        assert events == [message("0123456789")] * 10

    def test_limit_is_not_affected_by_where_a_dispatch_falls_in_a_chunk(self) -> None:
        # 20 bytes of data, then a blank line dispatching them and 20 bytes of
        # the next event in the same chunk: neither event reaches 32 bytes.
        parser = SSEParser(max_event_size=32)

        assert parser.feed(b"data: 01234567890123\n") == []
        assert parser.feed(b"\ndata: 01234567890123") == [message("01234567890123")]

    def test_comments_do_not_count_once_complete(self) -> None:
        stream = b": " + b"x" * 30 + b"\n" + b"data: a\n\n"

        assert parse(stream, max_event_size=32) == [message("a")]

    def test_default_is_generous(self) -> None:
        big = "x" * 1_000_000

        assert parse(f"data: {big}\n\n".encode()) == [message(big)]


class TestServerSentEvent:
    def test_defaults(self) -> None:
        event = ServerSentEvent()

        assert (event.data, event.event, event.id, event.retry) == ("", "message", "", None)

    def test_is_immutable(self) -> None:
        event = ServerSentEvent(data="a")

        with pytest.raises(AttributeError):
            event.data = "b"  # type: ignore[misc]


class TestChunkingInvariance:
    @pytest.mark.parametrize("stream", SAMPLES.values(), ids=SAMPLES.keys())
    def test_samples_match_the_reference_algorithm(self, stream: bytes) -> None:
        assert parse(stream) == reference_events(stream)

    @pytest.mark.parametrize("stream", SAMPLES.values(), ids=SAMPLES.keys())
    def test_every_two_chunk_split_gives_the_same_events(self, stream: bytes) -> None:
        expected = parse(stream)

        for cut in range(len(stream) + 1):
            assert parse(stream[:cut], stream[cut:]) == expected, f"split at {cut}"

    @pytest.mark.parametrize("stream", SAMPLES.values(), ids=SAMPLES.keys())
    def test_byte_by_byte_gives_the_same_events(self, stream: bytes) -> None:
        chunks = [stream[i : i + 1] for i in range(len(stream))]

        assert parse(*chunks) == parse(stream)

    @given(st.data())
    def test_any_chunking_gives_the_events_of_the_reference(self, data: st.DataObject) -> None:
        stream = data.draw(event_streams)
        cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=12))

        assert parse(*split_at(stream, cuts)) == reference_events(stream)

    @given(st.data())
    def test_arbitrary_bytes_raise_nothing_but_ails_errors(self, data: st.DataObject) -> None:
        stream = data.draw(st.binary(max_size=300) | event_streams)
        cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=12))
        limit = data.draw(st.integers(1, 128))
        parser = SSEParser(max_event_size=limit)

        # ProtocolError for an oversized event is the one failure allowed.
        with contextlib.suppress(AilsError):
            for chunk in split_at(stream, cuts):
                events = parser.feed(chunk)
                assert all(isinstance(event, ServerSentEvent) for event in events)
            assert parser.close() == []
