"""The chat page in headless Chromium: how fast a long chat opens and how a stream paints.

    python -m benchmarks.page [--messages 1000] [--runs 5]
    python -m benchmarks.page --screenshots docs/images     # make screenshots

A real ``ails gateway`` process (127.0.0.1, port 0) in front of the fake
server, its history seeded with a conversation of ``--messages`` messages
(half questions, half Markdown answers with code). Reported, per run:

- open: from a click on the conversation's link to the page's
  ``ails:rendered`` mark (fetch, JSON, Markdown, sanitizing, DOM), and the
  whole cold load (navigation start to the mark) of ``/#c=ID``;
- stream: a 600-token answer, how many times the answer's body was painted
  (at most once per animation frame, never per token) and whether anything
  outside the streaming answer changed meanwhile.

Needs Debian's chromium (``apt-get install chromium``) and Playwright (the
dev extra). Not part of ``make bench``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ails import ConversationStore
from ails.conversations import ConversationInfo
from ails.domain.history import Turn
from ails.testing import FakeServer
from ails.testing.fixtures import parse_fixture

CHROMIUM = os.environ.get("AILS_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

ANSWER = """Here is one way, with a **generator**:

```python
def numbers(limit):
    for n in range(limit):
        yield n * n
```

1. It computes each value when asked.
2. It keeps no list in memory.

See `itertools` for more."""


def chunk(content: str | None) -> str:
    delta = {} if content is None else {"content": content}
    import json

    body = {"id": "b", "object": "chat.completion.chunk", "created": 1, "model": "gpt-3.5-turbo"}
    body["choices"] = [{"index": 0, "delta": delta, "finish_reason": None}]
    return f"data: {json.dumps(body)}\n\n"


def long_answer(tokens: int) -> Any:
    steps = [{"delay": 0.0, "data": chunk(None)}]
    steps += [
        {"delay": 0.004, "data": chunk(f" w{i}" + ("\n\n" if i % 40 == 39 else ""))}
        for i in range(tokens)
    ]
    steps.append({"delay": 0.0, "data": "data: [DONE]\n\n"})
    raw = {
        "name": "long",
        "match": "(?i)long answer",
        "realtime": True,
        "replies": [{"body": steps}],
    }
    return parse_fixture(raw, "long")


def seed(home: Path, messages: int) -> str:
    with ConversationStore(home / "history.db") as store:
        turns: list[Turn] = []
        for n in range(messages // 2):
            turns.append(Turn.user(f"Question {n}: how do I square numbers lazily in Python?"))
            turns.append(Turn("assistant", ANSWER))
        info = ConversationInfo(
            id="long-chat", created=1.0, updated=time.time(), title="A long chat"
        )
        store.append(info, turns)
    return "long-chat"


def seed_showcase(home: Path) -> str:
    with ConversationStore(home / "history.db") as store:
        for n, title in enumerate(
            ["Trip to Tbilisi: what to pack", "Привет! Как дела?", "SQL window functions"]
        ):
            info = ConversationInfo(id=f"older-{n}", created=1.0, updated=1000.0 + n, title=title)
            store.append(info, [Turn.user(title), Turn("assistant", "…")])
        info = ConversationInfo(
            id="showcase", created=1.0, updated=time.time(), title="Squares, lazily"
        )
        store.append(
            info,
            [Turn.user("How do I square numbers lazily in Python?"), Turn("assistant", ANSWER)],
        )
    return "showcase"


@contextmanager
def gateway(base_url: str, home: Path) -> Iterator[str]:
    env = {**os.environ, "AILS_HOME": str(home), "AILS_GATEWAY_KEY": ""}
    command = [
        sys.executable,
        "-m",
        "ails",
        "gateway",
        "--port",
        "0",
        "--quiet",
        "--base-url",
        base_url,
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        yield first.rsplit(" ", 1)[1].strip().removesuffix("v1")
    finally:
        process.terminate()
        process.wait(timeout=20)


def measure_open(browser: Any, url: str, id: str, messages: int) -> tuple[float, float]:
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    page.goto(f"{url}#c={id}")
    page.wait_for_function("n => document.querySelectorAll('article').length >= n", arg=messages)
    cold = page.evaluate("performance.getEntriesByName('ails:rendered').pop().startTime")
    page.get_by_role("button", name="New chat").click()
    page.evaluate("performance.clearMarks('ails:rendered'); window.__t0 = performance.now()")
    page.get_by_role("navigation", name="Conversations").get_by_role(
        "link", name="A long chat"
    ).click()
    page.wait_for_function("n => document.querySelectorAll('article').length >= n", arg=messages)
    page.wait_for_function("performance.getEntriesByName('ails:rendered').length > 0")
    warm = page.evaluate(
        "performance.getEntriesByName('ails:rendered').pop().startTime - window.__t0"
    )
    context.close()
    return cold, warm


WATCH = """() => {
    const live = document.querySelector('article.streaming');
    const body = live.querySelector('.body');
    window.__paints = 0; window.__outside = 0;
    new MutationObserver((records) => {
        if (!live.isConnected) return;
        for (const r of records) {
            if (r.target === body && r.type === 'childList') window.__paints++;
            if (!live.contains(r.target)) window.__outside++;
        }
    }).observe(document.getElementById('messages'),
               {subtree: true, childList: true, characterData: true});
}"""


def measure_stream(browser: Any, url: str, tokens: int) -> tuple[int, int, float]:
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("html[data-ready]")
    box = page.get_by_role("textbox", name="Message")
    box.fill("a long answer please")
    started = time.monotonic()
    box.press("Enter")
    page.wait_for_selector("article.streaming")
    page.evaluate(WATCH)
    page.wait_for_selector("article.streaming", state="detached", timeout=120_000)
    elapsed = time.monotonic() - started
    paints, outside = page.evaluate("[window.__paints, window.__outside]")
    context.close()
    return paints, outside, elapsed


def screenshots(browser: Any, url: str, id: str, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, viewport, scheme in (
        ("page-desktop.png", {"width": 1200, "height": 720}, "light"),
        ("page-phone.png", {"width": 390, "height": 760}, "dark"),
    ):
        context = browser.new_context(viewport=viewport, color_scheme=scheme, device_scale_factor=1)
        page = context.new_page()
        page.goto(f"{url}#c={id}")
        page.wait_for_selector("pre code.hljs")
        page.screenshot(path=str(folder / name))
        print(f"wrote {folder / name}")
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=600)
    parser.add_argument("--screenshots", type=Path, help="write the docs' screenshots here instead")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with (
        tempfile.TemporaryDirectory() as folder,
        FakeServer(fixtures={"long": long_answer(args.tokens)}, delay_scale=0.0) as fake,
    ):
        home = Path(folder)
        id = seed_showcase(home) if args.screenshots else seed(home, args.messages)
        with gateway(fake.url, home) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            if args.screenshots:
                screenshots(browser, url, id, args.screenshots)
                return
            colds, warms = [], []
            for _ in range(args.runs):
                cold, warm = measure_open(browser, url, id, args.messages)
                colds.append(cold)
                warms.append(warm)
            print(f"open a conversation of {args.messages} messages ({args.runs} runs, median):")
            print(f"  click to rendered: {statistics.median(warms):.0f} ms (min {min(warms):.0f})")
            print(f"  cold load of /#c=ID to rendered: {statistics.median(colds):.0f} ms")
            paints, outside, elapsed = measure_stream(browser, url, args.tokens)
            print(
                f"stream {args.tokens} tokens in {elapsed:.1f} s: the answer painted "
                f"{paints} times; {outside} changes outside it"
            )
            browser.close()


if __name__ == "__main__":
    main()
