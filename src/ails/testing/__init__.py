"""Test helpers shipped with ails, for your tests as much as ours.

``FakeServer`` is a real HTTP server on 127.0.0.1 that picks a fixture per
request (``routing``), checks requests (``checks``) and replays recorded
fixtures (``fixtures``, ``replay``); ``proxy.ForwardProxy`` is a local forward
proxy; ``MockTransport`` answers through a handler with no socket;
``RecordingTransport`` saves real exchanges as fixtures; ``chat_stream`` and
friends build event-stream bodies. The transport conformance kit is the
``ails.testing.conformance`` package, split by concern behind
``SyncTransportContract`` and ``AsyncTransportContract``. This subpackage may
import everything below the CLI (the domain, the ports, the clients and the
transports) and nothing of ``ails.cli``; only the conformance kit imports
``pytest``, and ``import ails.testing`` loads no HTTP library.
"""

from ails.testing.events import DONE, chat_chunk, chat_stream, sse_event
from ails.testing.fixtures import Fixture, load_fixtures
from ails.testing.mock import MockResponse, MockTransport
from ails.testing.recording import RecordingTransport
from ails.testing.server import FakeServer, RecordedRequest

__all__ = [
    "DONE",
    "FakeServer",
    "Fixture",
    "MockResponse",
    "MockTransport",
    "RecordedRequest",
    "RecordingTransport",
    "chat_chunk",
    "chat_stream",
    "load_fixtures",
    "sse_event",
]
