"""The request signature: golden vectors from the browser client, and properties."""

from __future__ import annotations

import hashlib
import time
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ails.domain.errors import ValidationError
from ails.domain.profile import Profile
from ails.domain.signing import (
    DEFAULT_SECRET,
    Signature,
    Signer,
    format_timestamp,
    js_length,
    js_utf8,
)

NOW_MS = 1_700_000_000_000
UTC_PLUS_3 = timezone(timedelta(hours=3))
OLD_SECRET = "OVbi[TPN{S#)c{36%9?g;usl)CL"  # went with client-v 0.1.26 to 0.1.29


def reference_js_utf8(text: str) -> bytes:
    """UTF-8 as the browser's TextEncoder makes it, written out code unit by unit.

    Python strings may hold surrogates as separate code points: a high one
    followed by a low one is one character to JavaScript; any other is
    replaced by U+FFFD.
    """
    out: list[str] = []
    i = 0
    while i < len(text):
        unit = ord(text[i])
        following = ord(text[i + 1]) if i + 1 < len(text) else 0
        if 0xD800 <= unit <= 0xDBFF and 0xDC00 <= following <= 0xDFFF:
            out.append(chr(0x10000 + ((unit - 0xD800) << 10) + (following - 0xDC00)))
            i += 2
            continue
        out.append("\ufffd" if 0xD800 <= unit <= 0xDFFF else text[i])
        i += 1
    return "".join(out).encode("utf-8")


def reference_utf16_units(text: str) -> int:
    return sum(2 if ord(char) > 0xFFFF else 1 for char in text)


def reference_hash(text: str, t: str, secret: str = DEFAULT_SECRET) -> str:
    message = f"{t}:{text}:{secret}:{reference_utf16_units(text)}"
    return hashlib.sha256(reference_js_utf8(message)).hexdigest()


# Any text, lone and paired surrogates included (JavaScript strings may hold them).
texts = st.text(
    st.characters(exclude_categories=())
    | st.sampled_from(["\ud83d", "\ude00", "😀", "é", "Ж", "\x00", ":"]),
    max_size=30,
)


class TestGoldenVectors:
    def test_cyrillic(self) -> None:
        signature = Signer().sign("Привет", now_ms=NOW_MS, tz=timezone.utc)

        assert signature == Signature(
            d="2023-11-14",
            t="1700000000001",
            s="516be8e93b284395416973afad1eccd8fce9ceb6df5267909c6b320adbc888a1",
        )

    def test_emoji_counts_as_two_utf16_units(self) -> None:
        signature = Signer().sign("hi😀", now_ms=NOW_MS, tz=timezone.utc)

        assert signature.t == "1700000000001"
        assert signature.s == "79f4dba19c258f16d421b8915ba158d4127100106cc47bc21c0f805e717fb08c"

    def test_date_is_utc_date_in_utc(self) -> None:
        assert Signer().sign("x", now_ms=NOW_MS, tz=timezone.utc).d == "2023-11-14"

    def test_date_is_the_local_date_in_utc_plus_3(self) -> None:
        assert Signer().sign("x", now_ms=NOW_MS, tz=UTC_PLUS_3).d == "2023-11-15"

    def test_date_does_not_change_the_hash(self) -> None:
        utc = Signer().sign("Привет", now_ms=NOW_MS, tz=timezone.utc)
        moscow = Signer().sign("Привет", now_ms=NOW_MS, tz=UTC_PLUS_3)

        assert utc.s == moscow.s
        assert utc.d != moscow.d

    def test_reference_computation_agrees_with_the_golden_vectors(self) -> None:
        # Guards the reference used by the property tests below.
        assert reference_hash("Привет", "1700000000001") == (
            "516be8e93b284395416973afad1eccd8fce9ceb6df5267909c6b320adbc888a1"
        )
        assert reference_hash("hi😀", "1700000000001") == (
            "79f4dba19c258f16d421b8915ba158d4127100106cc47bc21c0f805e717fb08c"
        )


class TestFormatTimestamp:
    @pytest.mark.parametrize(
        ("now_ms", "expected"),
        [
            (1700000000000, "1700000000001"),
            (1700000000007, "1700000000007"),
            (1700000000008, "1700000000009"),
            (1700000000009, "1700000000009"),
            (1700000000004, "1700000000005"),
            (0, "1"),
        ],
    )
    def test_examples(self, now_ms: int, expected: str) -> None:
        assert format_timestamp(now_ms) == expected

    @given(st.integers(min_value=0, max_value=10**15))
    def test_last_digit_is_odd_and_at_most_one_ms_later(self, now_ms: int) -> None:
        t = format_timestamp(now_ms)

        assert t[-1] in "13579"
        assert int(t) - now_ms in (0, 1)

    @given(st.integers(min_value=0, max_value=10**15))
    def test_matches_the_formula_of_the_browser_client(self, now_ms: int) -> None:
        n = now_ms % 10
        expected = now_ms - n + (n + 1 if n % 2 == 0 else n)

        assert format_timestamp(now_ms) == str(expected)


class TestJsLength:
    @pytest.mark.parametrize(
        ("text", "length"),
        [
            ("", 0),
            ("abc", 3),
            ("Привет", 6),
            ("😀", 2),
            ("hi😀", 4),
            ("\U0010ffff", 2),
            ("\ud800", 1),
            ("\ud83d\ude00", 2),
            ("e\u0301", 2),
        ],
    )
    def test_counts_utf16_code_units(self, text: str, length: int) -> None:
        assert js_length(text) == length

    @given(texts)
    def test_matches_the_reference(self, text: str) -> None:
        assert js_length(text) == reference_utf16_units(text)


class TestJsUtf8:
    def test_valid_text_is_plain_utf8(self) -> None:
        assert js_utf8("Привет 😀") == "Привет 😀".encode()

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("\ud800", "\ufffd"),
            ("\udfffz", "\ufffdz"),
            ("a\udc00b", "a\ufffdb"),
            ("\udc00\ud800", "\ufffd\ufffd"),
            ("\ud800\ud800\udc00", "\ufffd\U00010000"),
        ],
    )
    def test_lone_surrogate_becomes_replacement_character(self, text: str, expected: str) -> None:
        assert js_utf8(text) == expected.encode()

    def test_surrogate_pair_becomes_its_character(self) -> None:
        assert js_utf8("\ud83d\ude00") == "😀".encode()

    def test_character_after_a_lone_high_surrogate_is_kept(self) -> None:
        assert js_utf8("\ud800a") == "\ufffda".encode()

    @given(texts)
    def test_matches_the_reference(self, text: str) -> None:
        assert js_utf8(text) == reference_js_utf8(text)


class TestSigner:
    def test_lone_surrogate_is_hashed_as_replacement_character(self) -> None:
        signer = Signer()

        lone = signer.sign("a\ud800", now_ms=NOW_MS, tz=timezone.utc)

        assert lone == signer.sign("a\ufffd", now_ms=NOW_MS, tz=timezone.utc)

    def test_python_length_differs_for_text_outside_the_bmp(self) -> None:
        browser = Signer().sign("hi😀", now_ms=NOW_MS, tz=timezone.utc)
        python = Signer(length="python").sign("hi😀", now_ms=NOW_MS, tz=timezone.utc)

        legacy_input = f"1700000000001:hi😀:{DEFAULT_SECRET}:3".encode()  # len() is 3
        assert python.s != browser.s
        assert python.s == hashlib.sha256(legacy_input).hexdigest()

    def test_python_length_agrees_for_bmp_text(self) -> None:
        browser = Signer().sign("Привет", now_ms=NOW_MS, tz=timezone.utc)
        python = Signer(length="python").sign("Привет", now_ms=NOW_MS, tz=timezone.utc)

        assert python == browser

    def test_secret_changes_the_hash(self) -> None:
        default = Signer().sign("x", now_ms=NOW_MS, tz=timezone.utc)
        other = Signer(secret=OLD_SECRET).sign("x", now_ms=NOW_MS, tz=timezone.utc)

        assert default.s != other.s
        assert other.s == reference_hash("x", "1700000000001", OLD_SECRET)

    def test_injected_clock_and_time_zone_are_used(self) -> None:
        signer = Signer(clock=lambda: NOW_MS, tz=UTC_PLUS_3)

        assert signer.sign("Привет") == Signature(
            d="2023-11-15",
            t="1700000000001",
            s="516be8e93b284395416973afad1eccd8fce9ceb6df5267909c6b320adbc888a1",
        )

    def test_arguments_override_the_injected_clock_and_time_zone(self) -> None:
        signer = Signer(clock=lambda: 0, tz=UTC_PLUS_3)

        signature = signer.sign("x", now_ms=NOW_MS, tz=timezone.utc)

        assert (signature.d, signature.t) == ("2023-11-14", "1700000000001")

    def test_date_is_taken_at_the_instant_not_rounded(self) -> None:
        # 23:59:59.999 UTC is still the same day; t rounds up to ...999 only.
        last_ms = int(datetime(2023, 11, 14, 23, 59, 59, tzinfo=timezone.utc).timestamp()) * 1000
        signature = Signer().sign("x", now_ms=last_ms + 999, tz=timezone.utc)

        assert signature.d == "2023-11-14"

    def test_default_clock_is_the_wall_clock_and_default_zone_is_local(self) -> None:
        before = time.time_ns() // 1_000_000
        signature = Signer().sign("x")
        after = time.time_ns() // 1_000_000

        assert before <= int(signature.t) <= after + 1
        local = datetime.fromtimestamp(int(signature.t) // 1000).strftime("%Y-%m-%d")
        assert signature.d == local

    def test_signature_to_dict(self) -> None:
        signature = Signature(d="2023-11-14", t="1", s="ab")

        assert signature.to_dict() == {"d": "2023-11-14", "t": "1", "s": "ab"}

    def test_non_string_content_raises_validation_error(self) -> None:
        with pytest.raises(ValidationError, match="content must be a string, got bytes"):
            Signer().sign(b"x")  # type: ignore[arg-type]

    @pytest.mark.parametrize("secret", ["", None, 42])
    def test_empty_or_non_string_secret_is_rejected(self, secret: object) -> None:
        with pytest.raises(ValidationError, match="secret must be a non-empty string"):
            Signer(secret=secret)  # type: ignore[arg-type]

    def test_unknown_length_mode_is_rejected(self) -> None:
        with pytest.raises(ValidationError, match="'utf16' or 'python'"):
            Signer(length="utf8")  # type: ignore[arg-type]

    def test_secret_is_absent_from_repr(self) -> None:
        signer = Signer(secret="s3cr3t-key")

        assert "s3cr3t-key" not in repr(signer)
        assert DEFAULT_SECRET not in repr(Signer())
        assert "utf16" in repr(signer)

    def test_secret_is_absent_from_the_profile_repr(self) -> None:
        profile = Profile.ails(secret="s3cr3t-key")

        assert "s3cr3t-key" not in repr(profile)
        assert "s3cr3t-key" not in str(profile)

    @given(text=texts, now_ms=st.integers(min_value=0, max_value=4_102_444_800_000))
    def test_hash_matches_an_independent_reference(self, text: str, now_ms: int) -> None:
        signature = Signer().sign(text, now_ms=now_ms, tz=timezone.utc)

        assert signature.s == reference_hash(text, format_timestamp(now_ms))

    @given(text=texts, now_ms=st.integers(min_value=0, max_value=4_102_444_800_000))
    def test_output_shape(self, text: str, now_ms: int) -> None:
        signature = Signer().sign(text, now_ms=now_ms, tz=timezone.utc)

        assert len(signature.s) == 64
        assert set(signature.s) <= set("0123456789abcdef")
        epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
        assert signature.d == (epoch + timedelta(milliseconds=now_ms)).date().isoformat()
