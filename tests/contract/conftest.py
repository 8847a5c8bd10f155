"""The conformance kit on the two transports only the tests and the docs use: a sample by default.

ails's own transports (``test_requests_transport.py``, ``test_aiohttp_transport.py``)
run the whole kit in every ``make test``. The docs' httpx example and the
test-only http.client transport run it too, but what they add beyond a
sample of each concern is a third of the suite's time and no new line of
ails: the same client code, against the same fixtures, through a fourth and
fifth transport. So, in those two modules, the cases outside the sample
below carry the ``kit`` marker, which ``make test`` leaves out
(``-m "not kit"`` in pyproject's addopts) and ``make test-kit`` runs
(``pytest -m kit``; CI runs both, so the whole kit still runs on them).
"""

from __future__ import annotations

import pytest

#: The modules whose kit classes are sampled.
SAMPLED = frozenset({"test_httpx_example.py", "test_http_client_transport.py"})

#: Fixtures the sample replays: an answer, each framing, a reset and a cut,
#: a status with Retry-After, the service's error event, and the structure
#: (parallel tool calls, a cut inside one, reasoning).
FIXTURES = frozenset(
    {
        "ru-greeting",
        "gzip",
        "content-length",
        "connection-close",
        "reset-mid-body",
        "truncated-chunked",
        "rate-limited",
        "error-event",
        "tool-calls-parallel",
        "tool-call-cut",
        "reasoning-content",
    }
)

#: Cases that repeat one check over many inputs the client (not the
#: transport) handles: the first input is enough for the sample.
FIRST_ONLY = frozenset(
    {
        "test_unsafe_headers_are_refused_before_sending",
        "test_invalid_base_urls_are_refused_before_sending",
        "test_total_deadline_on_a_silent_server",
    }
)

#: Cases left to the whole kit: the load and leak runs (seconds each, and
#: the same client code on every transport), and a refused key (retried).
WHOLE_KIT_ONLY = frozenset(
    {
        "test_abandoned_streams_leak_no_descriptors",
        "test_thousands_of_concurrent_streams",
        "test_a_wrong_api_key_is_refused_by_the_openai_server",
    }
)


def in_sample(item: pytest.Item) -> bool:
    """Whether a kit case of a sampled module runs in the default suite."""
    name = getattr(item, "originalname", item.name)
    if name in WHOLE_KIT_ONLY:
        return False
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return True
    if "name" in callspec.params:  # a fixture case
        return callspec.params["name"] in FIXTURES
    if name in FIRST_ONLY:
        return all(index == 0 for index in callspec.indices.values())
    return True


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the kit cases of the sampled modules that are not in the sample."""
    for item in items:
        if item.path.name in SAMPLED and item.cls is not None and not in_sample(item):
            item.add_marker(pytest.mark.kit)
