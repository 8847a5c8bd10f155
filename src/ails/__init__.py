"""ails: streaming chat completions over the Ails protocol, with the transport you choose.

>>> from ails import Client, Message
>>> with Client(base_url="http://127.0.0.1:8787") as client:  # doctest: +SKIP
...     for token in client.stream([Message.user("Привет!")]):
...         print(token, end="")
"""

import logging as _logging

from ails import errors
from ails._version import __version__
from ails.api import acreate_completion, create_completion
from ails.client import AsyncClient, AsyncTokenStream, Client, TokenStream
from ails.domain.errors import (
    AilsError,
    ConnectError,
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
from ails.retries import RetryPolicy
from ails.timeouts import Timeout

# ails.errors.TimeoutError is not re-exported here: a star import would shadow
# the builtin. Catch it as ails.errors.TimeoutError (or builtins.TimeoutError).

# A library stays silent unless the application configures logging.
_logging.getLogger("ails").addHandler(_logging.NullHandler())

__all__ = [
    "AilsError",
    "AsyncClient",
    "AsyncTokenStream",
    "ChatRequest",
    "Client",
    "ConnectError",
    "HTTPStatusError",
    "HttpRequest",
    "IncompleteStreamError",
    "Message",
    "Profile",
    "ProtocolError",
    "ProviderError",
    "RateLimitError",
    "RetryPolicy",
    "Role",
    "Signature",
    "Signer",
    "Timeout",
    "TokenStream",
    "TransportError",
    "ValidationError",
    "__version__",
    "acreate_completion",
    "create_completion",
    "errors",
    "format_timestamp",
]
