"""The interactive ``ails chat``: read a question, answer it or run its ``/command``, repeat.

Terminal concerns live elsewhere: :mod:`.prompt` reads what is typed,
:mod:`.render` and :mod:`.terminal` show the answers, the spinner and the
closing line, :mod:`.commands` holds the ``/commands``. Ctrl-C during an
answer stops it (the connection is closed, what arrived is kept and marked);
Ctrl-C at the prompt clears the line; Ctrl-D or ``/exit`` leave with status
0. An error is shown in one line and the session goes on.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TextIO

from ails.cli.attachments import attach, read_file
from ails.cli.commands import dispatch
from ails.cli.errors import CliError
from ails.cli.prompt import Reader
from ails.cli.render import answer_output
from ails.cli.terminal import Spinner, closing_line, completion_of, for_stream
from ails.client import Client
from ails.client.settings import DEFAULT_BASE_URL
from ails.conversations.conversation import Conversation
from ails.conversations.saved import public_url
from ails.conversations.stream import ConversationStream
from ails.domain.errors import AilsError
from ails.domain.messages import DEFAULT_MODEL

__all__ = ["Session", "window_text"]


def window_text(window: int | None) -> str:
    """How much of the conversation goes with each question, in words."""
    if window is None:
        return "the whole conversation"
    return f"the last {window} message{'s' if window != 1 else ''}"


class Session:
    """One interactive chat: a conversation, the terminal, and the loop between them.

    ``files`` are added to the first question (``-f``); ``raw`` writes the
    answers' exact text instead of rendered Markdown.
    """

    def __init__(
        self,
        client: Client,
        conversation: Conversation,
        *,
        reader: Reader,
        out: TextIO,
        err: TextIO,
        options: dict[str, Any],
        saving: bool,
        unsaved_reason: str = "--no-log",
        raw: bool = False,
        files: tuple[str, ...] = (),
    ) -> None:
        self.client = client
        self.conversation = conversation
        self.options = options
        self.attachments: list[str] = []
        self._reader = reader
        self._out = out
        self._err = err
        self._saving = saving
        self._unsaved_reason = unsaved_reason
        self._raw = raw
        self._files = files

    def say(self, text: str) -> None:
        """One line (or a few) for the user, apart from the answers."""
        # It may quote a stored answer or an error body: no escape sequences.
        print(for_stream(text, self._err), file=self._err, flush=True)

    def new_conversation(self) -> None:
        """Start afresh, keeping the client, the store, the system message and the window."""
        old = self.conversation
        self.conversation = Conversation(
            self.client, system=old.system, store=old.store, window=old.window
        )

    def ask(self, open_stream: Callable[[], ConversationStream]) -> None:
        """Stream one answer to the terminal; errors and Ctrl-C end it, not the session."""
        output = answer_output(self._out, notes=self._err, raw=self._raw)
        spinner = Spinner(self._err)
        try:
            with spinner, open_stream() as tokens:
                for token in tokens:
                    spinner.stop()
                    output.token(token)
        except KeyboardInterrupt as stop:
            spinner.stop()
            output.error(stop)
            if output.tokens:
                self.say("interrupted: the partial answer is kept, and not sent as context")
            else:
                self.say("interrupted before the answer began")
        except AilsError as error:
            spinner.stop()
            output.error(error)
            self.say(f"ails: {type(error).__name__}: {error}")
        else:
            done = completion_of(tokens)
            output.done(done)
            self.say(closing_line(done, output.tokens))

    def send(self, text: str) -> None:
        """Ask ``text`` (with the files waiting for it) and show the answer."""
        question = self.question(text)
        self.ask(functools.partial(self.conversation.stream, question, **self.options))

    def add_file(self, path: str) -> bool:
        """Add a text file to the next question; says why not when it cannot be read."""
        try:
            self.attachments.append(attach(path, read_file(path)))
        except CliError as error:
            self.say(f"ails: {error}")
            return False
        return True

    def question(self, text: str) -> str:
        """``text`` with the files ``/file`` (or ``-f``) added to it; they go with it once."""
        parts = [text.strip(), *self.attachments]
        self.attachments = []
        return "\n\n".join(part for part in parts if part)

    def _banner(self) -> None:
        conv = self.conversation
        server = public_url(self.client.base_url) or self.client.base_url
        if conv.messages:
            self.say(
                f"continuing conversation {conv.id[:12]} ({len(conv.messages)} messages): "
                f"{conv.title}"
            )
            self.say(f"server {server}")
        else:
            self.say(f"conversation {conv.id[:12]} · server {server}")
        self.say(
            f"model {self.options.get('model', DEFAULT_MODEL)} · profile "
            f"{self.client.profile.name} · sends {window_text(conv.window)}"
        )
        if self.client.base_url.rstrip("/") == DEFAULT_BASE_URL:
            self.say(
                "!! questions go to the public Ails service (ai.ls); for a local server "
                "give --base-url URL or set AILS_BASE_URL"
            )
        self.say('/help for commands, Tab completes them; """ or a paste for several lines')

    def _farewell(self) -> None:
        conv = self.conversation
        if not self._saving:
            self.say(f"conversation {conv.id[:12]} was not saved ({self._unsaved_reason})")
        elif not conv.messages:
            # Nothing was asked: there is no such conversation to go on with.
            self.say("nothing was saved: no question was asked")
        else:
            self.say(f"saved {conv.id[:12]}; go on with: ails chat -c")

    def run(self) -> int:
        """The read-eval loop; returns the exit status (0)."""
        self._banner()
        for path in self._files:
            self.add_file(path)
        try:
            while True:
                try:
                    line = self._reader.read()
                except KeyboardInterrupt:  # clears the line being typed
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
                self.send(line)
        finally:
            self._reader.save()
        self._farewell()
        return 0
