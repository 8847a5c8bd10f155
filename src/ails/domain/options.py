"""The per-call request options, declared once: their names, checks, and what each changes.

:data:`OPTIONS` is the one declaration (each value's check is in
:mod:`ails.domain.option_checks`). The clients' ``stream()``,
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

from collections.abc import Mapping
from typing import Any, TypedDict

import attrs

from ails.domain import option_checks as checks
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
    check: checks.Check = attrs.field(repr=False)
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
    Option(
        "max_tokens", checks.integer(1), help="the most tokens the answer may have (the older name)"
    ),
    Option(
        "max_completion_tokens",
        checks.integer(1),
        help="the most tokens the answer may have, reasoning included",
    ),
    Option(
        "top_p",
        checks.number(0.0, 1.0),
        defaults=(1, 1.0),
        help="nucleus sampling: keep the likeliest tokens up to this total probability (0 to 1)",
    ),
    Option(
        "stop", checks.stop, help="a text (or a JSON list of up to 4) at which the answer stops"
    ),
    Option(
        "presence_penalty",
        checks.number(-2.0, 2.0),
        defaults=(0, 0.0),
        help="-2 to 2: above 0 favours tokens not used yet (new topics)",
    ),
    Option(
        "frequency_penalty",
        checks.number(-2.0, 2.0),
        defaults=(0, 0.0),
        help="-2 to 2: above 0 penalises tokens by how often they were used",
    ),
    Option(
        "seed",
        checks.integer(),
        help="ask for a repeatable answer: the same seed, the same sampling",
    ),
    Option(
        "user",
        checks.string,
        neutral=True,
        help="a stable id of the end user, for the provider's abuse checks",
    ),
    Option(
        "tools",
        checks.json_objects,
        defaults=([],),
        help="the functions the model may call: a JSON list of tool objects",
    ),
    Option(
        "tool_choice",
        checks.tool_choice,
        defaults=("none",),
        help="which tool to call: a JSON object naming one",
        words=(("auto", "auto"), ("none", "none"), ("required", "required")),
    ),
    Option(
        "parallel_tool_calls",
        checks.boolean,
        neutral=True,
        help="whether the model may call several tools at once",
    ),
    Option(
        "response_format",
        checks.json_object,
        defaults=({"type": "text"},),
        help="the answer's shape: a JSON object, such as a json_schema one",
        words=(("text", {"type": "text"}), ("json_object", {"type": "json_object"})),
    ),
    Option(
        "reasoning_effort",
        checks.string,
        help="how hard a reasoning model thinks: minimal, low, medium or high",
    ),
    Option("verbosity", checks.string, help="how long the answer should be: low, medium or high"),
    Option(
        "logprobs",
        checks.boolean,
        defaults=(False,),
        help="ask for the log probabilities of the answer's tokens",
    ),
    Option(
        "top_logprobs",
        checks.integer(0, 20),
        defaults=(0,),
        help="0 to 20: how many likeliest tokens to give log probabilities for",
    ),
    Option(
        "logit_bias",
        checks.json_object,
        defaults=({},),
        help="a JSON object of token id to bias (-100 to 100)",
    ),
    Option(
        "n",
        checks.one_answer,
        defaults=(1,),
        help="how many answers to ask for (ails reads one: only 1)",
    ),
    Option(
        "modalities",
        checks.strings,
        defaults=(["text"],),
        help='the kinds of output asked for: a JSON list such as ["text"]',
    ),
    Option(
        "prediction",
        checks.json_object,
        help="predicted output, to speed up an answer mostly known: a JSON object",
    ),
    Option(
        "web_search_options",
        checks.json_object,
        help="web search settings, for the models that search: a JSON object",
    ),
    Option(
        "stream_options",
        checks.stream_options,
        neutral=True,
        help='streaming options: a JSON object such as {"include_usage": true}',
    ),
    Option(
        "prompt_cache_key",
        checks.string,
        neutral=True,
        help="a key that groups requests sharing a prompt, for the provider's cache",
    ),
    Option(
        "safety_identifier",
        checks.string,
        neutral=True,
        help="a stable, hashed id of the end user, for the provider's safety checks",
    ),
    Option(
        "service_tier",
        checks.string,
        neutral=True,
        help="the provider's processing tier: auto, default, flex, priority...",
    ),
    Option(
        "store",
        checks.boolean,
        neutral=True,
        help="whether the provider keeps the completion (for its evals and distillation)",
    ),
    Option(
        "metadata",
        checks.json_object,
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
    checks.plain_json("extra_body", extra)
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
