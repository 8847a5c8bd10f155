"""The page's typed application state: the history and the answers streaming now."""

from __future__ import annotations

import attrs
from aiohttp import web

from ails.conversations.store import ConversationStore
from ails.domain.history import DEFAULT_WINDOW
from ails.page.live import LiveAnswers

__all__ = ["PAGE", "Page"]


@attrs.define(eq=False)
class Page:
    """The page's state on the app: the history and the answers streaming now."""

    #: Opened when the app starts (see :func:`ails.page.add_page`).
    opened: ConversationStore | None = None
    live: LiveAnswers = attrs.field(factory=LiveAnswers)
    #: How many earlier messages go with each question (as ``ails chat``'s default).
    window: int | None = DEFAULT_WINDOW

    @property
    def store(self) -> ConversationStore:
        """The history, while the app runs."""
        assert self.opened is not None, "the page's cleanup context opens the history"
        return self.opened


PAGE = web.AppKey("ails.page", Page)
