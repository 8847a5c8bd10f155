"""``BodyReader`` on its own: framing and decoding undone at every split, no socket.

The reader takes over the socket file once ``http.client`` has parsed the
head. Here a scripted file hands it the wire bytes in the pieces a test
chooses (each ``read1`` returns at most one piece, an empty read is the end
of the connection), so every split offset of each body is tried: the bytes
out must not depend on where the network cut them, and a body cut short must
fail the same way wherever the cut falls.
"""

from __future__ import annotations

import gzip
import itertools
import zlib
from collections.abc import Iterable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ails.errors import ProtocolError, TransportError, TruncatedBodyError
from ails.transports._body import READ_SIZE, BodyReader, decoder_for

PAYLOAD = (
    b'data: {"choices":[{"delta":{"content":"\xd0\x9f\xd1\x80\xd0\xb8"}}]}\n\n'
    b'data: {"choices":[{"delta":{"content":" world"}}]}\n\n'
    b"data: [DONE]\n\n"
)


class ScriptedFile:
    """A socket file that hands out ``pieces`` one ``read1`` at a time, then EOF."""

    def __init__(self, pieces: Iterable[bytes]) -> None:
        self.pieces = [p for p in pieces if p]
        self.reads = 0

    def read1(self, size: int = -1, /) -> bytes:
        self.reads += 1
        if not self.pieces:
            return b""
        piece = self.pieces[0]
        if 0 <= size < len(piece):
            self.pieces[0] = piece[size:]
            return piece[:size]
        self.pieces.pop(0)
        return piece

    @property
    def left(self) -> bytes:
        return b"".join(self.pieces)


class QuietSocket:
    """What the reader asks of the socket: its timeout, nothing else."""

    def __init__(self) -> None:
        self.timeout: float | None = 5.0

    def settimeout(self, value: float | None) -> None:
        self.timeout = value

    def gettimeout(self) -> float | None:
        return self.timeout


def reader(
    pieces: Iterable[bytes],
    *,
    chunked: bool = False,
    length: int | None = None,
    encoding: str = "",
) -> tuple[BodyReader, ScriptedFile]:
    fp = ScriptedFile(pieces)
    body = BodyReader(
        fp,
        QuietSocket(),
        chunked=chunked,
        length=length,
        decoder=decoder_for(encoding) if encoding else None,
        where="http://127.0.0.1:1/v1/chat/completions",
        read_timeout=5.0,
        deadline=None,
    )
    return body, fp


def chunked(data: bytes, sizes: Iterable[int], *, trailer: bytes = b"") -> bytes:
    """``data`` in chunks of ``sizes`` (the rest in the last), with a chunk extension."""
    out, pos = [], 0
    for size in [*sizes, len(data)]:
        piece = data[pos : pos + size]
        pos += len(piece)
        if piece:
            out.append(b"%x;note=1\r\n%s\r\n" % (len(piece), piece))
        if pos >= len(data):
            break
    return b"".join(out) + b"0\r\n" + trailer + b"\r\n"


def two_ways(wire: bytes) -> list[list[bytes]]:
    """``wire`` split once at every offset, and one byte at a time."""
    splits = [[wire[:i], wire[i:]] for i in range(len(wire) + 1)]
    splits.append([wire[i : i + 1] for i in range(len(wire))])
    return splits


def drained(body: BodyReader) -> bytes:
    return b"".join(body)


# Each body as it goes over the wire, with how the reader is told to frame it.
CHUNKED = chunked(PAYLOAD, [5, 1, 40])
GZIPPED = gzip.compress(PAYLOAD)
CASES = {
    "chunked": (CHUNKED, {"chunked": True}),
    "chunked-with-trailers": (
        chunked(PAYLOAD, [30], trailer=b"x-checksum: 1\r\nx-more: 2\r\n"),
        {"chunked": True},
    ),
    "content-length": (PAYLOAD, {"length": len(PAYLOAD)}),
    "close-delimited": (PAYLOAD, {}),
    "gzip-chunked": (chunked(GZIPPED, [7, 3]), {"chunked": True, "encoding": "gzip"}),
    "gzip-length": (GZIPPED, {"length": len(GZIPPED), "encoding": "gzip"}),
    "two-gzip-members": (
        gzip.compress(PAYLOAD[:40]) + gzip.compress(PAYLOAD[40:]),
        {"encoding": "gzip"},
    ),
    "deflate-zlib": (zlib.compress(PAYLOAD), {"encoding": "deflate"}),
    "deflate-raw": (
        (lambda c: c.compress(PAYLOAD) + c.flush())(zlib.compressobj(wbits=-zlib.MAX_WBITS)),
        {"chunked": True, "encoding": "deflate"},
    ),
}
# The raw deflate case goes chunked: frame it too.
CASES["deflate-raw"] = (chunked(CASES["deflate-raw"][0], [2]), CASES["deflate-raw"][1])


class TestEverySplit:
    @pytest.mark.parametrize("name", sorted(CASES))
    def test_the_bytes_out_do_not_depend_on_the_split(self, name: str) -> None:
        wire, framing = CASES[name]
        for pieces in two_ways(wire):
            body, _ = reader(pieces, **framing)  # type: ignore[arg-type]
            assert drained(body) == PAYLOAD, (name, [len(p) for p in pieces])
            assert body.complete
            assert body.clean

    @pytest.mark.parametrize("name", ["chunked", "content-length", "gzip-chunked"])
    def test_the_reader_stops_at_the_end_of_the_body_not_at_eof(self, name: str) -> None:
        wire, framing = CASES[name]
        follow = b"HTTP/1.1 200 OK\r\n"  # the next response on a kept-alive connection
        body, fp = reader([wire, follow], **framing)  # type: ignore[arg-type]
        assert drained(body) == PAYLOAD
        assert fp.left == follow

    @given(st.lists(st.integers(min_value=1, max_value=len(CHUNKED)), max_size=12))
    def test_chunked_at_any_number_of_cuts(self, cuts: list[int]) -> None:
        edges = sorted({0, len(CHUNKED), *cuts})
        pieces = [CHUNKED[a:b] for a, b in itertools.pairwise(edges)]
        body, _ = reader(pieces, chunked=True)
        assert drained(body) == PAYLOAD

    def test_many_small_chunks_that_arrived_together_cost_one_read(self) -> None:
        wire = chunked(PAYLOAD, [1] * len(PAYLOAD))
        body, fp = reader([wire], chunked=True)
        assert next(body) == PAYLOAD
        assert fp.reads == 1

    def test_a_huge_chunk_is_handed_on_as_it_arrives(self) -> None:
        announced = 1 << 20
        head = b"%x\r\n" % announced
        body, _ = reader([head + b"a" * 1000, b"b" * 1000], chunked=True)
        assert next(body) == b"a" * 1000
        assert next(body) == b"b" * 1000
        assert not body.complete

    def test_a_gzip_bomb_comes_out_in_bounded_pieces(self) -> None:
        bomb = gzip.compress(b"x" * (8 * READ_SIZE))
        body, _ = reader([bomb], length=len(bomb), encoding="gzip")
        pieces = list(body)
        assert len(pieces) >= 8
        assert max(len(p) for p in pieces) <= READ_SIZE
        assert b"".join(pieces) == b"x" * (8 * READ_SIZE)


class TestCutFraming:
    @pytest.mark.parametrize("name", ["chunked", "chunked-with-trailers", "gzip-chunked"])
    def test_a_chunked_body_cut_anywhere_is_truncated(self, name: str) -> None:
        wire, framing = CASES[name]
        for cut in range(len(wire)):
            body, _ = reader([wire[:cut]], **framing)  # type: ignore[arg-type]
            with pytest.raises(TruncatedBodyError, match="before the last chunk"):
                drained(body)

    def test_a_content_length_body_cut_anywhere_is_truncated(self) -> None:
        for cut in range(len(PAYLOAD)):
            body, _ = reader([PAYLOAD[:cut]], length=len(PAYLOAD))
            with pytest.raises(TruncatedBodyError, match=f"{len(PAYLOAD) - cut} bytes before"):
                drained(body)

    def test_a_compressed_body_that_stops_inside_its_data_is_a_protocol_error(self) -> None:
        # The framing is whole; the gzip member inside it is not.
        for cut in range(1, len(GZIPPED) - 8):
            wire = chunked(GZIPPED[:cut], [4])
            body, _ = reader([wire], chunked=True, encoding="gzip")
            with pytest.raises(ProtocolError, match="middle of its compressed data"):
                drained(body)

    def test_bytes_that_are_not_gzip_are_a_protocol_error(self) -> None:
        body, _ = reader([b"not gzip at all"], encoding="gzip")
        with pytest.raises(ProtocolError, match="could not be decoded"):
            drained(body)

    @pytest.mark.parametrize(
        ("wire", "says"),
        [
            (b"zz\r\nabc\r\n0\r\n\r\n", "bad chunk size"),
            (b"\r\nabc\r\n0\r\n\r\n", "bad chunk size"),
            (b"3\r\nabcdef\r\n0\r\n\r\n", "longer than its announced size"),
            (b"1" * 5000, "longer than 4096 bytes"),
        ],
    )
    def test_broken_framing_is_a_protocol_error_at_any_split(self, wire: bytes, says: str) -> None:
        for pieces in two_ways(wire)[:: max(1, len(wire) // 40)]:
            body, _ = reader(pieces, chunked=True)
            with pytest.raises(ProtocolError, match=says):
                drained(body)

    def test_bytes_after_the_last_chunk_mark_the_connection_unusable(self) -> None:
        body, _ = reader([CHUNKED + b"junk"], chunked=True)
        assert drained(body) == PAYLOAD
        assert body.complete
        assert not body.clean

    def test_a_reset_is_a_transport_error(self) -> None:
        class Resetting(ScriptedFile):
            def read1(self, size: int = -1, /) -> bytes:
                raise ConnectionResetError(104, "Connection reset by peer")

        body = BodyReader(
            Resetting([]),
            QuietSocket(),
            chunked=True,
            length=None,
            decoder=None,
            where="http://127.0.0.1:1",
            read_timeout=5.0,
            deadline=None,
        )
        with pytest.raises(TransportError, match="reset") as caught:
            drained(body)
        assert not isinstance(caught.value, TruncatedBodyError)


class TestDrain:
    @pytest.mark.parametrize("cut", [1, 10, len(CHUNKED) - 3])
    def test_the_rest_of_a_chunked_body_is_read_and_the_connection_kept(self, cut: int) -> None:
        body, fp = reader([CHUNKED[:cut], CHUNKED[cut:]], chunked=True)
        next(body)
        assert body.drain(max_bytes=1 << 16, seconds=1.0)
        assert fp.left == b""

    def test_a_body_longer_than_the_bound_is_not_kept(self) -> None:
        big = chunked(b"x" * 5000, [100] * 50)
        body, _ = reader([big[:300], big[300:]], chunked=True)
        assert next(body)  # the first chunks; the rest, 4 KB and more, arrives whole
        assert not body.drain(max_bytes=1000, seconds=1.0)

    def test_a_body_cut_while_draining_is_not_kept(self) -> None:
        body, _ = reader([CHUNKED[:20]], chunked=True)
        assert next(body)
        assert not body.drain(max_bytes=1 << 16, seconds=1.0)
