"""Test helpers shipped with ails, for your tests as much as ours.

``FakeServer`` is a real HTTP server on 127.0.0.1 that checks requests and
replays recorded fixtures; ``MockTransport`` answers through a handler with no
socket; ``chat_stream`` and friends build event-stream bodies. The transport
conformance kit lives in ``ails.testing.conformance`` (it needs pytest).
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
