"""Logging: one event per completion, with numbers but no contents or secrets; silent by default."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap

import pytest
import structlog
from client_support import ROLE, STOP, Driver, RecordingLogger, mock, ok, status, timed, token
from structlog.testing import capture_logs

from ails import Client, Profile, Timeout
from ails.domain.signing import DEFAULT_SECRET
from ails.testing import MockResponse, chat_stream

FIELDS = {
    "event",
    "level",
    "model",
    "profile",
    "attempts",
    "status",
    "duration_ms",
    "ttft_ms",
    "tokens",
    "tool_calls",
    "finish_reason",
    "outcome",
}


class TestTheEvent:
    async def test_one_event_with_timings_and_counts(self, driver: Driver) -> None:
        response = MockResponse(
            chunks=timed(
                driver.clock,
                [(0.1, ROLE), (0.15, token("Hel")), (0.1, token("lo")), (0.15, STOP)],
            )
        )
        await driver.collect(mock(response), stream_kw={"model": "gpt-4o-mini"})
        event = driver.logger.only
        assert set(event) == FIELDS
        assert event == {
            "level": "info",
            "event": "ails.completion",
            "model": "gpt-4o-mini",
            "profile": "ails",
            "attempts": 1,
            "status": 200,
            "duration_ms": 500.0,
            "ttft_ms": 250.0,
            "tokens": 2,
            "tool_calls": 0,
            "finish_reason": "stop",
            "outcome": "complete",
        }

    async def test_never_one_event_per_token(self, driver: Driver) -> None:
        tokens = [f"t{i}" for i in range(50)]
        await driver.collect(mock(ok(*tokens)))
        assert driver.logger.only["tokens"] == 50

    async def test_complete_logs_once(self, driver: Driver) -> None:
        await driver.complete(mock())
        assert driver.logger.only["outcome"] == "complete"

    async def test_retries_are_counted_and_the_sleeps_are_in_the_duration(
        self, driver: Driver
    ) -> None:
        transport = mock(status(503, headers={"Retry-After": "2"}), status(429), ok())
        await driver.collect(transport)
        event = driver.logger.only
        assert event["attempts"] == 3
        assert event["status"] == 200
        # 2 s of Retry-After, then 1 s of backoff before the second retry.
        assert driver.sleeps == [2.0, 1.0]
        assert event["duration_ms"] == 3000.0
        assert event["ttft_ms"] == 3000.0

    async def test_a_failure_is_a_warning_naming_the_error_type(self, driver: Driver) -> None:
        transport = mock(*[status(429, b"too many")] * 3)
        await driver.fail(transport)
        event = driver.logger.only
        assert event["level"] == "warning"
        assert event["outcome"] == "error"
        assert event["error"] == "RateLimitError"
        assert event["attempts"] == 3
        assert event["status"] == 429
        assert event["tokens"] == 0
        assert event["ttft_ms"] is None
        assert "too many" not in repr(event)

    async def test_an_incomplete_stream_logs_the_tokens_that_arrived(self, driver: Driver) -> None:
        chunks = chat_stream(["a", "b"], finish=False, done=False)
        await driver.fail(mock(MockResponse(chunks=chunks)))
        event = driver.logger.only
        assert (event["outcome"], event["error"], event["tokens"]) == (
            "incomplete",
            "IncompleteStreamError",
            2,
        )

    async def test_a_timeout_is_logged_as_an_error(self, driver: Driver) -> None:
        response = MockResponse(
            chunks=timed(driver.clock, [(0, ROLE), (30, b": ping\n\n"), (0, STOP)])
        )
        await driver.fail(mock(response), timeout=Timeout(idle=10))
        assert driver.logger.only["error"] == "TimeoutError"

    @pytest.mark.parametrize("how", ["break", "close"])
    async def test_leaving_early_is_logged_as_closed(self, driver: Driver, how: str) -> None:
        await driver.take(mock(ok("a", "b", "c")), 1, how)  # type: ignore[arg-type]
        event = driver.logger.only
        assert event["level"] == "info"
        assert event["outcome"] == "closed"
        assert event["tokens"] == 1

    def test_a_keyboard_interrupt_in_the_sync_client_is_logged_as_closed(self) -> None:
        # As AsyncClient logs a cancelled task: the caller left early, not an error.
        logger = RecordingLogger()
        response = MockResponse(chunks=[ROLE, token("a"), KeyboardInterrupt()])
        with Client(transport=mock(response), logger=logger) as client:
            stream = client.stream([{"role": "user", "content": "hi"}])
            assert next(stream) == "a"
            with pytest.raises(KeyboardInterrupt):
                next(stream)

        event = logger.only
        assert event["outcome"] == "closed"
        assert event["level"] == "info"
        assert event["tokens"] == 1
        assert response.closed

    async def test_a_connect_failure_has_no_status(self, driver: Driver) -> None:
        from ails.errors import ConnectError

        await driver.fail(mock(ConnectError("refused")), max_retries=0)
        event = driver.logger.only
        assert event["status"] is None
        assert event["error"] == "ConnectError"


class TestNoSecrets:
    @pytest.mark.parametrize("profile", ["ails", "openai"])
    async def test_the_event_holds_no_content_signature_header_or_secret(
        self, driver: Driver, profile: str
    ) -> None:
        question = "my private question 4711"
        api_key = "sk-very-secret-key-0815"
        chosen = Profile.ails() if profile == "ails" else Profile.openai(api_key)
        transport = mock(status(503), ok("private", " answer"))
        await driver.collect(
            transport,
            [{"role": "user", "content": question}],
            profile=chosen,
            headers={"x-api-key": "hdr-secret-99"},
        )
        rendered = repr(driver.logger.events)
        request = transport.requests[-1]
        forbidden = [
            question,
            "private",
            "answer",
            api_key,
            "hdr-secret-99",
            "Bearer",
            DEFAULT_SECRET,
            request.url,
        ]
        if profile == "ails":
            body = json.loads(request.body)
            forbidden += [body["s"], body["t"], str(request.header("client-id"))]
        for secret in forbidden:
            assert secret not in rendered
        assert driver.logger.only["attempts"] == 2


class TestWhereEventsGo:
    async def test_a_logger_that_drops_info_gets_only_the_warnings(self, driver: Driver) -> None:
        class WarningsOnly(RecordingLogger):
            def isEnabledFor(self, level: int) -> bool:
                return level >= logging.WARNING

            def info(self, event: str, **kw: object) -> None:
                raise AssertionError("an INFO event was built for a logger that drops it")

        logger = WarningsOnly()
        await driver.collect(mock(ok("x")), logger=logger)
        await driver.fail(mock(status(404)), logger=logger)
        assert [(e["level"], e["error"]) for e in logger.events] == [("warning", "HTTPStatusError")]

    async def test_a_structlog_logger_over_a_print_logger_still_logs(
        self, driver: Driver, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # Its BoundLogger proxies unknown attributes (isEnabledFor) to PrintLogger, which lacks it.
        logger = structlog.wrap_logger(structlog.PrintLogger(), wrapper_class=structlog.BoundLogger)
        await driver.collect(mock(ok("x")), logger=logger)
        assert "ails.completion" in capsys.readouterr().out

    async def test_structlog_capture_logs_with_a_structlog_logger(self, driver: Driver) -> None:
        with capture_logs() as logs:
            await driver.collect(mock(ok("x")), logger=structlog.get_logger())
        assert len(logs) == 1
        (entry,) = logs
        assert entry["event"] == "ails.completion"
        assert entry["log_level"] == "info"
        assert entry["outcome"] == "complete"
        assert entry["tokens"] == 1

    async def test_the_default_logger_renders_into_stdlib_logger_ails(
        self, driver: Driver, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.INFO, logger="ails")
        await driver.collect(mock(ok("secret-answer")), logger=None)
        records = [r for r in caplog.records if r.name == "ails"]
        assert len(records) == 1
        message = records[0].getMessage()
        assert "event='ails.completion'" in message
        assert "outcome='complete'" in message
        assert "secret-answer" not in message
        assert records[0].levelno == logging.INFO

    async def test_the_default_logger_respects_the_level(
        self, driver: Driver, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.WARNING, logger="ails")
        await driver.collect(mock(ok()), logger=None)
        await driver.fail(mock(status(404)), logger=None)
        records = [r for r in caplog.records if r.name == "ails"]
        assert [r.levelno for r in records] == [logging.WARNING]
        assert "error='HTTPStatusError'" in records[0].getMessage()

    async def test_nothing_is_printed_by_default(
        self, driver: Driver, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert await driver.collect(mock(ok("hi")), logger=None) == ["hi"]
        await driver.fail(mock(status(500)), logger=None, max_retries=0)
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err == ""


SILENT_SCRIPT = textwrap.dedent(
    """
    import asyncio
    import ails
    from ails.testing import MockTransport, chat_stream

    def ok(request):
        return 200, {"content-type": "text/event-stream"}, chat_stream(["a", "b"])

    def refused(request):
        return 403, {"content-type": "text/plain"}, [b"nope"]

    with ails.Client(MockTransport(ok)) as client:
        assert client.complete([{"role": "user", "content": "hi"}]) == "ab"
    with ails.Client(MockTransport(refused)) as client:
        try:
            client.complete([{"role": "user", "content": "hi"}])
        except ails.HTTPStatusError:
            pass

    async def main():
        async with ails.AsyncClient(MockTransport(ok)) as client:
            assert await client.complete([{"role": "user", "content": "hi"}]) == "ab"
        async with ails.AsyncClient(MockTransport(refused)) as client:
            try:
                await client.complete([{"role": "user", "content": "hi"}])
            except ails.HTTPStatusError:
                pass

    asyncio.run(main())
    """
)


def test_an_unconfigured_process_prints_nothing() -> None:
    # A fresh interpreter: neither logging nor structlog has been configured,
    # and a warning-level event (the 403) is emitted too.
    result = subprocess.run(
        [sys.executable, "-c", SILENT_SCRIPT], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == ""
