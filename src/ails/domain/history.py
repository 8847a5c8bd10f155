"""A conversation's history and the rules for what of it is sent.

Pure values and functions: a :class:`Turn` is one message as the history
keeps it (with whether it completed and what it cost); :func:`context`
decides which turns go with the next question; :func:`derive_title` names a
conversation after its first question. No clock, no I/O: callers pass the
times in.

The rules, in one place:

- **The window.** A request carries the system message (if any), then the
  last ``window`` *complete* user/assistant messages, then the new question.
  ``window=None`` sends every complete message; ``window=0`` none.
- **Incomplete exchanges.** When an answer fails or is left early, both the
  question and the partial answer are kept, marked ``complete=False``, and
  are not sent as context unless ``include_incomplete=True``.
- **Retries.** When a retry's answer completes, the exchange it replaces is
  kept but marked ``complete=False`` with ``error="superseded"``
  (:func:`supersede`), so the question goes as context once, with the new
  answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from ails.domain.errors import ValidationError
from ails.domain.messages import Message, Role

__all__ = [
    "DEFAULT_WINDOW",
    "SUPERSEDED",
    "TITLE_LENGTH",
    "Turn",
    "check_window",
    "context",
    "derive_title",
    "last_question",
    "supersede",
]

#: The ai.ls web client sends the last six user/assistant messages with each question.
DEFAULT_WINDOW = 6
#: Titles are cut to about this many characters (a line in ``ails logs``).
TITLE_LENGTH = 60
#: The ``error`` of the turns of an exchange a retry replaced (not an error class).
SUPERSEDED = "superseded"


def _to_role(value: object) -> Role:
    role = Message.from_dict({"role": value, "content": ""}, where="turn").role
    if role is Role.SYSTEM:
        raise ValidationError("a turn is a user or assistant message; pass system= instead")
    return role


@attrs.frozen
class Turn:
    """One user or assistant message as a conversation's history keeps it.

    ``complete`` is False for a question whose answer failed or was left
    early, and for that partial answer; ``error`` then names the error class
    (``"TimeoutError"``, ``"KeyboardInterrupt"``, ...). ``created`` is a Unix
    time in seconds; ``tokens``, ``time_to_first_token`` and ``duration``
    (seconds) describe an answer and are ``None`` for questions.
    """

    role: Role = attrs.field(converter=_to_role)
    content: str = attrs.field(validator=attrs.validators.instance_of(str))
    complete: bool = True
    error: str | None = None
    created: float = 0.0
    tokens: int | None = None
    time_to_first_token: float | None = None
    duration: float | None = None

    @classmethod
    def user(cls, content: str, *, created: float = 0.0) -> Turn:
        """A question, complete until its answer says otherwise."""
        return cls(Role.USER, content, created=created)

    def to_message(self) -> Message:
        """The message as it goes on the wire."""
        return Message(self.role, self.content)

    def to_dict(self) -> dict[str, str]:
        """The wire form, ``{"role": ..., "content": ...}``."""
        return {"role": self.role.value, "content": self.content}

    def incomplete(self, error: str | None) -> Turn:
        """A copy marked as part of an exchange that did not complete."""
        return attrs.evolve(self, complete=False, error=error)


def check_window(window: int | None) -> None:
    """Raise ``ValidationError`` unless ``window`` is a whole number >= 0 or ``None``."""
    if window is not None and (isinstance(window, bool) or not isinstance(window, int)):
        raise ValidationError(f"window must be a whole number or None, got {window!r}")
    if window is not None and window < 0:
        raise ValidationError(f"window must be 0 or more (or None for all), got {window}")


def context(
    turns: Sequence[Turn],
    question: str,
    *,
    system: str | None = None,
    window: int | None = DEFAULT_WINDOW,
    include_incomplete: bool = False,
) -> list[Message]:
    """The messages to send for ``question`` after ``turns``.

    The system message (if any), the last ``window`` user/assistant messages
    of ``turns`` (all of them for ``window=None``), then ``question``.
    Incomplete turns are left out unless ``include_incomplete``.
    """
    check_window(window)
    kept = [turn for turn in turns if include_incomplete or turn.complete]
    if window is not None:
        kept = kept[-window:] if window else []
    head = [Message.system(system)] if system else []
    return [*head, *(turn.to_message() for turn in kept), Message.user(question)]


def last_question(turns: Sequence[Turn]) -> int:
    """The index of the last user turn, for asking it again.

    Raises ``ValidationError`` when there is no question yet.
    """
    for index in range(len(turns) - 1, -1, -1):
        if turns[index].role is Role.USER:
            return index
    raise ValidationError("nothing to retry: the conversation has no question yet")


def supersede(turns: Iterable[Turn]) -> list[Turn]:
    """``turns`` with each complete one marked as replaced by a retry.

    Turns already incomplete keep their own ``error``.
    """
    return [turn.incomplete(SUPERSEDED) if turn.complete else turn for turn in turns]


def derive_title(turns: Iterable[Turn], *, length: int = TITLE_LENGTH) -> str | None:
    """The first line of the first question, cut to about ``length`` characters.

    Blank lines before the text are skipped and runs of spaces collapse;
    a cut title ends with an ellipsis. ``None`` before the first question.
    """
    for turn in turns:
        if turn.role is Role.USER:
            lines = [line for line in turn.content.splitlines() if line.strip()]
            line = " ".join(lines[0].split()) if lines else ""
            if len(line) <= length:
                return line
            return line[: length - 1].rstrip() + "…"
    return None
