"""The per-call request options, declared once: their names, checks, and what each changes.

:data:`OPTIONS` is the one declaration. The clients' ``stream()``,
``complete()`` and ``create()`` take these keywords (typed by
:class:`OptionFields`, which a test keeps equal to the declaration), validate
them with :class:`RequestOptions`, and send them as given with the ``openai``
profile. The ai.ls web client never sends them, so a profile that does not
accept options (the ``ails`` one) refuses each by name; ``extra_body`` is the
deliberate way around that, since its keys go into the JSON body whatever
the profile. The gateway reads the same declaration to know which request
fields exist, to check their values, and which it may drop for the ``ails``
profile because they change nothing about the answer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any, TypedDict

import attrs

from ails.domain.errors import ValidationError

__all__ = [
    "NO_OPTIONS",
    "OPTIONS",
    "OPTION_NAMES",
    "Option",
    "OptionFields",
    "RequestOptions",
    "option",
]

Check = Callable[[str, Any], Any]


def _integer(minimum: int | None = None, maximum: int | None = None) -> Check:
    def check(name: str, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"{name} must be an integer, got {type(value).__name__}")
        if minimum is not None and value < minimum:
            raise ValidationError(f"{name} must be at least {minimum}, got {value!r}")
        if maximum is not None and value > maximum:
            raise ValidationError(f"{name} must be at most {maximum}, got {value!r}")
        return value

    return check


def _number(low: float, high: float) -> Check:
    def check(name: str, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError(f"{name} must be a number, got {type(value).__name__}")
        if math.isnan(value) or not low <= value <= high:
            raise ValidationError(f"{name} must be between {low:g} and {high:g}, got {value!r}")
        return value

    return check


def _string(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a string, got {type(value).__name__}")
    return value


def _boolean(name: str, value: Any) -> Any:
    if not isinstance(value, bool):
        raise ValidationError(f"{name} must be true or false, got {type(value).__name__}")
    return value


def _json(name: str, value: Any) -> Any:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{name} must be plain JSON values: {exc}") from None
    return value


def _object(name: str, value: Any) -> Any:
    if not isinstance(value, Mapping):
        raise ValidationError(f"{name} must be an object (a dict), got {type(value).__name__}")
    return _json(name, dict(value))


def _objects(name: str, value: Any) -> Any:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, Mapping) for v in value):
        raise ValidationError(f"{name} must be a list of objects (dicts)")
    return _json(name, [dict(v) for v in value])


def _strings(name: str, value: Any) -> Any:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValidationError(f"{name} must be a list of strings")
    return list(value)


def _stop(name: str, value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return list(value)
    raise ValidationError(f"{name} must be a string or a list of strings")


def _tool_choice(name: str, value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return _object(name, value)
    raise ValidationError(
        f"{name} must be 'auto', 'none', 'required' or an object naming a tool, "
        f"got {type(value).__name__}"
    )


def _one_answer(name: str, value: Any) -> Any:
    value = _integer(1)(name, value)
    if value != 1:
        raise ValidationError(f"{name} must be 1: ails reads one answer per request")
    return value


def _stream_options(name: str, value: Any) -> Any:
    value = _object(name, value)
    include = value.get("include_usage", False)
    if not isinstance(include, bool):
        raise ValidationError(f"{name}.include_usage must be true or false")
    return value


@attrs.frozen
class Option:
    """One request option: its name, how its value is checked, and what it changes.

    ``check(name, value)`` returns the value to send (lists for tuples) or
    raises ``ValidationError``. ``neutral`` options change nothing about the
    answer (who asks, how it is billed or stored): a gateway in front of the
    ``ails`` profile may drop them. ``defaults`` are values equal to leaving
    the option out (OpenAI's defaults), also safe to drop. ``help`` says in a
    line what the option asks for (the ``ails chat`` flags show it); ``words``
    are values a bare word stands for where the value is written as text
    (``--response-format json_object``).
    """

    name: str
    check: Check = attrs.field(repr=False)
    neutral: bool = False
    defaults: tuple[Any, ...] = ()
    help: str = ""
    words: tuple[tuple[str, Any], ...] = ()

    def is_no_op(self, value: Any) -> bool:
        """Whether sending ``value`` changes nothing about the answer."""
        return self.neutral or any(
            value == default and type(value) is type(default) for default in self.defaults
        )


#: Every per-call option, in the order they go on the wire. ``temperature``,
#: ``model``, ``timeout``, ``headers`` and ``extra_body`` are call arguments
#: of their own (see ``ails.client.settings.CallOptions``).
OPTIONS: tuple[Option, ...] = (
    Option("max_tokens", _integer(1), help="the most tokens the answer may have (the older name)"),
    Option(
        "max_completion_tokens",
        _integer(1),
        help="the most tokens the answer may have, reasoning included",
    ),
    Option(
        "top_p",
        _number(0.0, 1.0),
        defaults=(1, 1.0),
        help="nucleus sampling: keep the likeliest tokens up to this total probability (0 to 1)",
    ),
    Option("stop", _stop, help="a text (or a JSON list of up to 4) at which the answer stops"),
    Option(
        "presence_penalty",
        _number(-2.0, 2.0),
        defaults=(0, 0.0),
        help="-2 to 2: above 0 favours tokens not used yet (new topics)",
    ),
    Option(
        "frequency_penalty",
        _number(-2.0, 2.0),
        defaults=(0, 0.0),
        help="-2 to 2: above 0 penalises tokens by how often they were used",
    ),
    Option(
        "seed", _integer(), help="ask for a repeatable answer: the same seed, the same sampling"
    ),
    Option(
        "user",
        _string,
        neutral=True,
        help="a stable id of the end user, for the provider's abuse checks",
    ),
    Option(
        "tools",
        _objects,
        defaults=([],),
        help="the functions the model may call: a JSON list of tool objects",
    ),
    Option(
        "tool_choice",
        _tool_choice,
        defaults=("none",),
        help="which tool to call: a JSON object naming one",
        words=(("auto", "auto"), ("none", "none"), ("required", "required")),
    ),
    Option(
        "parallel_tool_calls",
        _boolean,
        neutral=True,
        help="whether the model may call several tools at once",
    ),
    Option(
        "response_format",
        _object,
        defaults=({"type": "text"},),
        help="the answer's shape: a JSON object, such as a json_schema one",
        words=(("text", {"type": "text"}), ("json_object", {"type": "json_object"})),
    ),
    Option(
        "reasoning_effort",
        _string,
        help="how hard a reasoning model thinks: minimal, low, medium or high",
    ),
    Option("verbosity", _string, help="how long the answer should be: low, medium or high"),
    Option(
        "logprobs",
        _boolean,
        defaults=(False,),
        help="ask for the log probabilities of the answer's tokens",
    ),
    Option(
        "top_logprobs",
        _integer(0, 20),
        defaults=(0,),
        help="0 to 20: how many likeliest tokens to give log probabilities for",
    ),
    Option(
        "logit_bias",
        _object,
        defaults=({},),
        help="a JSON object of token id to bias (-100 to 100)",
    ),
    Option(
        "n", _one_answer, defaults=(1,), help="how many answers to ask for (ails reads one: only 1)"
    ),
    Option(
        "modalities",
        _strings,
        defaults=(["text"],),
        help='the kinds of output asked for: a JSON list such as ["text"]',
    ),
    Option(
        "prediction",
        _object,
        help="predicted output, to speed up an answer mostly known: a JSON object",
    ),
    Option(
        "web_search_options",
        _object,
        help="web search settings, for the models that search: a JSON object",
    ),
    Option(
        "stream_options",
        _stream_options,
        neutral=True,
        help='streaming options: a JSON object such as {"include_usage": true}',
    ),
    Option(
        "prompt_cache_key",
        _string,
        neutral=True,
        help="a key that groups requests sharing a prompt, for the provider's cache",
    ),
    Option(
        "safety_identifier",
        _string,
        neutral=True,
        help="a stable, hashed id of the end user, for the provider's safety checks",
    ),
    Option(
        "service_tier",
        _string,
        neutral=True,
        help="the provider's processing tier: auto, default, flex, priority...",
    ),
    Option(
        "store",
        _boolean,
        neutral=True,
        help="whether the provider keeps the completion (for its evals and distillation)",
    ),
    Option(
        "metadata",
        _object,
        neutral=True,
        help="a JSON object of string tags the provider keeps with a stored completion",
    ),
)

#: The options' names, in the order they go on the wire.
OPTION_NAMES = tuple(option.name for option in OPTIONS)
_BY_NAME = {option.name: option for option in OPTIONS}

# extra_body may not turn streaming off: every answer is read as a stream.
_RESERVED_EXTRA = frozenset({"stream"})


class OptionFields(TypedDict, total=False):
    """The options as keyword arguments, typed: its keys are :data:`OPTION_NAMES`.

    A test keeps the two equal; the clients' ``CallOptions`` adds ``model``,
    ``temperature``, ``extra_body``, ``timeout`` and ``headers``.
    """

    max_tokens: int | None
    max_completion_tokens: int | None
    top_p: float | None
    stop: str | list[str] | None
    presence_penalty: float | None
    frequency_penalty: float | None
    seed: int | None
    user: str | None
    tools: list[dict[str, Any]] | None
    tool_choice: str | dict[str, Any] | None
    parallel_tool_calls: bool | None
    response_format: dict[str, Any] | None
    reasoning_effort: str | None
    verbosity: str | None
    logprobs: bool | None
    top_logprobs: int | None
    logit_bias: dict[str, float] | None
    n: int | None
    modalities: list[str] | None
    prediction: dict[str, Any] | None
    web_search_options: dict[str, Any] | None
    stream_options: dict[str, Any] | None
    prompt_cache_key: str | None
    safety_identifier: str | None
    service_tier: str | None
    store: bool | None
    metadata: dict[str, str] | None


def _to_extra_body(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValidationError(f"extra_body must be a dict, got {type(value).__name__}")
    extra = dict(value)
    for key in extra:
        if not isinstance(key, str):
            raise ValidationError(f"extra_body keys must be strings, got {key!r}")
    reserved = sorted(_RESERVED_EXTRA.intersection(extra))
    if reserved:
        raise ValidationError(
            f"extra_body may not set {', '.join(map(repr, reserved))}: ails always streams"
        )
    _json("extra_body", extra)
    return extra


@attrs.frozen(init=False)
class RequestOptions:
    """The optional OpenAI request fields of one call, checked; ``None`` means not sent.

    ``RequestOptions(max_tokens=100, tools=[...])`` takes the names of
    :data:`OPTIONS` (an unknown name is a ``TypeError``, as for any
    function). ``extra_body`` is merged into the JSON body last, as
    openai-python does: it may add any field (even one these options would
    set), but not ``stream``.
    """

    #: The options given, checked, in wire order.
    values: Mapping[str, Any]
    extra_body: dict[str, Any] | None

    def __init__(self, *, extra_body: Mapping[str, Any] | None = None, **options: Any) -> None:
        unknown = sorted(set(options) - _BY_NAME.keys())
        if unknown:
            raise TypeError(f"unexpected keyword argument(s): {', '.join(unknown)}")
        values = {
            name: _BY_NAME[name].check(name, options[name])
            for name in OPTION_NAMES
            if options.get(name) is not None
        }
        self.__attrs_init__(values, _to_extra_body(extra_body))

    def get(self, name: str) -> Any:
        """The value given for option ``name``, or ``None``."""
        return self.values.get(name)

    @property
    def given(self) -> tuple[str, ...]:
        """The names of the options set (``extra_body`` aside)."""
        return tuple(self.values)

    @property
    def wants_usage(self) -> bool:
        """True if the call asks for ``stream_options.include_usage`` (or ``extra_body`` does)."""
        stream_options = self.values.get("stream_options")
        if stream_options is None:
            stream_options = (self.extra_body or {}).get("stream_options")
        return isinstance(stream_options, dict) and stream_options.get("include_usage") is True

    def add_to(self, body: dict[str, Any]) -> None:
        """Put the given options, then ``extra_body``, into a JSON body."""
        body.update(self.values)
        if self.extra_body:
            body.update(self.extra_body)

    def refuse_unless(self, accepted: bool, profile_name: str) -> None:
        """Raise ``ValidationError`` naming the first option a profile does not send."""
        if accepted or not self.values:
            return
        name = self.given[0]
        raise ValidationError(
            f"{name} is not sent with the {profile_name!r} profile (its web client never "
            f"sends it); use profile='openai' for an OpenAI-compatible server, or pass "
            f"extra_body={{{name!r}: ...}} to send it anyway"
        )


#: No options: what a call without any gets.
NO_OPTIONS = RequestOptions()


def option(name: str) -> Option:
    """The declaration of option ``name`` (``KeyError`` for a name that is not one)."""
    return _BY_NAME[name]
