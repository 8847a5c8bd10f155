"""``Client``: stream chat answers through any synchronous transport."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import TracebackType

from ails.client.body_io import close_iterator, os_error, read_excerpt
from ails.client.retries import RetryPolicy
from ails.client.run import CompletionRun
from ails.client.settings import SETTINGS_DOC, closed_message, make_settings
from ails.client.streams import TokenStream
from ails.client.timeouts import DEFAULT_TIMEOUT, TimeoutLike
from ails.domain.chunks import DEFAULT_NOTICE_PATTERN
from ails.domain.errors import AilsError, TransportError, ValidationError
from ails.domain.messages import DEFAULT_MODEL, DEFAULT_TEMPERATURE, ChatRequest, MessageLike
from ails.domain.profile import Profile
from ails.domain.sse import DEFAULT_MAX_EVENT_SIZE
from ails.log import Logger
from ails.ports.http import StreamResponse, Transport, redact_url

__all__ = ["Client"]


class Client:
    """A synchronous Ails client.

    ``transport`` is any :class:`~ails.ports.Transport`; by default a
    :class:`~ails.transports.requests_transport.RequestsTransport`. Closing the
    client closes its transport.
    """

    __doc__ = (__doc__ or "") + SETTINGS_DOC

    def __init__(
        self,
        transport: Transport | None = None,
        *,
        base_url: str | None = None,
        timeout: TimeoutLike = DEFAULT_TIMEOUT,
        max_retries: int | RetryPolicy = 2,
        headers: Mapping[str, str] | None = None,
        profile: Profile | str | None = None,
        api_key: str | None = None,
        logger: Logger | None = None,
        notice_pattern: re.Pattern[str] | str | None = DEFAULT_NOTICE_PATTERN,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        log_bodies: bool = False,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._settings = make_settings(
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            headers=headers,
            profile=profile,
            api_key=api_key,
            logger=logger,
            notice_pattern=notice_pattern,
            max_event_size=max_event_size,
            log_bodies=log_bodies,
            clock=clock,
            wall_clock=wall_clock,
            rng=rng,
        )
        if transport is None:
            from ails.transports.requests_transport import RequestsTransport

            transport = RequestsTransport()
        self._transport = transport
        self._sleep = sleep
        self._closed = False

    @property
    def base_url(self) -> str:
        """The server this client talks to."""
        return self._settings.base_url

    def stream(
        self,
        messages: Iterable[MessageLike],
        *,
        model: str = DEFAULT_MODEL,
        temperature: float = DEFAULT_TEMPERATURE,
    ) -> TokenStream:
        """Stream the answer to ``messages`` token by token.

        Messages are validated now (``ValidationError``); the request is sent
        when iteration starts.
        """
        self._check_open()
        chat = ChatRequest(messages, model=model, temperature=temperature)
        return TokenStream(self._tokens(chat))

    def complete(
        self,
        messages: Iterable[MessageLike],
        *,
        model: str = DEFAULT_MODEL,
        temperature: float = DEFAULT_TEMPERATURE,
    ) -> str:
        """The whole answer to ``messages`` as one string."""
        with self.stream(messages, model=model, temperature=temperature) as tokens:
            return "".join(tokens)

    def _tokens(self, chat: ChatRequest) -> Iterator[str]:
        self._check_open()  # closed between stream() and the first next()
        run = CompletionRun(chat, self._settings)
        response: StreamResponse | None = None
        outcome, error = "closed", None
        try:
            response = self._open(run)
            body = response.iter_bytes()
            try:
                for chunk in body:
                    yield from run.feed(chunk)
                    if run.complete:
                        break
            except AilsError:
                raise
            except OSError as exc:
                raise os_error("reading the answer", exc) from exc
            finally:
                close_iterator(body)
            run.finish()
            outcome = "ok"
        except GeneratorExit:
            raise
        except BaseException as exc:
            outcome, error = "error", exc
            if isinstance(exc, AilsError):
                run.annotate(exc)
            raise
        finally:
            if response is not None:
                response.close()
            run.log(outcome, error)

    def _open(self, run: CompletionRun) -> StreamResponse:
        while True:
            request = run.next_request()
            try:
                response = self._transport.send(request)
            except TransportError as exc:
                self._sleep(run.after_send_error(exc))
                continue
            except OSError as exc:
                self._sleep(run.after_send_error(os_error("sending the request", exc)))
                continue
            if run.accept(response.status, response.headers):
                return response
            try:
                body = read_excerpt(response.iter_bytes())
            except (TransportError, OSError):
                body = b""  # the status says enough
            finally:
                response.close()
            self._sleep(run.after_status(body))

    def close(self) -> None:
        """Close the transport and its connections; the client cannot be used again."""
        self._closed = True
        self._transport.close()

    @property
    def is_closed(self) -> bool:
        """True once :meth:`close` was called (or the ``with`` block ended)."""
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise ValidationError(closed_message(self))

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

    def __repr__(self) -> str:
        url = redact_url(self.base_url)
        return f"Client(base_url={url!r}, profile={self._settings.profile.name!r})"
