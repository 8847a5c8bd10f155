"""A parsed request's options as the keyword arguments of ``AsyncClient.stream``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ails.client.settings import CallOptions

__all__ = ["client_call"]


def client_call(call: Mapping[str, Any]) -> dict[str, Any]:
    """``call`` as keyword arguments for ``AsyncClient.stream``.

    An option the client does not take by name (``tools`` and the like, until
    it does) goes into ``extra_body``, whose keys join the JSON body as sent.
    """
    known = CallOptions.__annotations__
    kwargs = {name: value for name, value in call.items() if name in known}
    extra = {name: value for name, value in call.items() if name not in known}
    if extra:
        kwargs["extra_body"] = {**extra, **(call.get("extra_body") or {})}
    return kwargs
