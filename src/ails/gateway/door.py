"""The door: which requests the gateway answers at all, decided before any handler runs.

A gateway on 127.0.0.1 needs no key, so anything that can make this
machine send it a request could spend the user's quota. Two such things
are web pages the user visits:

- DNS rebinding: a page on ``attacker.example`` points its own name at
  127.0.0.1 and talks to the gateway as if same-origin; its requests carry
  ``Host: attacker.example``. Only the names of this machine (and those
  given with ``--allow-host``) are answered; an IP literal cannot be
  rebound, so it is answered when it is an address the gateway listens on.
- Cross-origin requests: a page may send a "simple" ``text/plain`` POST to
  any address without asking first. Browsers mark their requests with
  ``Origin`` and ``Sec-Fetch-Site``: another origin is refused unless
  allowed with ``--allow-origin``, and a POST body must be JSON, which a
  page can only send after a CORS preflight the gateway does not grant.

Every refusal is an :class:`~ails.gateway.errors.ErrorAnswer` in the OpenAI
shape that says what to do.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Mapping

import attrs

from ails.gateway.errors import ErrorAnswer

__all__ = ["Door", "host_name"]

#: Names every machine has for itself (RFC 6761 reserves ``localhost``).
_OWN_NAMES = ("localhost", "127.0.0.1", "::1")
#: Addresses that mean "every interface": then any address of the machine may be in Host.
_WILDCARDS = ("", "0.0.0.0", "::")
#: Methods a preflight may ask for, and how long a browser may remember the answer.
_CORS_METHODS = "GET, POST, DELETE, OPTIONS"
_CORS_MAX_AGE = "600"


def host_name(host: str) -> str:
    """The name in a ``Host`` value, lower-cased, without port, brackets or final dot."""
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:8788
        end = host.find("]")
        return host[1:end] if end > 0 else host
    if host.count(":") == 1:  # name:port; a bare IPv6 address has more colons
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


def _machine_name() -> str:
    try:
        return socket.gethostname().lower()
    except OSError:  # no name at all: nothing to add
        return "localhost"


def _to_set(values: Iterable[str]) -> frozenset[str]:
    return frozenset(values)


@attrs.frozen
class Door:
    """Which ``Host`` names and browser origins the gateway answers.

    ``hosts`` are the names beside the machine's own (``localhost``, the
    loopback addresses, its host name and the address it listens on);
    ``origins`` are browser origins (``http://localhost:3000``) allowed to
    call it from a page, ``"*"`` for any.
    """

    hosts: frozenset[str] = attrs.field(default=frozenset(), converter=_to_set)
    origins: frozenset[str] = attrs.field(default=frozenset(), converter=_to_set)
    #: Bound to every interface: any IP literal reached the machine, so it is its own.
    any_address: bool = False

    @classmethod
    def for_listening(
        cls, bound: str, *, allow_hosts: Iterable[str] = (), allow_origins: Iterable[str] = ()
    ) -> Door:
        """The door of a gateway listening on ``bound``, with the flags' extra names."""
        names = {host_name(name) for name in (*_OWN_NAMES, _machine_name(), bound, *allow_hosts)}
        return cls(
            hosts=frozenset(names - {""}),
            origins=frozenset(origin.rstrip("/").lower() for origin in allow_origins),
            any_address=bound in _WILDCARDS,
        )

    def host_allowed(self, host: str | None) -> bool:
        """True if a request with this ``Host`` header is for this machine."""
        if host is None:  # HTTP/1.0 without Host: no browser sends that
            return True
        name = host_name(host)
        if name in self.hosts:
            return True
        address = _ip(name)
        return address is not None and (address.is_loopback or self.any_address)

    def origin_allowed(self, origin: str, host: str | None) -> bool:
        """True if a page from ``origin`` may call the gateway reached at ``host``.

        The gateway's own origin (``http://`` and the ``Host`` it was reached
        at) always may; others only if allowed.
        """
        origin = origin.rstrip("/").lower()
        if host is not None and origin == f"http://{host.strip().lower()}":
            return True
        return "*" in self.origins or origin in self.origins

    def allowed_by_flag(self, origin: str) -> bool:
        """True if ``origin`` was allowed explicitly (it then gets CORS headers)."""
        return "*" in self.origins or origin.rstrip("/").lower() in self.origins

    def refusal(
        self, method: str, headers: Mapping[str, str], *, has_body: bool
    ) -> ErrorAnswer | None:
        """The answer for a request that may not pass, or ``None`` to let it in."""
        host = headers.get("Host")
        if not self.host_allowed(host):
            return ErrorAnswer(
                421,
                f"this gateway does not answer requests for the host {host_name(host or '')!r}: "
                "it serves this machine only (a web page may have pointed its own name at "
                "it); call it as localhost or 127.0.0.1, or start it with --allow-host NAME",
                "invalid_request_error",
                "host_not_allowed",
                headers=(("connection", "close"),),
            )
        origin = headers.get("Origin")
        if origin is not None:
            if not self.origin_allowed(origin, host):
                return ErrorAnswer(
                    403,
                    f"requests from web pages at {origin!r} are refused: a page must not "
                    "spend this gateway's quota; start it with --allow-origin ORIGIN to "
                    "allow one",
                    "invalid_request_error",
                    "origin_not_allowed",
                )
        elif headers.get("Sec-Fetch-Site", "").lower() == "cross-site":
            return ErrorAnswer(
                403,
                "requests from web pages of other sites are refused (Sec-Fetch-Site: "
                "cross-site); start the gateway with --allow-origin ORIGIN to allow one",
                "invalid_request_error",
                "origin_not_allowed",
            )
        if has_body and method == "POST" and not _is_json(headers.get("Content-Type")):
            given = headers.get("Content-Type")
            return ErrorAnswer(
                415,
                f"the request body must be JSON: send Content-Type: application/json "
                f"(got {'none' if given is None else repr(given)})",
                "invalid_request_error",
                "unsupported_media_type",
                headers=(("accept", "application/json"),),
            )
        return None

    def preflight_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """What a CORS preflight from an allowed origin gets."""
        answer = self.cors_headers(headers.get("Origin", ""))
        answer["Access-Control-Allow-Methods"] = _CORS_METHODS
        asked = headers.get("Access-Control-Request-Headers")
        if asked:
            answer["Access-Control-Allow-Headers"] = asked
        answer["Access-Control-Max-Age"] = _CORS_MAX_AGE
        return answer

    def cors_headers(self, origin: str) -> dict[str, str]:
        """The headers that let a page from an allowed ``origin`` read the answer."""
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def _is_json(content_type: str | None) -> bool:
    """``application/json`` or a ``+json`` type, any parameters."""
    if content_type is None:
        return False
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )
