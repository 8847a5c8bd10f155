"""``make bench``: ails against a raw-socket floor and the naive loop, in one run.

The gateway section (``benchmarks/gateway.py``) measures ``ails gateway``
against a direct ``AsyncClient`` in the same run.

    python -m benchmarks.run [--quick] [--only latency,ttft,...] [--output PATH]

The report goes to ``benchmarks/latest.md``, which git ignores: running the
benchmarks changes no tracked file. ``make bench-save`` (``--output
benchmarks/results.md``) writes the figures kept in the repository, when
they are meant to be committed.

The server runs in its own process (``benchmarks.server``, 127.0.0.1, port 0).
Clients are interleaved round by round (floor, naive, ails, ... then again),
so a noisy neighbour on a shared machine hits them all alike; every figure is
reported beside the floor's and the naive loop's from the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import hashlib
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import timeit
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks import clients
from benchmarks.server import expected_text

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = sys.executable


# -- plumbing --------------------------------------------------------------------------


class Server:
    def __init__(self, *tls: str) -> None:
        options = ["--certfile", tls[0], "--keyfile", tls[1]] if tls else []
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "benchmarks.server", "--max-seconds", "1200", *options],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()  # the server stops when its stdin closes
        self.proc.wait(timeout=30)


@dataclass
class Contender:
    name: str
    client: Any
    is_async: bool = False


class Harness:
    """Runs sync and async clients alike, in one event loop kept across calls."""

    def __init__(self, port: int, peers: bool) -> None:
        self.loop = asyncio.new_event_loop()
        self.port = port
        sync: list[Any] = [clients.Floor(port), clients.Naive(port), clients.Ails(port)]

        async def make_async() -> Any:
            return clients.AilsAsync(port)

        self.contenders = [Contender(c.name, c) for c in sync]
        self.contenders.append(
            Contender("ails-async", self.loop.run_until_complete(make_async()), True)
        )
        self.peers = (
            [Contender(p(port).name, p(port)) for p in clients.available_peers()] if peers else []
        )
        # The speed extra: measured in the throughput runs beside the pure path.
        self.accelerated: list[Contender] = []
        if clients.has_orjson():

            async def make_fast() -> Any:
                return clients.AilsAsync(port, fast_json=True)

            fast = clients.Ails(port, fast_json=True)
            self.accelerated = [
                Contender(fast.name, fast),
                Contender("ails-async+orjson", self.loop.run_until_complete(make_fast()), True),
            ]

    def tokens(self, who: Contender, path: str, on_token: Callable[[str], None]) -> None:
        if who.is_async:

            async def consume() -> None:
                async for token in who.client.astream(path):
                    on_token(token)

            self.loop.run_until_complete(consume())
        else:
            for token in who.client.stream(path):
                on_token(token)

    def first_token(self, who: Contender, path: str) -> float:
        """Seconds from the call to the first token; the rest is read untimed."""
        if who.is_async:

            async def consume() -> float:
                start = time.perf_counter()
                stream = who.client.astream(path)
                await stream.__anext__()
                elapsed = time.perf_counter() - start
                async for _ in stream:
                    pass
                return elapsed

            return self.loop.run_until_complete(consume())
        start = time.perf_counter()
        stream = who.client.stream(path)
        next(stream)
        elapsed = time.perf_counter() - start
        for _ in stream:
            pass
        return elapsed

    def close(self) -> None:
        for who in self.contenders + self.peers + self.accelerated:
            if who.is_async:
                self.loop.run_until_complete(who.client.aclose())
            else:
                who.client.close()
        self.loop.close()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def med(values: list[float]) -> float:
    return statistics.median(values)


@dataclass
class Report:
    sections: list[str] = field(default_factory=list)
    targets: list[tuple[str, str, str, str]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def table(self, title: str, intro: str, head: list[str], rows: list[list[str]]) -> None:
        lines = [f"## {title}", "", intro, "", "| " + " | ".join(head) + " |"]
        lines.append("|" + "|".join("---" for _ in head) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        self.sections.append("\n".join(lines))
        print("\n" + self.sections[-1], flush=True)

    def target(self, what: str, goal: str, got: str, met: bool) -> None:
        self.targets.append((what, goal, got, "met" if met else "**missed**"))


# -- scenarios -------------------------------------------------------------------------


def latency(h: Harness, report: Report, quick: bool) -> None:
    events = 50 if quick else 200
    rows = []
    for interval_ms, rounds in ((5, 1 if quick else 3), (30, 1)):
        for framing in ("chunked", "close"):
            path = clients.path(events, interval_us=interval_ms * 1000, framing=framing)
            everyone = h.contenders + h.peers
            lat: dict[str, list[float]] = {w.name: [] for w in everyone}
            p99s: dict[str, list[float]] = {w.name: [] for w in everyone}
            for _ in range(rounds):
                for who in everyone:
                    run: list[float] = []

                    def on_token(token: str, run: list[float] = run) -> None:
                        run.append((time.monotonic_ns() - int(token)) / 1e6)

                    h.tokens(who, path, on_token)
                    assert len(run) == events, (who.name, len(run))
                    lat[who.name] += run
                    p99s[who.name].append(pct(run, 0.99))
            floor99 = pct(lat["floor"], 0.99)
            for who in everyone:
                values = lat[who.name]
                p99 = pct(values, 0.99)
                rows.append(
                    [
                        f"{interval_ms} ms",
                        framing,
                        who.name,
                        f"{pct(values, 0.5):.2f}",
                        f"{p99:.2f} ({min(p99s[who.name]):.2f}-{max(p99s[who.name]):.2f})",
                        f"{max(values):.2f}",
                        f"{p99 - floor99:+.2f}",
                    ]
                )
                if who.name in ("ails", "ails-async"):
                    report.target(
                        f"latency p99, {who.name}, {framing}, {interval_ms} ms",
                        "≤ floor + 0.5 ms",
                        f"{p99 - floor99:+.2f} ms",
                        p99 - floor99 <= 0.5,
                    )
    report.table(
        "1. Delivery latency",
        f"{events} events, one every 5 ms ({1 if quick else 3} rounds) and every 30 ms "
        "(1 round); each event carries the server's `time.monotonic_ns()` when written. "
        "Milliseconds from that to the token reaching the caller. p99 shows the range "
        "over rounds; the last column is p99 minus the floor's p99.",
        ["pace", "framing", "client", "p50 ms", "p99 ms (rounds)", "max ms", "p99 - floor"],
        rows,
    )


def ttft(h: Harness, report: Report, quick: bool) -> None:
    reps = 40 if quick else 300
    path = clients.path(3)
    everyone = h.contenders + h.peers
    for who in everyone:  # warm every pool
        h.first_token(who, path)
    times: dict[str, list[float]] = {w.name: [] for w in everyone}
    for _ in range(reps):
        for who in everyone:
            times[who.name].append(h.first_token(who, path) * 1e3)
    floor = med(times["floor"])
    naive = med(times["naive"])
    rows = []
    for who in everyone:
        values = times[who.name]
        rows.append(
            [
                who.name,
                f"{med(values):.3f}",
                f"{pct(values, 0.1):.3f}-{pct(values, 0.9):.3f}",
                f"{med(values) - floor:+.3f}",
                f"{med(values) - naive:+.3f}",
            ]
        )
        if who.name in ("ails", "ails-async"):
            report.target(
                f"time to first token, {who.name}",
                "≤ floor + 0.5 ms",
                f"{med(values) - floor:+.3f} ms",
                med(values) - floor <= 0.5,
            )
    report.table(
        "2. Time to first token (warm client)",
        f"{reps} requests per client, interleaved; each client reused across calls "
        "(the floor keeps its socket; the others their pools). Milliseconds from the "
        "call to the first token.",
        ["client", "median ms", "p10-p90 ms", "- floor ms", "- naive ms"],
        rows,
    )


def throughput(h: Harness, report: Report, quick: bool) -> None:
    rounds = 2 if quick else 3
    rows = []
    for size, events in (("small", 100_000), ("large", 20_000)):
        if quick:
            events //= 10
        for framing in ("chunked", "close"):
            rates: dict[str, list[float]] = {}
            cpus: dict[str, list[float]] = {}
            plan: list[tuple[Contender, int, int]] = [
                (w, events, rounds) for w in h.contenders + h.accelerated
            ]
            # The peers are slow (the openai SDK builds a pydantic model per
            # event): fewer events and one round keep the run short.
            plan += [(p, events // 10 if p.name == "openai" else events, 1) for p in h.peers]
            for r in range(rounds):
                for who, n, peer_rounds in plan:
                    if r >= peer_rounds:
                        continue
                    path = clients.path(n, framing=framing, size=size)
                    parts: list[str] = []
                    start, cpu = time.perf_counter(), time.process_time()
                    h.tokens(who, path, parts.append)
                    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
                    text = "".join(parts)
                    assert text == expected_text(n, size), f"{who.name} got a wrong answer"
                    rates.setdefault(who.name, []).append(n / wall)
                    cpus.setdefault(who.name, []).append(cpu * 100_000 / n)
            floor, naive = med(rates["floor"]), med(rates["naive"])
            floor_cpu = med(cpus["floor"])
            for name, values in rates.items():
                rate = med(values)
                rows.append(
                    [
                        size,
                        framing,
                        name,
                        f"{rate:,.0f} ({min(values):,.0f}-{max(values):,.0f})",
                        f"{med(cpus[name]):.2f}",
                        f"{rate / floor:.2f}x",
                        f"{rate / naive:.2f}x",
                        f"{med(cpus[name]) / floor_cpu:.2f}x",
                    ]
                )
                cpu_ratio = med(cpus[name]) / floor_cpu
                if name in ("ails", "ails-async") and (size, framing) == ("small", "chunked"):
                    # The targets of issue 11: the sync client past the naive loop
                    # and near the floor's CPU; the async one at the floor.
                    goal, met = (
                        ("≥ 1.1x naive, CPU ≤ 1.2x floor", rate >= 1.1 * naive and cpu_ratio <= 1.2)
                        if name == "ails"
                        else ("CPU ≤ 1.1x floor", cpu_ratio <= 1.1)
                    )
                    report.target(
                        f"throughput, {name}, {size}, {framing}",
                        goal,
                        f"{rate / naive:.2f}x naive, CPU {cpu_ratio:.2f}x floor",
                        met,
                    )
                elif name in ("ails", "ails-async"):
                    report.target(
                        f"throughput, {name}, {size}, {framing}",
                        "≥ 1.0x naive (aim ≥ 0.8x floor)",
                        f"{rate / naive:.2f}x naive, {rate / floor:.2f}x floor",
                        rate >= naive,
                    )
    report.table(
        "3. Throughput",
        f"Small events (~225 bytes, 100,000{' / 10' if quick else ''}) and ~1 KB events "
        f"(20,000{' / 10' if quick else ''}), {rounds} rounds interleaved; each client's "
        "text is checked against the expected answer. Tokens per second, median "
        "(min-max); CPU seconds of the client process per 100k tokens; ratios of "
        "medians. The openai SDK runs 1/10 of the events, peers one round. `ails` and "
        "`ails-async` decode with the standard library; `+orjson` rows use the `speed` "
        "extra.",
        [
            "events",
            "framing",
            "client",
            "tokens/s",
            "CPU s/100k",
            "x floor",
            "x naive",
            "CPU x floor",
        ],
        rows,
    )


def child(mode: str, port: int, **options: Any) -> dict[str, Any]:
    argv = [PYTHON, "-m", "benchmarks.child", mode, "--port", str(port)]
    for key, value in options.items():
        argv += [f"--{key}", str(value)]
    out = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=300, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def memory(port: int, report: Report, quick: bool) -> None:
    events = 100_000 if quick else 1_000_000
    rows = []
    for framing in ("chunked", "close"):
        for name in ("floor", "naive", "ails", "ails-async"):
            r = child("memory", port, client=name, framing=framing, events=events)
            growth = r["peak_growth"] / 2**20
            answer = r["answer_bytes"] / 2**20
            rows.append(
                [
                    framing,
                    name,
                    "yes" if r["tokens_ok"] else "**no**",
                    f"{growth:.2f}",
                    f"{r['end_growth'] / 2**20:.2f}",
                    f"{answer:.2f}" if name.startswith("ails") else "—",
                    f"{r['seconds']:.1f}",
                ]
            )
            if name.startswith("ails"):
                report.target(
                    f"memory growth, {name}, {framing}",
                    f"< 2 MB over {events:,} events",
                    f"{growth:.2f} MB (answer kept for partial_text: {answer:.2f} MB)",
                    growth < 2,
                )
    report.table(
        "5. Memory",
        f"One stream of {events:,} small events in a fresh process (a 2,000-event warm-up "
        "first); peak RSS (VmHWM, reset before the stream) minus RSS before it, in MiB. "
        "ails keeps the answer it streamed, compactly, for "
        "`IncompleteStreamError.partial_text`; its size is shown beside.",
        [
            "framing",
            "client",
            "all tokens",
            "peak growth MiB",
            "growth at end MiB",
            "answer kept MiB",
            "s",
        ],
        rows,
    )


def concurrency(port: int, report: Report, quick: bool) -> None:
    streams = 200 if quick else 1000
    rows = []
    results: dict[str, list[dict[str, Any]]] = {}
    names = ("floor-async", "ails-async", "ails-async-unlimited")
    for _ in range(1 if quick else 2):
        for name in names:
            results.setdefault(name, []).append(
                child("concurrency", port, client=name, streams=streams, tokens=100)
            )
    floor = med([r["wall"] for r in results["floor-async"]])
    for name in names:
        runs = results[name]
        walls = [r["wall"] for r in runs]
        wall = med(walls)
        per_stream = med([r["peak_growth"] for r in runs]) / streams / 1024
        correct = min(r["correct"] for r in runs)
        rows.append(
            [
                name,
                f"{correct}/{streams}",
                f"{wall:.2f} ({min(walls):.2f}-{max(walls):.2f})",
                f"{med([r['cpu'] for r in runs]):.2f}",
                f"{wall / floor:.2f}x",
                f"{per_stream:.1f}",
            ]
        )
        if name.startswith("ails"):
            report.target(
                f"concurrency, {name}",
                f"{streams} streams, all texts correct",
                f"{correct}/{streams}, {wall / floor:.2f}x floor wall time",
                correct == streams,
            )
    report.table(
        "6. Concurrency",
        f"{streams} concurrent streams of 100 tokens on one client in a fresh process, "
        "interleaved runs. `ails-async` is `AsyncClient()` over the default "
        "`AiohttpTransport()` (aiohttp pools 100 connections: the rest wait for one); "
        "`ails-async-unlimited` passes a session with `TCPConnector(limit=0)`. The floor "
        "opens a raw asyncio connection per stream.",
        ["client", "texts correct", "wall s (min-max)", "CPU s", "x floor wall", "peak KiB/stream"],
        rows,
    )


def gateway(port: int, report: Report, quick: bool) -> None:
    from benchmarks.gateway import measure, measure_streams

    results = measure(port, quick=quick)
    ttft = results["ttft"]
    direct, through = med(ttft["direct"]), med(ttft["gateway"])
    rows = [
        [
            "time to first token",
            f"{direct:.3f} ms ({pct(ttft['direct'], 0.1):.3f}-{pct(ttft['direct'], 0.9):.3f})",
            f"{through:.3f} ms ({pct(ttft['gateway'], 0.1):.3f}-{pct(ttft['gateway'], 0.9):.3f})",
            f"{through - direct:+.3f} ms",
        ]
    ]
    # The targets of issue 18, as ratios and differences within this run.
    report.target(
        "gateway: added time to first token, p50",
        "≤ +0.8 ms",
        f"{through - direct:+.3f} ms",
        through - direct <= 0.8,
    )
    added99 = pct(ttft["gateway"], 0.99) - pct(ttft["direct"], 0.99)
    report.target(
        "gateway: added time to first token, p99",
        "≤ +1.5 ms",
        f"{added99:+.3f} ms",
        added99 <= 1.5,
    )
    for size in ("small", "large"):
        rates = results[f"rate-{size}"]
        d, g = med(rates["direct"]), med(rates["gateway"])
        rows.append(
            [
                f"tokens/s, {rates['events']:,} {size} events",
                f"{d:,.0f} ({min(rates['direct']):,.0f}-{max(rates['direct']):,.0f})",
                f"{g:,.0f} ({min(rates['gateway']):,.0f}-{max(rates['gateway']):,.0f})",
                f"{g / d:.2f}x",
            ]
        )
        if size == "small":
            report.target(
                "gateway: throughput on small events",
                "≥ 0.9x direct",
                f"{g / d:.2f}x direct",
                g / d >= 0.9,
            )
    for streams in (100,) if quick else (100, 500):
        many = measure_streams(port, streams)
        d50, g50 = pct(many["direct"], 0.5), pct(many["gateway"], 0.5)
        d99, g99 = pct(many["direct"], 0.99), pct(many["gateway"], 0.99)
        rows.append(
            [
                f"{streams} concurrent streams: p50 / p99 s, gateway peak RSS",
                f"{d50:.3f} / {d99:.3f}",
                f"{g50:.3f} / {g99:.3f}, {many['rss_kib'] / 1024:.1f} MiB",
                f"{g50 / d50:.2f}x / {g99 / d99:.2f}x",
            ]
        )
        if streams == 500:
            report.target(
                "gateway: 500 concurrent streams, p99",
                "≤ 1.1x direct",
                f"{g99 / d99:.2f}x direct",
                g99 / d99 <= 1.1,
            )
            mb = many["rss_kib"] * 1024 / 1e6
            report.target(
                "gateway: peak RSS at 500 concurrent streams",
                "≤ 80 MB",
                f"{mb:.1f} MB ({many['rss_kib'] / 1024:.1f} MiB)",
                mb <= 80,
            )
    report.table(
        "9. Gateway",
        "`ails gateway` in its own process in front of the benchmark server, against "
        "the same `AsyncClient` reading the server directly; the gateway is read by an "
        "`AsyncClient` with the `openai` profile. Interleaved, medians (p10-p90 or "
        "min-max); every text is checked.",
        ["measure", "direct", "through the gateway", "gateway - direct / ratio"],
        rows,
    )


IMPORTS = {
    "python -c pass": "pass",
    "import hashlib, datetime": "import hashlib, datetime",
    "import ails.domain.signing": "import ails.domain.signing",
    "import ails": "import ails",
}


def _byte_compile_ails() -> bool:
    """Write ails's ``.pyc`` files, as ``pip install`` does, so imports are timed from them.

    An editable checkout under ``PYTHONDONTWRITEBYTECODE`` (set on the machines
    these benchmarks run on) never gets them: every fresh interpreter would
    compile ``ails/__init__.py`` and ``signing.py`` from source (about 3 ms),
    while ``hashlib`` and ``datetime`` load compiled. ``__pycache__`` is ignored by git.
    """
    import compileall

    import ails

    return bool(compileall.compile_dir(os.path.dirname(ails.__file__), quiet=1))


def imports(report: Report, quick: bool) -> None:
    rounds = 8 if quick else 25
    compiled = _byte_compile_ails()
    times: dict[str, list[float]] = {k: [] for k in IMPORTS}
    for _ in range(rounds):
        for label, code in IMPORTS.items():
            start = time.perf_counter()
            subprocess.run([PYTHON, "-c", code], check=True, cwd=ROOT)
            times[label].append((time.perf_counter() - start) * 1e3)
    base = med(times["python -c pass"])
    rows = []
    for label, code in IMPORTS.items():
        probe = (
            "import sys\nbefore = set(sys.modules)\n"
            f"{code}\n"
            "new = sorted(set(sys.modules) - before)\n"
            "top = sorted({m.split('.')[0] for m in new} - set(sys.stdlib_module_names))\n"
            "print(len(new), ' '.join(top))"
        )
        out = subprocess.run(
            [PYTHON, "-c", probe], check=True, capture_output=True, text=True, cwd=ROOT
        ).stdout.split(maxsplit=1)
        count, top = int(out[0]), (out[1].strip() if len(out) > 1 else "")
        added = med(times[label]) - base
        http = [m for m in ("requests", "urllib3", "aiohttp", "structlog") if m in top.split()]
        rows.append(
            [
                f"`{label}`",
                f"{med(times[label]):.1f}",
                f"{added:+.1f}" if label != "python -c pass" else "—",
                str(count),
                top or "—",
            ]
        )
        if label == "import ails.domain.signing":
            over = med(times[label]) - med(times["import hashlib, datetime"])
            report.target(
                "`import ails.domain.signing` cost",
                "< 2 ms over `import hashlib, datetime`, no HTTP library",
                f"{over:+.1f} ms over it ({added:+.1f} ms over `pass`), "
                f"HTTP libraries: {', '.join(http) or 'none'}",
                over < 2 and not http,
            )
        if label == "import ails":
            report.target(
                "`import ails` imports",
                "neither requests nor aiohttp",
                ", ".join(m for m in http if m != "structlog") or "neither",
                not [m for m in http if m != "structlog"],
            )
    report.table(
        "7. Import cost",
        f"Wall time of a fresh interpreter, median of {rounds} interleaved runs (ms), and "
        "what each statement loads: the number of modules and the third-party packages. "
        + (
            "ails loads from byte-compiled files, as installed by pip (compiled first)."
            if compiled
            else "ails could not be byte-compiled: its modules were compiled from source."
        ),
        ["statement", "ms", "added ms", "modules", "third-party packages"],
        rows,
    )


def signing(report: Report, quick: bool) -> None:
    from ails.domain.signing import DEFAULT_SECRET, Signer

    message = "Привет! Как дела?"
    signer = Signer()
    tz = datetime.timezone.utc
    text = f"1700000000001:{message}:{DEFAULT_SECRET}:{len(message)}"
    number = 2_000 if quick else 20_000

    def sign() -> None:
        signer.sign(message, now_ms=1700000000000, tz=tz)

    def bare() -> None:
        hashlib.sha256(text.encode()).hexdigest()

    results: dict[str, list[float]] = {"sign": [], "sha256": []}
    for _ in range(5):
        results["sign"].append(timeit.timeit(sign, number=number) / number * 1e6)
        results["sha256"].append(timeit.timeit(bare, number=number) / number * 1e6)
    s, b = med(results["sign"]), med(results["sha256"])
    report.table(
        "8. Signing",
        f"Microseconds per call, median of 5 interleaved runs of {number:,}.",
        ["call", "µs/call", "x sha256"],
        [
            ["`Signer().sign(m, now_ms=..., tz=utc)`", f"{s:.2f}", f"{s / b:.1f}x"],
            ["`hashlib.sha256(same string).hexdigest()`", f"{b:.2f}", "1.0x"],
        ],
    )


# -- the report ------------------------------------------------------------------------


def versions() -> str:
    names = ["ails", "requests", "urllib3", "aiohttp", "orjson", "openai", "httpx", "httpx-sse"]
    found = []
    for name in names:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:  # noqa: PERF203 -- eight names
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def machine() -> str:
    model = ""
    try:
        with open("/proc/cpuinfo") as info:
            model = next(
                (line.split(":", 1)[1].strip() for line in info if line.startswith("model name")),
                "",
            )
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({model or platform.machine()}), "
        f"{platform.python_implementation()} {platform.python_version()}, {platform.system()} "
        f"{platform.release()}"
    )


SCENARIOS = [
    "latency",
    "ttft",
    "throughput",
    "sequential",
    "memory",
    "concurrency",
    "imports",
    "signing",
    "gateway",
    "responses",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller counts, for a smoke run")
    parser.add_argument("--only", default=",".join(SCENARIOS))
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument(
        "--output",
        default=os.path.join(ROOT, "benchmarks", "latest.md"),
        help="where the report goes (default: benchmarks/latest.md, ignored by git)",
    )
    args = parser.parse_args()
    only = args.only.split(",")
    unknown = sorted(set(only) - set(SCENARIOS))
    if unknown:
        parser.error(
            f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}"
        )
    started = time.perf_counter()
    report = Report()
    server = Server()
    try:
        if {"latency", "ttft", "throughput"} & set(only):
            harness = Harness(server.port, peers=not args.no_peers)
            try:
                for name in ("latency", "ttft", "throughput"):
                    if name in only:
                        print(f"-- {name}", flush=True)
                        globals()[name](harness, report, args.quick)
            finally:
                harness.close()
        if "sequential" in only:
            print("-- sequential", flush=True)
            from benchmarks.sequential import sequential

            sequential(server.port, report, args.quick)
        if "memory" in only:
            print("-- memory", flush=True)
            memory(server.port, report, args.quick)
        if "concurrency" in only:
            print("-- concurrency", flush=True)
            concurrency(server.port, report, args.quick)
        if "imports" in only:
            print("-- imports", flush=True)
            imports(report, args.quick)
        if "signing" in only:
            print("-- signing", flush=True)
            signing(report, args.quick)
        if "gateway" in only:
            print("-- gateway", flush=True)
            gateway(server.port, report, args.quick)
        if "responses" in only:
            print("-- responses", flush=True)
            from benchmarks.responses import report as responses

            responses(server.port, report, args.quick)
    finally:
        server.stop()
    elapsed = time.perf_counter() - started
    command = os.environ.get("AILS_BENCH_COMMAND") or "python -m benchmarks.run " + " ".join(
        sys.argv[1:]
    )
    head = [
        "# ails benchmarks",
        "",
        f"- Command: `{command}` ({elapsed / 60:.1f} min)",
        f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine()}; shared, so every figure sits beside references "
        "measured in the same run, interleaved",
        f"- Libraries: {versions()}",
        "- Server: `benchmarks/server.py` in its own process on 127.0.0.1 (asyncio); "
        "floor: a raw socket that de-chunks, splits events and `json.loads` each; "
        "naive: `requests` `stream=True` + `iter_lines()` + substring check + `json.loads`",
        "",
        "## Targets",
        "",
        "| target | goal | this run | |",
        "|---|---|---|---|",
    ]
    head += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in report.targets]
    text = "\n".join(head) + "\n\n" + "\n\n".join(report.sections) + "\n"
    with open(args.output, "w") as out:
        out.write(text)
    print(f"\nwrote {args.output} in {elapsed:.0f} s")


if __name__ == "__main__":
    main()
