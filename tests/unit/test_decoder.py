"""Response bytes in, answer tokens out: the parser and interpreter together."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ails.domain.decoder import TokenDecoder
from ails.domain.errors import IncompleteStreamError, ProtocolError, ProviderError
from ails.testing import DONE, chat_chunk, chat_stream, sse_event


def decode(*chunks: bytes, **options: Any) -> list[str]:
    """Feed every chunk, close, and return all tokens."""
    decoder = TokenDecoder(**options)
    tokens = [token for chunk in chunks for token in decoder.feed(chunk)]
    decoder.close("".join(tokens))
    return tokens


def split_at(stream: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(cuts), len(stream)]
    return [stream[start:end] for start, end in itertools.pairwise(bounds)]


class TestTokens:
    def test_a_whole_answer_yields_its_tokens_in_order(self) -> None:
        assert decode(*chat_stream(["Hel", "lo", ", мир 😀"])) == ["Hel", "lo", ", мир 😀"]

    def test_tokens_arrive_as_soon_as_their_event_completes(self) -> None:
        decoder = TokenDecoder()
        first, second = sse_event(chat_chunk("a")), sse_event(chat_chunk("b"))

        assert decoder.feed(first[:-1]) == []
        assert decoder.feed(first[-1:] + second) == ["a", "b"]

    def test_keep_alive_comments_yield_nothing_and_are_not_events(self) -> None:
        decoder = TokenDecoder()

        assert decoder.feed(b": ping\n\n: ping\n\n") == []
        assert decoder.events == 0

    def test_events_are_counted(self) -> None:
        decoder = TokenDecoder()
        decoder.feed(b"".join(chat_stream(["a", "b"], done=False)))

        assert decoder.events == 4  # role, two tokens, finish

    def test_crlf_framing_is_accepted(self) -> None:
        body = b"".join(chat_stream(["x", "y"])).replace(b"\n", b"\r\n")

        assert decode(body) == ["x", "y"]

    def test_notice_pattern_is_passed_on(self) -> None:
        with pytest.raises(ProviderError):
            decode(*chat_stream(["quota!"]), notice_pattern=re.compile("quota"))

    def test_notice_check_can_be_disabled(self) -> None:
        assert decode(*chat_stream(["see ai.ls"]), notice_pattern=None) == ["see ai.ls"]

    def test_max_event_size_is_passed_on(self) -> None:
        with pytest.raises(ProtocolError, match="exceeded 64 bytes"):
            decode(sse_event(chat_chunk("x" * 100)), max_event_size=64)


class TestDone:
    def test_done_completes_the_stream(self) -> None:
        decoder = TokenDecoder()
        decoder.feed(DONE)

        assert decoder.complete
        assert decoder.finish_reason is None

    def test_events_after_done_in_the_same_chunk_are_ignored(self) -> None:
        body = DONE + sse_event(chat_chunk("late")) + b"data: not json\n\n"

        assert decode(body) == []

    def test_bytes_after_done_in_later_chunks_are_ignored(self) -> None:
        decoder = TokenDecoder()
        decoder.feed(DONE)

        assert decoder.feed(sse_event(chat_chunk("late"))) == []
        assert decoder.feed(b"data: not json\n\n") == []
        assert decoder.feed(b"\xff\xfe garbage without line end") == []

    def test_chunks_after_done_are_not_parsed_or_counted(self) -> None:
        # Events are counted per chunk parsed (they only feed the idle timer);
        # once the answer is complete, later chunks are not even parsed.
        decoder = TokenDecoder()
        decoder.feed(DONE)
        decoder.feed(sse_event(chat_chunk("later")))

        assert decoder.events == 1

    def test_garbage_after_done_gives_the_same_result_however_it_is_split(self) -> None:
        body = b"".join(chat_stream(["a"])) + b"data: not json\n\n"

        for cut in range(len(body) + 1):
            assert decode(body[:cut], body[cut:]) == ["a"], f"split at {cut}"


class TestClose:
    def test_stream_ending_without_done_or_finish_reason_is_incomplete(self) -> None:
        decoder = TokenDecoder()
        tokens = decoder.feed(b"".join(chat_stream(["Hel", "lo"], finish=False, done=False)))

        with pytest.raises(IncompleteStreamError, match=r"before \[DONE\]") as info:
            decoder.close("".join(tokens))

        assert info.value.partial_text == "Hello"
        assert "5 characters" in str(info.value)

    def test_empty_body_is_incomplete(self) -> None:
        with pytest.raises(IncompleteStreamError) as info:
            TokenDecoder().close()

        assert info.value.partial_text == ""

    def test_done_cut_before_its_blank_line_is_incomplete(self) -> None:
        decoder = TokenDecoder()
        decoder.feed(b"data: [DONE]\n")

        with pytest.raises(IncompleteStreamError):
            decoder.close()

    def test_finish_reason_without_done_is_complete(self) -> None:
        decoder = TokenDecoder()
        decoder.feed(b"".join(chat_stream(["a"], done=False)))

        decoder.close("a")

        assert decoder.complete
        assert decoder.finish_reason == "stop"

    def test_done_without_finish_reason_is_complete(self) -> None:
        assert decode(*chat_stream(["a"], finish=False)) == ["a"]

    def test_incomplete_stream_error_is_a_protocol_error(self) -> None:
        with pytest.raises(ProtocolError):
            TokenDecoder().close()


class TestErrors:
    def test_error_event_raises_provider_error(self) -> None:
        body = sse_event({"error": {"code": "AI.LS: NEED REFRESH", "message": "refresh"}})

        with pytest.raises(ProviderError, match="client-v") as info:
            decode(body)

        assert info.value.code == "AI.LS: NEED REFRESH"

    def test_html_instead_of_a_stream_raises_protocol_error(self) -> None:
        with pytest.raises(ProtocolError, match="not JSON"):
            decode(b"data: <html>\n\n")

    def test_notice_in_the_first_token_raises_before_any_token(self) -> None:
        decoder = TokenDecoder()

        with pytest.raises(ProviderError, match="notice"):
            decoder.feed(b"".join(chat_stream(["Limit reached: ai.ls/plus", "more"])))


class TestChunking:
    @pytest.mark.parametrize(
        "tokens",
        [["Hi"], ["При", "вет", " 😀"], ["a\nb", "", "c\r\nd", " "]],
        ids=["ascii", "multi-byte", "newlines-and-empty"],
    )
    def test_every_two_chunk_split_yields_the_same_tokens(self, tokens: list[str]) -> None:
        body = b"".join(chat_stream(tokens))
        expected = [token for token in tokens if token]

        for cut in range(len(body) + 1):
            assert decode(body[:cut], body[cut:]) == expected, f"split at {cut}"

    def test_byte_by_byte_yields_the_same_tokens(self) -> None:
        body = b"".join(chat_stream(["При", "вет", " 😀"]))

        assert decode(*(body[i : i + 1] for i in range(len(body)))) == ["При", "вет", " 😀"]

    @given(st.data())
    def test_any_chunking_of_a_chat_stream_yields_the_same_tokens(
        self, data: st.DataObject
    ) -> None:
        tokens = data.draw(st.lists(st.text(max_size=8), max_size=8))
        finish, done = data.draw(st.sampled_from([(True, True), (True, False), (False, True)]))
        body = b"".join(chat_stream(tokens, finish=finish, done=done))
        cuts = data.draw(st.lists(st.integers(0, len(body)), max_size=12))

        result = decode(*split_at(body, cuts), notice_pattern=None)

        assert result == [token for token in tokens if token]
