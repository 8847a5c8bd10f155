"""The one log event ails emits per completion, and where it goes by default.

Library code must not print: unconfigured structlog writes to stdout, where the
CLI writes tokens. So the default logger renders through the standard library
logger ``"ails"``, which stays silent until the application configures
``logging``. Pass ``logger=structlog.get_logger()`` to use your structlog setup.
The event holds no message content, signature, header value or secret.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

__all__ = ["LOGGER_NAME", "Logger", "default_logger"]

LOGGER_NAME = "ails"


class Logger(Protocol):
    """What ails needs of a logger: structlog's bound-logger methods."""

    def info(self, event: str, **kw: Any) -> Any:
        """Log ``event`` with key-value context at INFO."""
        ...

    def warning(self, event: str, **kw: Any) -> Any:
        """Log ``event`` with key-value context at WARNING."""
        ...


def default_logger() -> Logger:
    """A structlog logger rendering ``key=value`` lines into stdlib logger ``"ails"``."""
    # Imported here, not at the top: ``import ails`` (and so ``import
    # ails.domain.signing``) must not pull structlog in.
    import structlog

    stdlib_logger = logging.getLogger(LOGGER_NAME)
    logger: Logger = structlog.wrap_logger(
        stdlib_logger,
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.processors.KeyValueRenderer(key_order=["event"], sort_keys=True),
        ],
        wrapper_class=structlog.stdlib.BoundLogger,
    )
    return logger
