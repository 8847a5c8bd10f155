"""The public surface: ``ails.__all__``, import hygiene, and the seed's ``create_completion``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from client_support import HELLO, Driver, mock, ok, status

import ails
from ails.errors import HTTPStatusError, ValidationError
from ails.testing import MockTransport

EXPECTED_ALL = [
    "AilsError",
    "AsyncClient",
    "AsyncConversation",
    "AsyncTokenStream",
    "ChatRequest",
    "Client",
    "Completion",
    "ConnectError",
    "Conversation",
    "ConversationNotFoundError",
    "ConversationStore",
    "HTTPStatusError",
    "HistoryError",
    "HttpRequest",
    "IncompleteStreamError",
    "Message",
    "Profile",
    "ProtocolError",
    "ProviderError",
    "RateLimitError",
    "ReasoningDelta",
    "RetryPolicy",
    "Role",
    "Signature",
    "Signer",
    "TextDelta",
    "Timeout",
    "TokenStream",
    "ToolCall",
    "ToolCallDelta",
    "TransportError",
    "Usage",
    "ValidationError",
    "__version__",
    "acreate_completion",
    "create_completion",
    "errors",
    "format_timestamp",
]


class TestSurface:
    def test_all_is_pinned(self) -> None:
        assert ails.__all__ == EXPECTED_ALL

    def test_every_public_name_exists(self) -> None:
        for name in ails.__all__:
            assert getattr(ails, name) is not None, name

    def test_timeout_error_is_not_exported_at_the_top_so_it_cannot_shadow_the_builtin(
        self,
    ) -> None:
        assert "TimeoutError" not in ails.__all__
        assert issubclass(ails.errors.TimeoutError, TimeoutError)


def imported_after(statement: str) -> set[str]:
    """Top-level packages a fresh interpreter has loaded after running ``statement``."""
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return {name.split(".")[0] for name in json.loads(result.stdout)}


class TestImportHygiene:
    def test_signing_imports_no_http_library_and_no_structlog(self) -> None:
        loaded = imported_after("import ails.domain.signing")
        assert "ails" in loaded  # the check itself works
        assert not loaded & {"requests", "aiohttp", "structlog", "urllib3"}

    def test_ails_imports_no_http_library(self) -> None:
        loaded = imported_after("import ails")
        assert not loaded & {"requests", "aiohttp", "urllib3"}

    @pytest.mark.parametrize("statement", ["import ails", "import ails.domain.signing"])
    def test_the_library_imports_no_terminal_library(self, statement: str) -> None:
        # prompt_toolkit and rich are for the ails command's terminal only.
        loaded = imported_after(statement)
        assert "ails" in loaded
        assert not loaded & {"prompt_toolkit", "rich", "pygments", "wcwidth", "markdown_it"}

    def test_the_library_works_without_the_terminal_libraries(self) -> None:
        statement = (
            "import sys\n"
            "sys.modules.update(prompt_toolkit=None, rich=None)  # importing them now fails\n"
            "import ails\n"
            "from ails.testing import MockTransport, chat_stream\n"
            "t = MockTransport(lambda r: (200, {}, chat_stream(['x'])))\n"
            "conv = ails.Conversation(ails.Client(t))\n"
            "assert conv.complete('q') == 'x'"
        )
        assert "ails" in imported_after(statement)

    def test_ails_imports_no_sqlite(self) -> None:
        assert "sqlite3" not in imported_after("import ails")

    def test_a_conversation_without_a_store_imports_no_sqlite(self) -> None:
        assert "sqlite3" not in imported_after("from ails import Conversation")

    def test_the_testing_kit_imports_no_http_library(self) -> None:
        loaded = imported_after("import ails.testing")
        assert not loaded & {"requests", "aiohttp"}

    def test_a_client_over_a_mock_transport_needs_no_http_library(self) -> None:
        statement = (
            "import ails\n"
            "from ails.testing import MockTransport, chat_stream\n"
            "t = MockTransport(lambda r: (200, {}, chat_stream(['x'])))\n"
            "assert ails.Client(t).complete([{'role': 'user', 'content': 'q'}]) == 'x'"
        )
        loaded = imported_after(statement)
        assert not loaded & {"requests", "aiohttp"}


class TestCreateCompletion:
    async def test_stream_true_yields_tokens_and_closes_the_transport(self, driver: Driver) -> None:
        transport = mock(ok("Hel", "lo"))
        tokens = await driver.create_completion(
            model="gpt-3.5-turbo",
            messages=HELLO,
            stream=True,
            transport=transport,
            base_url="http://127.0.0.1:8787",
        )
        assert tokens == ["Hel", "lo"]
        assert transport.closed
        assert transport.open_responses == 0
        assert transport.requests[0].url.startswith("http://127.0.0.1:8787/v1/")

    async def test_stream_false_returns_the_text_and_closes_the_transport(
        self, driver: Driver
    ) -> None:
        transport = mock(ok("Four", "."))
        text = await driver.create_completion(
            model="gpt-3.5-turbo", messages=HELLO, stream=False, transport=transport
        )
        assert text == "Four."
        assert transport.closed

    async def test_model_and_temperature_reach_the_body(self, driver: Driver) -> None:
        transport = mock()
        await driver.create_completion(
            model="gpt-4", messages=HELLO, temperature=0.1, stream=True, transport=transport
        )
        body = json.loads(transport.requests[0].body)
        assert (body["model"], body["temperature"]) == ("gpt-4", 0.1)

    async def test_client_options_are_passed_on(self, driver: Driver) -> None:
        transport = mock(status(503), ok())
        text = await driver.create_completion(
            model="gpt-3.5-turbo", messages=HELLO, stream=False, transport=transport
        )
        assert text == "Hello world"
        assert driver.sleeps == [0.5]
        assert driver.logger.only["attempts"] == 2

    async def test_closing_an_unread_stream_closes_the_transport(self, driver: Driver) -> None:
        transport = mock()
        await driver.create_completion_unread(
            model="gpt-3.5-turbo", messages=HELLO, transport=transport
        )
        assert transport.closed
        assert transport.requests == []

    async def test_leaving_a_stream_early_closes_response_and_transport(
        self, driver: Driver
    ) -> None:
        response = ok("a", "b", "c")
        transport = mock(response)
        options = driver.options(transport=transport)
        got: list[str] = []
        if driver.is_async:
            stream = await ails.acreate_completion(
                model="gpt-3.5-turbo", messages=HELLO, stream=True, **options
            )
            async with stream:
                async for item in stream:
                    got.append(item)
                    break
        else:
            with ails.create_completion(
                model="gpt-3.5-turbo", messages=HELLO, stream=True, **options
            ) as tokens:
                for item in tokens:
                    got.append(item)
                    break
        assert got == ["a"]
        assert response.closed
        assert transport.closed
        assert driver.logger.only["outcome"] == "closed"

    @pytest.mark.parametrize("stream", [True, False])
    async def test_invalid_messages_raise_and_close_the_transport(
        self, driver: Driver, stream: bool
    ) -> None:
        transport = mock()
        with pytest.raises(ValidationError):
            await driver.create_completion(
                model="gpt-3.5-turbo", messages=[], stream=stream, transport=transport
            )
        assert transport.requests == []
        assert transport.closed

    @pytest.mark.parametrize("stream", [True, False])
    async def test_an_error_closes_the_transport(self, driver: Driver, stream: bool) -> None:
        transport = mock(status(404))
        with pytest.raises(HTTPStatusError):
            await driver.create_completion(
                model="gpt-3.5-turbo", messages=HELLO, stream=stream, transport=transport
            )
        assert transport.closed
        assert transport.open_responses == 0

    def test_stream_true_returns_a_token_stream(self) -> None:
        transport = MockTransport(lambda request: ok())
        tokens = ails.create_completion(
            model="gpt-3.5-turbo", messages=HELLO, stream=True, transport=transport
        )
        assert isinstance(tokens, ails.TokenStream)
        assert next(tokens) == "Hello"
        tokens.close()
        assert transport.closed
        tokens.close()  # closing again is harmless
        assert list(tokens) == []

    def test_an_exhausted_stream_has_closed_the_transport(self) -> None:
        transport = MockTransport(lambda request: ok())
        tokens = ails.create_completion(
            model="gpt-3.5-turbo", messages=HELLO, stream=True, transport=transport
        )
        assert list(tokens) == ["Hello", " world"]
        assert transport.closed
        tokens.close()

    async def test_async_stream_true_returns_an_async_token_stream(self) -> None:
        transport = MockTransport(lambda request: ok())
        tokens = await ails.acreate_completion(
            model="gpt-3.5-turbo", messages=HELLO, stream=True, transport=transport
        )
        assert isinstance(tokens, ails.AsyncTokenStream)
        assert await tokens.__anext__() == "Hello"
        await tokens.aclose()
        assert transport.closed
        await tokens.aclose()  # closing again is harmless
        assert [item async for item in tokens] == []
