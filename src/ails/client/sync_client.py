"""``Client``: stream chat answers through any synchronous transport."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING

from ails.client.base import BaseClient
from ails.client.body_io import close_iterator, read_excerpt, release
from ails.client.call import CallOptions
from ails.client.run import CompletionRun
from ails.client.settings import SETTINGS_DOC, Settings
from ails.client.steps import Send, Sleep, Step, Stream
from ails.client.streams import StreamState, TokenStream
from ails.domain.errors import AilsError, TransportError, TruncatedBodyError
from ails.domain.messages import ChatRequest, MessageLike
from ails.ports.http import StreamResponse, Transport

if TYPE_CHECKING:
    from typing_extensions import Unpack  # mypy has it; nothing imports it at run time

__all__ = ["Client"]


class Client(BaseClient[Transport, Callable[[float], None], TokenStream]):
    """A synchronous Ails client.

    ``transport`` is any :class:`~ails.ports.Transport`; by default a
    :class:`~ails.transports.requests_transport.RequestsTransport`. Closing the
    client closes its transport. ``sleep`` defaults to ``time.sleep``.
    """

    __doc__ = (__doc__ or "") + SETTINGS_DOC

    def _default_transport(self) -> Transport:
        from ails.transports.requests_transport import RequestsTransport

        return RequestsTransport()

    def _default_sleep(self) -> Callable[[float], None]:
        return time.sleep

    def _open_stream(
        self, chat: ChatRequest, settings: Settings, state: StreamState
    ) -> TokenStream:
        return TokenStream(self._tokens(chat, settings, state), state)

    def complete(self, messages: Iterable[MessageLike], **options: Unpack[CallOptions]) -> str:
        """The whole answer to ``messages`` as one string; takes the options of :meth:`stream`."""
        with self.stream(messages, **options) as tokens:
            return "".join(tokens)

    def _tokens(self, chat: ChatRequest, settings: Settings, state: StreamState) -> Iterator[str]:
        """The I/O of one completion; every decision is the run's (see ``ails.client.steps``)."""
        self._check_open()  # closed between stream() and the first step
        run = state.run = CompletionRun(chat, settings)
        response: StreamResponse | None = None
        completed = False
        try:
            step: Step = run.attempt()
            while not isinstance(step, Stream):
                if isinstance(step, Send):
                    try:
                        response = self._transport.send(step.request)
                    except (TransportError, OSError) as exc:
                        step = run.send_failed(exc)
                    else:
                        step = run.sent(response.status, response.headers)
                elif isinstance(step, Sleep):
                    self._sleep(step.seconds)
                    step = run.attempt()
                else:  # ReadExcerpt
                    assert response is not None
                    body, response = read_excerpt(response, step.limit), None
                    step = run.excerpt(body)
            assert response is not None
            chunks = response.iter_bytes()
            try:
                for chunk in chunks:
                    yield from run.feed(chunk)
                    if run.complete:
                        break
            except TruncatedBodyError as exc:
                raise run.truncated(exc) from exc
            except AilsError:
                raise  # ails.errors.TimeoutError is also an OSError
            except OSError as exc:
                raise run.read_failed(exc) from exc
            finally:
                close_iterator(chunks)
            run.finish()
        except BaseException as exc:  # GeneratorExit, KeyboardInterrupt, cancellation too
            run.end(exc)
            if isinstance(exc, AilsError):
                run.raise_final(exc)  # built whole: the attempts and the text so far
            raise
        else:
            completed = True
            run.end(None)
        finally:
            if response is not None:
                if completed:
                    release(response)  # keep-alive: the answer is complete
                else:
                    response.close()

    def close(self) -> None:
        """Close the transport and its connections; the client cannot be used again."""
        self._closed = True
        self._transport.close()

    def __enter__(self) -> Client:
        self._check_open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
