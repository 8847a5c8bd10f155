"""The interactive ``ails chat``: read a line, answer it or run its ``/command``, repeat.

Terminal concerns live elsewhere: :mod:`.prompt` reads lines, :mod:`.terminal`
shows the spinner and tokens, :mod:`.commands` holds the ``/commands``.
Ctrl-C during an answer stops it (the connection is closed, the partial
answer kept and marked); Ctrl-C at the prompt clears the line; Ctrl-D or
``/exit`` leave with status 0. An error is shown in one line and the session
goes on.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TextIO

from ails.cli.commands import dispatch
from ails.cli.prompt import LineReader
from ails.cli.terminal import CUT_NOTE, Spinner, for_stream, is_terminal, sanitize_for_terminal
from ails.client import Client
from ails.conversations.conversation import Conversation
from ails.conversations.stream import ConversationStream
from ails.domain.errors import AilsError

__all__ = ["Session"]


class Session:
    """One interactive chat: a conversation, the terminal, and the loop between them."""

    def __init__(
        self,
        client: Client,
        conversation: Conversation,
        *,
        reader: LineReader,
        out: TextIO,
        err: TextIO,
        options: dict[str, Any],
        saving: bool,
        unsaved_reason: str = "--no-log",
    ) -> None:
        self.client = client
        self.conversation = conversation
        self.options = options
        self._reader = reader
        self._out = out
        self._err = err
        self._saving = saving
        self._unsaved_reason = unsaved_reason

    def say(self, text: str) -> None:
        """One line (or a few) for the user, apart from the answers."""
        # It may quote a stored answer or an error body: no escape sequences.
        print(for_stream(text, self._err), file=self._err, flush=True)

    def new_conversation(self) -> None:
        """Start afresh, keeping the client, the store and the system message."""
        old = self.conversation
        self.conversation = Conversation(self.client, system=old.system, store=old.store)

    def ask(self, open_stream: Callable[[], ConversationStream]) -> None:
        """Stream one answer to the terminal; errors and Ctrl-C end it, not the session."""
        shown = False
        clean = is_terminal(self._out)
        spinner = Spinner(self._err)
        try:
            with spinner, open_stream() as tokens:
                for token in tokens:
                    if not shown:
                        spinner.stop()
                        shown = True
                    self._out.write(sanitize_for_terminal(token) if clean else token)
                    self._out.flush()
        except KeyboardInterrupt:
            spinner.stop()
            self._end_line(shown)
            self.say("[interrupted: the partial answer is kept, and not sent as context]")
        except AilsError as error:
            spinner.stop()
            self._end_line(shown)
            self.say(f"ails: {type(error).__name__}: {error}")
        else:
            self._end_line(True)
            if getattr(tokens, "finish_reason", None) == "length":
                self.say(CUT_NOTE)

    def _end_line(self, needed: bool) -> None:
        if needed:
            self._out.write("\n")
            self._out.flush()

    def _banner(self) -> None:
        conv = self.conversation
        if conv.messages:
            self.say(
                f"continuing conversation {conv.id} ({len(conv.messages)} messages): {conv.title}"
            )
        else:
            self.say(f"conversation {conv.id}")
        self.say('/help for commands, """ for several lines, Ctrl-D to leave')

    def _farewell(self) -> None:
        conv = self.conversation
        if not self._saving:
            self.say(f"conversation {conv.id} was not saved ({self._unsaved_reason})")
        elif not conv.messages:
            # Nothing was asked: there is no such conversation to go on with.
            self.say("nothing was saved: no question was asked")
        else:
            self.say(f"conversation {conv.id} saved; go on with: ails chat --cid {conv.id}")

    def run(self) -> int:
        """The read-eval loop; returns the exit status (0)."""
        self._banner()
        try:
            while True:
                try:
                    line = self._reader.read()
                except KeyboardInterrupt:  # clears the line being typed
                    self._out.write("\n")
                    continue
                except EOFError:
                    self._out.write("\n")
                    break
                if not line.strip():
                    continue
                if line.startswith("/"):
                    if not dispatch(self, line):
                        break
                    continue
                self.ask(functools.partial(self.conversation.stream, line, **self.options))
        finally:
            self._reader.save()
        self._farewell()
        return 0
