"""The per-call request options as ``ails chat`` flags, built from their one declaration.

Each option of :data:`ails.domain.options.OPTIONS` becomes ``--name-with-dashes``
(unless :data:`NOT_ON_COMMAND_LINE` says why not), its help text is the
declaration's, and how its text is read follows the option's type in
:class:`~ails.domain.options.OptionFields`: a whole number, a number, a
text, ``--x``/``--no-x`` for true or false, and JSON text for lists and
objects (or the path of a file holding it, or one of the option's declared
``words``). A new option in the declaration is a new flag, with no edit here.
"""

from __future__ import annotations

import argparse
import json
import types
import typing
from pathlib import Path
from typing import Any

from ails.cli.errors import CliError
from ails.domain.errors import ValidationError
from ails.domain.options import OPTIONS, Option, OptionFields, RequestOptions
from ails.domain.profile import Profile

__all__ = ["NOT_ON_COMMAND_LINE", "add_request_flags", "flag", "given_options", "refuse_for"]

#: Options with no flag, and why: what the command could not show or use.
NOT_ON_COMMAND_LINE: dict[str, str] = {
    "n": "ails reads one answer per request, and 1 is the only value accepted",
    "logprobs": "the command shows the answer's text, never its log probabilities",
    "top_logprobs": "the command shows the answer's text, never its log probabilities",
    "modalities": "the command shows text answers only",
}

_DEST = "request_option_"  # namespaced: an option may share a name with a CLI argument


def flag(name: str) -> str:
    """The command-line flag of option ``name``: ``max_tokens`` is ``--max-tokens``."""
    return "--" + name.replace("_", "-")


def _kinds(name: str) -> set[type]:
    """The plain types option ``name`` may take (``None`` aside), from ``OptionFields``."""
    hint = typing.get_type_hints(OptionFields)[name]
    kinds: set[type] = set()
    for arg in typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,):
        origin = typing.get_origin(arg) or arg
        if origin is not type(None):
            kinds.add(origin)
    return kinds


def _json_reader(option: Option, text_too: bool) -> Any:
    """Reads JSON text, a declared word, a file of JSON; else the text itself if ``text_too``."""
    words = dict(option.words)
    name = flag(option.name)

    def read(text: str) -> Any:
        if text in words:
            return words[text]
        start = text.lstrip()[:1]
        if text_too and start not in ("[", "{", '"'):
            return text
        if start in ("[", "{", '"') or not Path(text).is_file():
            source, what = text, "JSON text"
        else:
            try:
                source, what = Path(text).read_text(encoding="utf-8"), f"the file {text!r}"
            except (OSError, UnicodeDecodeError) as exc:
                raise argparse.ArgumentTypeError(f"cannot read {text!r}: {exc}") from None
        try:
            return json.loads(source)
        except json.JSONDecodeError as exc:
            also = f", one of {', '.join(words)}" if words else ""
            raise argparse.ArgumentTypeError(
                f"{what} is not valid JSON ({exc}); {name} takes JSON text{also}, "
                "or the path of a JSON file"
            ) from None

    return read


def _reader(option: Option) -> tuple[Any, str]:
    """How the flag's text is read, and its metavar."""
    kinds = _kinds(option.name)
    if kinds == {int}:
        return int, "N"
    if kinds == {float}:
        return float, "X"
    if kinds == {str}:
        return str, "TEXT"
    return _json_reader(option, text_too=str in kinds), "TEXT|JSON" if str in kinds else "JSON"


def _checked(option: Option, read: Any) -> Any:
    """``read``, then the declaration's check: a bad value is a usage error, before anything."""
    name = flag(option.name)

    def parse(text: str) -> Any:
        try:
            value = read(text)
        except ValueError:  # int() or float() refused it
            what = "a whole number" if read is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {what}; got {text!r}") from None
        try:
            return option.check(name, value)
        except ValidationError as exc:
            message = str(exc)
            raise argparse.ArgumentTypeError(message.removeprefix(f"{name} ")) from None

    return parse


def add_request_flags(parser: argparse.ArgumentParser) -> None:
    """Add a flag for each declared option (but :data:`NOT_ON_COMMAND_LINE`) to ``parser``."""
    group = parser.add_argument_group(
        "request options",
        "sent as given with --profile openai; the ails profile refuses them",
    )
    for option in OPTIONS:
        if option.name in NOT_ON_COMMAND_LINE:
            continue
        dest = _DEST + option.name
        if _kinds(option.name) == {bool}:
            group.add_argument(
                flag(option.name),
                dest=dest,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=option.help,
            )
            continue
        read, metavar = _reader(option)
        words = f" (or: {', '.join(word for word, _ in option.words)})" if option.words else ""
        group.add_argument(
            flag(option.name),
            dest=dest,
            type=_checked(option, read),
            metavar=metavar,
            default=None,
            help=option.help + words,
        )


def given_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options the command line set, by their names, in wire order (checked already)."""
    given = {}
    for option in OPTIONS:
        value = getattr(args, _DEST + option.name, None)
        if value is not None:
            given[option.name] = value
    return given


def refuse_for(given: dict[str, Any], profile_name: str) -> None:
    """``CliError`` naming the first flag a profile does not send, before anything is sent.

    The library decides (:meth:`~ails.domain.options.RequestOptions.refuse_unless`);
    the message says it the command line's way.
    """
    profile = Profile.ails() if profile_name == "ails" else Profile.openai("unused")
    options = RequestOptions(**given)
    try:
        options.refuse_unless(profile.accepts_options, profile.name)
    except ValidationError:
        name = flag(options.given[0])
        raise CliError(
            f"{name} is not sent with the {profile_name} profile (its web client never sends "
            "it); use --profile openai with an OpenAI-compatible server, or leave it out"
        ) from None
