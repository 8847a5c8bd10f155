"""The transport conformance kit: the contract suite ails runs on its own transports.

Check your transport with a few lines (pytest required)::

    from ails.testing.conformance import SyncTransportContract

    class TestMyTransport(SyncTransportContract):
        def make_transport(self):
            return MyTransport()

Use :class:`AsyncTransportContract` for an async transport. Every case runs
the real client stack (signer, your transport, parser) over real sockets
against :class:`~ails.testing.FakeServer` and small raw servers on
127.0.0.1: the tokens of each shipped fixture under both profiles, every
fault mapped to the right ``ails.errors`` class with a useful message,
retries, timeouts, TLS, proxies, early close and cancellation releasing the
connection (the server sees the hang-up), no descriptor leaked by hundreds
of abandoned streams, and no secret in any log record.

A few cases need the transport built with options. The kit then calls
``make_transport(proxy=url)`` (a forward-proxy URL) or
``make_transport(verify=...)`` (``False``: do not check certificates; a
path: trust that CA bundle, as ``requests`` spells it). A
``make_transport`` that takes no such keyword makes those cases skip, so
the one-method subclass above stays valid.

Nothing here contacts another host: servers bind 127.0.0.1 port 0, and the
TLS certificate is made at test time with the ``openssl`` command. The DNS
case uses the reserved ``.invalid`` domain and answers it locally by
wrapping ``socket.getaddrinfo`` (which requests, aiohttp's default resolver,
httpx and http.client use); a transport with a resolver of its own will ask
its DNS server, bounded by the case's short timeouts.
"""

import pkgutil

import pytest

# pytest explains a failed ``assert`` (both sides, each call's value) only in
# modules it rewrites: test files and conftest, not an installed package. Mark
# the kit's modules before the imports below load them, so a user's failing
# case names the error expected and the one that came. (Not the package
# itself: it is already being imported, and pytest would warn.)
pytest.register_assert_rewrite(*(f"{__name__}.{m.name}" for m in pkgutil.iter_modules(__path__)))

# The contracts and ``ChatResult``, and the kit's settings importable from here as
# before the split (``X as X`` re-exports them explicitly, for mypy --strict users).
from ails.testing.conformance.contracts import AsyncTransportContract, SyncTransportContract
from ails.testing.conformance.leaks import CONCURRENT_STREAMS as CONCURRENT_STREAMS
from ails.testing.conformance.leaks import LEAK_FIXTURES as LEAK_FIXTURES
from ails.testing.conformance.leaks import LEAK_SEED as LEAK_SEED
from ails.testing.conformance.leaks import LEAK_STREAMS as LEAK_STREAMS
from ails.testing.conformance.network import INVALID_HOST as INVALID_HOST
from ails.testing.conformance.support import CONTRACT_FIXTURES as CONTRACT_FIXTURES
from ails.testing.conformance.support import CONTRACT_RETRY as CONTRACT_RETRY
from ails.testing.conformance.support import CONTRACT_TIMEOUT as CONTRACT_TIMEOUT
from ails.testing.conformance.support import DISCONNECT_WAIT as DISCONNECT_WAIT
from ails.testing.conformance.support import OPENAI_KEY as OPENAI_KEY
from ails.testing.conformance.support import QUESTION as QUESTION
from ails.testing.conformance.support import ChatResult
from ails.testing.conformance.validation import INVALID_BASE_URLS as INVALID_BASE_URLS
from ails.testing.conformance.validation import UNSAFE_HEADERS as UNSAFE_HEADERS

__all__ = ["AsyncTransportContract", "ChatResult", "SyncTransportContract"]


def __getattr__(name: str) -> object:
    # ``Outcome`` was this class's name until the third release, when
    # ``ails.Outcome`` came to mean how a completion ended; old imports warn.
    if name == "Outcome":
        import warnings

        warnings.warn(
            "ails.testing.conformance.Outcome is now ChatResult",
            DeprecationWarning,
            stacklevel=2,
        )
        return ChatResult
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
