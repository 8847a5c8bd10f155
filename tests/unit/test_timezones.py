"""Time zones by name: the signer and ``ails sign --tz`` accept the same spellings."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta, timezone

import pytest

from ails.cli import main
from ails.domain.errors import ValidationError
from ails.domain.signing import Signer
from ails.domain.timezones import parse_tz

NOW_MS = 1_700_000_000_000  # 2023-11-14 22:13:20 UTC


class TestParseTz:
    @pytest.mark.parametrize("name", ["UTC", "utc", "Z", " UTC "])
    def test_utc(self, name):
        assert parse_tz(name) is timezone.utc

    @pytest.mark.parametrize(
        ("text", "offset"),
        [
            ("+03:00", timedelta(hours=3)),
            ("+0300", timedelta(hours=3)),
            ("+03", timedelta(hours=3)),
            ("+3", timedelta(hours=3)),
            ("-0530", -timedelta(hours=5, minutes=30)),
            ("-05:30", -timedelta(hours=5, minutes=30)),
            ("+23:59", timedelta(hours=23, minutes=59)),
        ],
    )
    def test_fixed_offsets(self, text, offset):
        assert parse_tz(text) == timezone(offset)

    def test_iana_names(self):
        zone = parse_tz("Europe/Moscow")
        assert str(zone) == "Europe/Moscow"

    def test_a_tzinfo_passes_through(self):
        zone = timezone(timedelta(hours=3))
        assert parse_tz(zone) is zone

    @pytest.mark.parametrize("text", ["Mars/Olympus", "", "+", "+3:0:0", "+ab", "+²", "/etc"])
    def test_unknown_spellings_name_the_ones_that_work(self, text):
        with pytest.raises(ValidationError) as info:
            parse_tz(text)
        assert str(info.value) == (
            f"unknown time zone {text!r}; use UTC, an offset such as +03:00, "
            "or an IANA name such as Europe/Moscow"
        )

    @pytest.mark.parametrize("text", ["+24:00", "-12:60", "+2400"])
    def test_offsets_out_of_range(self, text):
        with pytest.raises(ValidationError, match="out of range; offsets run from -23:59"):
            parse_tz(text)

    def test_other_types_are_a_validation_error(self):
        with pytest.raises(ValidationError, match=r"tz must be a datetime\.tzinfo or a string"):
            parse_tz(3)  # type: ignore[arg-type]


class TestSignerSpellings:
    @pytest.mark.parametrize(
        ("tz", "day"),
        [("UTC", "2023-11-14"), ("+03:00", "2023-11-15"), ("Europe/Moscow", "2023-11-15")],
    )
    def test_sign_accepts_names(self, tz, day):
        assert Signer().sign("x", now_ms=NOW_MS, tz=tz).d == day

    def test_the_constructor_accepts_names_and_stores_a_tzinfo(self):
        signer = Signer(clock=lambda: NOW_MS, tz="+03:00")
        assert signer.tz == timezone(timedelta(hours=3))
        assert signer.sign("x").d == "2023-11-15"

    def test_an_unknown_name_is_a_validation_error_not_a_type_error(self):
        with pytest.raises(ValidationError, match="unknown time zone 'Mars/Olympus'"):
            Signer().sign("x", now_ms=NOW_MS, tz="Mars/Olympus")

    @pytest.mark.parametrize("tz", ["UTC", "+03:00", "-0530", "Europe/Moscow", "Asia/Tokyo"])
    def test_the_cli_and_the_signer_agree(self, tz, capsys):
        assert main(["sign", "Привет", "--timestamp", str(NOW_MS), "--tz", tz]) == 0
        d = capsys.readouterr().out.splitlines()[0]
        assert d == f"d={Signer().sign('Привет', now_ms=NOW_MS, tz=tz).d}"


def test_zoneinfo_is_imported_only_when_a_name_needs_it():
    code = (
        "import sys, ails.domain.signing as s; before = 'zoneinfo' in sys.modules; "
        "s.Signer().sign('x', now_ms=0, tz='+03:00'); fixed = 'zoneinfo' in sys.modules; "
        "s.Signer().sign('x', now_ms=0, tz='Europe/Moscow'); print(before, fixed, "
        "'zoneinfo' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "True"]
