"""ails: streaming chat completions over the Ails protocol, with the transport you choose.

>>> from ails import Client, Message
>>> with Client(base_url="http://127.0.0.1:8787") as client:  # doctest: +SKIP
...     for token in client.stream([Message.user("Привет!")]):
...         print(token, end="")

The public names load on first use, so ``import ails.domain.signing`` (which
runs this file first) stays cheap and pulls in no HTTP library or structlog.
"""

from __future__ import annotations

from ails._version import __version__

# No typing import at run time: it would be most of this file's cost
# (mypy treats a name TYPE_CHECKING as True).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ails import errors
    from ails.api import acreate_completion, create_completion
    from ails.client import AsyncClient, AsyncTokenStream, Client, TokenStream
    from ails.client.policies import RetryPolicy, Timeout
    from ails.conversations.conversation import AsyncConversation, Conversation
    from ails.conversations.store import ConversationStore
    from ails.domain.completion import (
        Completion,
        ReasoningDelta,
        TextDelta,
        ToolCall,
        ToolCallDelta,
        Usage,
    )
    from ails.domain.errors import (
        AilsError,
        ConnectError,
        ConversationNotFoundError,
        HistoryError,
        HTTPStatusError,
        IncompleteStreamError,
        ProtocolError,
        ProviderError,
        RateLimitError,
        TransportError,
        ValidationError,
    )
    from ails.domain.messages import ChatRequest, Message, Role
    from ails.domain.profile import Profile
    from ails.domain.signing import Signature, Signer, format_timestamp
    from ails.ports.http import HttpRequest

# ails.errors.TimeoutError is not re-exported here: a star import would shadow
# the builtin. Catch it as ails.errors.TimeoutError (or builtins.TimeoutError).

_HOMES = {
    "errors": "ails.errors",
    "acreate_completion": "ails.api",
    "create_completion": "ails.api",
    "AsyncClient": "ails.client",
    "AsyncTokenStream": "ails.client",
    "Client": "ails.client",
    "TokenStream": "ails.client",
    "AsyncConversation": "ails.conversations.conversation",
    "Conversation": "ails.conversations.conversation",
    "ConversationStore": "ails.conversations.store",
    "AilsError": "ails.domain.errors",
    "ConnectError": "ails.domain.errors",
    "ConversationNotFoundError": "ails.domain.errors",
    "HistoryError": "ails.domain.errors",
    "HTTPStatusError": "ails.domain.errors",
    "IncompleteStreamError": "ails.domain.errors",
    "ProtocolError": "ails.domain.errors",
    "ProviderError": "ails.domain.errors",
    "RateLimitError": "ails.domain.errors",
    "TransportError": "ails.domain.errors",
    "ValidationError": "ails.domain.errors",
    "Completion": "ails.domain.completion",
    "ReasoningDelta": "ails.domain.completion",
    "TextDelta": "ails.domain.completion",
    "ToolCall": "ails.domain.completion",
    "ToolCallDelta": "ails.domain.completion",
    "Usage": "ails.domain.completion",
    "ChatRequest": "ails.domain.messages",
    "Message": "ails.domain.messages",
    "Role": "ails.domain.messages",
    "Profile": "ails.domain.profile",
    "Signature": "ails.domain.signing",
    "Signer": "ails.domain.signing",
    "format_timestamp": "ails.domain.signing",
    "HttpRequest": "ails.ports.http",
    "RetryPolicy": "ails.client.policies",
    "Timeout": "ails.client.policies",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'ails' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(home)
    value = module if name == "errors" else getattr(module, name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
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
