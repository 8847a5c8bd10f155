"""A time-boxed mutation fuzzer for the event-stream parser and the token decoder.

Run it with ``make fuzz`` (``FUZZ_SECONDS=600 make fuzz`` for longer), or
``python tests/fuzz/fuzz_parser.py --seconds 60 --seed 1``. It starts from the
bodies of every shipped fixture plus a few hand-made seeds, mutates them
(byte flips, inserted framing bytes, cut, doubled and spliced ranges), and
checks on every input:

- ``SSEParser`` and ``TokenDecoder`` raise nothing but ``AilsError``;
- the events, tokens and error class do not depend on how the bytes are
  chunked (one chunk, random cuts, or byte by byte);
- with a small ``max_event_size``, no buffer grows beyond it (plus the
  one line being read), and the only new failure is the size ProtocolError.

It prints how many inputs it tried, and exits non-zero on the first failure,
saving the input to ``fuzz-crash-<n>.bin`` for a regression test.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import random
import sys
import time
from pathlib import Path

from ails.domain.decoder import TokenDecoder
from ails.domain.errors import AilsError
from ails.domain.sse import SSEParser
from ails.testing.fixtures import builtin_fixtures

#: Bytes that matter to the grammar: line ends, field syntax, JSON and UTF-8 edges.
INTERESTING = [
    b"\n",
    b"\r",
    b"\r\n",
    b"\n\n",
    b":",
    b": ",
    b"data:",
    b"data: ",
    b"event: error\n",
    b"id: 1\n",
    b"retry: 5\n",
    b"[DONE]",
    b"{",
    b"}",
    b'"',
    b"\\",
    b"\x00",
    b"\xff",
    b"\xef\xbb\xbf",
    b"\xd0",
    b"\xf0\x9f\x98",
    b'{"choices":[{"delta":{"content":"x"}}]}',
    b'{"error":{"code":"AI.LS: NEED REFRESH"}}',
    b'"finish_reason":"stop"',
    b"ai.ls",
]

SEEDS = [
    b"",
    b"data: [DONE]\n\n",
    b'data: {"choices":[{"delta":{"content":"Hi"},"finish_reason":null}]}\n\ndata: [DONE]\n\n',
    b"\xef\xbb\xbfdata: x\r\ndata: y\r\n\r\n: c\rid: 9\n\n",
    b'event: error\ndata: {"error":{"code":"rate"}}\n\n',
    b'data: {"choices":[{"delta":{"content":"ai.ls limit"}}]}\n\n',
]


def corpus() -> list[bytes]:
    """Every shipped fixture's reply bodies, plus the seeds."""
    bodies = list(SEEDS)
    for fixture in builtin_fixtures().values():
        for reply in fixture.replies:
            body = b"".join(step.data for step in reply.body)
            if body:
                bodies.append(body)
    return bodies


def mutate(rng: random.Random, data: bytes, pool: list[bytes]) -> bytes:
    """One to four random edits of ``data``."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(6)
        at = rng.randint(0, len(out))
        if kind == 0 and out:  # flip a byte
            i = rng.randrange(len(out))
            out[i] = rng.randrange(256)
        elif kind == 1:  # insert grammar
            out[at:at] = rng.choice(INTERESTING)
        elif kind == 2 and out:  # cut a range
            out[at : at + rng.randint(1, 64)] = b""
        elif kind == 3 and out:  # double a range
            end = min(len(out), at + rng.randint(1, 256))
            out[at:at] = out[at:end]
        elif kind == 4:  # splice in part of another body
            other = rng.choice(pool)
            start = rng.randint(0, len(other))
            out[at:at] = other[start : start + rng.randint(1, 512)]
        else:  # random bytes
            out[at:at] = rng.randbytes(rng.randint(1, 16))
    return bytes(out)


def cuts(rng: random.Random, data: bytes) -> list[bytes]:
    """``data`` in random pieces."""
    points = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 12))))
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


def parse_events(pieces: list[bytes], max_size: int) -> tuple[list[tuple[str, str, str]], str]:
    """(events, error class name or "") of ``pieces`` through one SSEParser."""
    parser = SSEParser(max_event_size=max_size)
    events: list[tuple[str, str, str]] = []
    try:
        for piece in pieces:
            events += [(e.event, e.data, e.id) for e in parser.feed(piece)]
            # A parser holds at most one event: its data plus one unterminated line.
            held = parser._size + len(parser._tail)  # the bound checked
            assert held <= max_size + len(piece), f"the parser holds {held} bytes"
        parser.close()
    except AilsError as error:
        return events, type(error).__name__
    return events, ""


def decode(pieces: list[bytes], max_size: int) -> tuple[list[str], str]:
    """(tokens, error class name or "") as the client reads them: stop once complete."""
    decoder = TokenDecoder(max_event_size=max_size)
    tokens: list[str] = []
    try:
        for piece in pieces:
            tokens += decoder.feed(piece)
            if decoder.complete:
                break
        decoder.close("".join(tokens))
    except AilsError as error:
        return tokens, type(error).__name__
    return tokens, ""


def same(what: str, split: object, whole: object) -> None:
    assert split == whole, f"{what} depend on chunking: {split!r:.300} != {whole!r:.300}"


def check(rng: random.Random, data: bytes) -> None:
    """Every invariant, on one input."""
    whole = [data] if data else []
    pieces = cuts(rng, data) if len(data) > 1 else whole
    big = max(len(data) + 1, 64)  # a bound the input cannot reach
    same("SSE events", parse_events(pieces, big), parse_events(whole, big))
    same("tokens", decode(pieces, big), decode(whole, big))
    if len(data) <= 512:
        single = [data[i : i + 1] for i in range(len(data))]
        same("tokens (byte by byte)", decode(single, big), decode(whole, big))
    small = rng.choice([8, 32, 100])
    for outcome in (parse_events(pieces, small), decode(pieces, small)):
        assert outcome[1] in ("", "ProtocolError", "ProviderError", "IncompleteStreamError")


def main(argv: list[str] | None = None) -> int:
    """Fuzz for ``--seconds`` (or ``--inputs``); print the count; 1 on a failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--inputs", type=int, default=0, help="stop after this many instead")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    pool = corpus()
    started = time.monotonic()
    tried = 0
    while True:
        if args.inputs and tried >= args.inputs:
            break
        if not args.inputs and time.monotonic() - started >= args.seconds:
            break
        data = mutate(rng, rng.choice(pool), pool)
        tried += 1
        try:
            check(rng, data)
        except Exception as exc:  # any failure, an escaped exception included
            path = Path(f"fuzz-crash-{tried}.bin")
            path.write_bytes(data)
            print(f"fuzz: FAILED on input {tried} (seed {args.seed}), saved to {path}: {exc!r}")
            print("input (base64):", base64.b64encode(data).decode()[:2000])
            return 1
        if len(data) < 4096 and rng.random() < 0.05:
            pool.append(data)  # keep some mutants: deeper edits over time
    elapsed = time.monotonic() - started
    print(
        json.dumps({"fuzz_inputs": tried, "seconds": round(elapsed, 1), "seed": args.seed}),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
