"""Signature and Signer are plain immutable values, cheap to import on their own."""

from __future__ import annotations

import subprocess
import sys
from datetime import timezone

import pytest

from ails import Signature, Signer, ValidationError


class TestSignatureValue:
    def test_equal_and_hashable_by_its_fields(self):
        one, same = Signature("2023-11-14", "1", "ab"), Signature("2023-11-14", "1", "ab")
        assert one == same
        assert hash(one) == hash(same)
        assert one != Signature("2023-11-14", "3", "ab")
        assert one != ("2023-11-14", "1", "ab")

    def test_immutable(self):
        signature = Signature("d", "t", "s")
        with pytest.raises(AttributeError, match="immutable"):
            signature.s = "forged"
        with pytest.raises(AttributeError, match="immutable"):
            del signature.d

    def test_repr_names_the_fields(self):
        assert repr(Signature("d", "t", "s")) == "Signature(d='d', t='t', s='s')"


class TestSignerValue:
    def test_equality_covers_every_setting(self):
        clock = lambda: 1  # noqa: E731 - one shared callable for both signers
        assert Signer(clock=clock) == Signer(clock=clock)
        assert hash(Signer(clock=clock)) == hash(Signer(clock=clock))
        assert Signer(clock=clock) != Signer(secret="other", clock=clock)
        assert Signer(clock=clock) != Signer(length="python", clock=clock)
        assert Signer() != "Signer()"

    def test_immutable(self):
        with pytest.raises(AttributeError, match="immutable"):
            Signer().secret = "leak"

    def test_replace_keeps_length_clock_and_zone(self):
        base = Signer(length="python", clock=lambda: 1700000000000, tz=timezone.utc)
        other = base.replace(secret="new key")
        assert (other.length, other.clock, other.tz) == (base.length, base.clock, base.tz)
        assert other.secret == "new key"
        assert other.sign("hi") != base.sign("hi")
        assert base.replace() == base

    @pytest.mark.parametrize("now_ms", [1.5, True, -1, 10**20, "1700000000000"])
    def test_now_ms_must_be_a_representable_int(self, now_ms):
        with pytest.raises(ValidationError, match="now_ms"):
            Signer().sign("hi", now_ms=now_ms)


def test_importing_the_signer_pulls_in_no_http_library_structlog_or_attrs():
    code = (
        "import sys, ails.domain.signing; "
        "print(sorted(m for m in ('requests', 'aiohttp', 'structlog', 'attrs', 'attr') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
