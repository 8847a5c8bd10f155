"""Test helpers shipped with ails, for your tests as much as ours.

``MockTransport`` answers requests through a handler with no socket;
``chat_stream`` and friends build event-stream bodies.
"""

from ails.testing.events import DONE, chat_chunk, chat_stream, sse_event
from ails.testing.mock import MockResponse, MockTransport

__all__ = ["DONE", "MockResponse", "MockTransport", "chat_chunk", "chat_stream", "sse_event"]
