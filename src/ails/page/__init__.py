"""The chat page ``ails gateway`` serves at ``/``, on the same history as ``ails chat``.

The web adapter that composes the gateway (the upstream client, the key,
the door) and the history (:class:`~ails.ConversationStore`), which never
import each other: :func:`add_page` mounts the page, its assets and its JSON
API (:mod:`ails.page.api`) on a gateway app; answers stream in tasks of
their own (:mod:`ails.page.live`) so a reload loses nothing. Only
``ails.cli`` imports this package.
"""

from ails.page.app import CONTENT_SECURITY_POLICY, add_page

__all__ = ["CONTENT_SECURITY_POLICY", "add_page"]
