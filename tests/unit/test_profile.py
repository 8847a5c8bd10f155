"""Client profiles: the identity a client presents, and header safety."""

from __future__ import annotations

from datetime import timezone

import attrs
import pytest

from ails._version import __version__
from ails.domain.errors import ValidationError
from ails.domain.profile import AILS_CLIENT_VERSION, Profile, check_header
from ails.domain.signing import DEFAULT_SECRET, Signer

NOW_MS = 1_700_000_000_000


class TestAilsProfile:
    def test_sends_the_browser_headers(self) -> None:
        headers = dict(Profile.ails().headers)

        assert headers["accept"] == "*/*"
        assert headers["authorization"] == "Bearer free"
        assert headers["content-type"] == "application/json"
        assert headers["origin"] == "https://ai.ls"
        assert headers["referer"] == "https://ai.ls/"
        assert headers["from-url"] == "https://ai.ls/?chat=1"
        assert "Chrome/" in headers["user-agent"]
        for name in (
            "authority",
            "accept-language",
            "sec-ch-ua",
            "sec-ch-ua-mobile",
            "sec-ch-ua-platform",
            "sec-fetch-dest",
            "sec-fetch-mode",
            "sec-fetch-site",
        ):
            assert headers[name], name

    def test_client_version_and_secret_go_together(self) -> None:
        profile = Profile.ails()

        assert profile.client_version == AILS_CLIENT_VERSION == "0.1.278"
        assert profile.signer == Signer(secret=DEFAULT_SECRET)

    def test_signs_and_sends_a_client_id(self) -> None:
        profile = Profile.ails()

        assert profile.name == "ails"
        assert profile.signer is not None
        assert profile.send_client_id

    def test_secret_and_client_version_can_be_given(self) -> None:
        profile = Profile.ails(secret="new-key", client_version="0.1.300")

        assert profile.client_version == "0.1.300"
        assert profile.signer == Signer(secret="new-key")

    def test_header_names_are_lowercase_and_unique(self) -> None:
        names = [name for name, _ in Profile.ails().headers]

        assert names == [name.lower() for name in names]
        assert len(names) == len(set(names))


class TestWithSecret:
    def test_replaces_secret_and_client_version(self) -> None:
        profile = Profile.ails().with_secret("new-key", "0.1.300")

        assert profile.client_version == "0.1.300"
        assert profile.signer is not None
        assert profile.signer.secret == "new-key"

    def test_keeps_everything_else(self) -> None:
        original = Profile.ails()
        signer = Signer(length="python", tz=timezone.utc)
        profile = attrs.evolve(original, signer=signer).with_secret("new-key", "0.1.300")

        assert profile.headers == original.headers
        assert profile.name == original.name
        assert profile.signer == Signer(secret="new-key", length="python", tz=timezone.utc)

    def test_changes_the_signature(self) -> None:
        old, new = Profile.ails(), Profile.ails().with_secret("new-key", "0.1.300")
        assert old.signer is not None
        assert new.signer is not None

        assert old.signer.sign("x", now_ms=NOW_MS).s != new.signer.sign("x", now_ms=NOW_MS).s

    def test_leaves_the_original_unchanged(self) -> None:
        original = Profile.ails()
        original.with_secret("new-key", "0.1.300")

        assert original == Profile.ails()

    def test_adds_a_signer_to_a_profile_without_one(self) -> None:
        profile = Profile.openai("sk-test").with_secret("new-key", "0.1.300")

        assert profile.signer == Signer(secret="new-key")
        assert profile.client_version == "0.1.300"

    def test_rejects_a_client_version_that_would_break_the_header(self) -> None:
        with pytest.raises(ValidationError, match="'client-v': value contains CR, LF or NUL"):
            Profile.ails().with_secret("new-key", "0.1.300\r\nx-injected: 1")


class TestWithKeyDeprecated:
    def test_warns_and_names_the_new_method(self) -> None:
        with pytest.warns(DeprecationWarning, match=r"with_secret\(\)"):
            Profile.ails().with_key("new-key", "0.1.300")

    def test_still_does_what_with_secret_does(self) -> None:
        with pytest.warns(DeprecationWarning, match="with_secret"):
            old = Profile.ails().with_key("new-key", "0.1.300")

        assert old == Profile.ails().with_secret("new-key", "0.1.300")

    def test_the_warning_points_at_the_caller(self) -> None:
        with pytest.warns(DeprecationWarning, match="with_secret") as caught:
            Profile.ails().with_key("new-key", "0.1.300")

        assert caught[0].filename == __file__


class TestOpenAIProfile:
    def test_sends_honest_standard_headers(self) -> None:
        headers = dict(Profile.openai("sk-test").headers)

        assert headers == {
            "accept": "text/event-stream",
            "authorization": "Bearer sk-test",
            "content-type": "application/json",
            "user-agent": f"ails/{__version__}",
        }

    def test_sends_no_signature_no_client_version_and_no_client_id(self) -> None:
        profile = Profile.openai("sk-test")

        assert profile.name == "openai"
        assert profile.signer is None
        assert profile.client_version is None
        assert not profile.send_client_id

    def test_repr_hides_the_key(self) -> None:
        profile = Profile.openai("sk-very-secret")

        assert "sk-very-secret" not in repr(profile)
        assert "authorization" in repr(profile)
        assert "openai" in repr(profile)

    def test_key_with_a_line_break_is_rejected(self) -> None:
        with pytest.raises(ValidationError, match="'authorization': value contains CR, LF or NUL"):
            Profile.openai("sk-test\r\nx-injected: 1")


class TestCustomProfile:
    def test_headers_may_be_a_mapping(self) -> None:
        profile = Profile(name="custom", headers={"X-Api-Key": "k", "Accept": "*/*"})

        assert profile.headers == (("x-api-key", "k"), ("accept", "*/*"))

    def test_later_duplicate_header_names_win(self) -> None:
        profile = Profile(name="custom", headers=(("Accept", "a"), ("accept", "b")))

        assert profile.headers == (("accept", "b"),)

    def test_defaults(self) -> None:
        profile = Profile(name="custom", headers={})

        assert (profile.client_version, profile.signer, profile.send_client_id) == (
            None,
            None,
            True,
        )

    def test_invalid_header_is_rejected_on_construction(self) -> None:
        with pytest.raises(ValidationError, match="not a valid HTTP token"):
            Profile(name="custom", headers={"bad name": "x"})

    @pytest.mark.parametrize("version", ["0.1\n", "\r", "0\x00"])
    def test_client_version_with_control_characters_is_rejected(self, version: str) -> None:
        with pytest.raises(ValidationError, match="client-v"):
            Profile(name="custom", headers={}, client_version=version)

    def test_non_string_client_version_is_rejected(self) -> None:
        with pytest.raises(ValidationError, match="must be strings"):
            Profile(name="custom", headers={}, client_version=278)  # type: ignore[arg-type]

    def test_repr_lists_header_names_only(self) -> None:
        profile = Profile(name="custom", headers={"x-api-key": "hidden-value"})

        assert repr(profile) == (
            "Profile(name='custom', client_version=None, signer=None, headers=[x-api-key])"
        )


class TestCheckHeader:
    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("accept", "*/*"),
            ("X-Custom_Header.1", ""),
            ("!#$%&'*+-.^_`|~", "ok"),
            ("sec-ch-ua", '"Chromium";v="116"'),
            ("user-agent", "value with spaces\tand a tab"),
            ("x-name", "%D0%9F%D1%80%D0%B8%D0%B2%D0%B5%D1%82"),
        ],
    )
    def test_accepts_valid_headers(self, name: str, value: str) -> None:
        check_header(name, value)  # does not raise

    @pytest.mark.parametrize("value", ["a\rb", "a\nb", "a\r\nx-injected: 1", "a\x00b", "\n"])
    def test_rejects_cr_lf_and_nul_in_values(self, value: str) -> None:
        with pytest.raises(
            ValidationError, match=r"^header 'x-name': value contains CR, LF or NUL"
        ):
            check_header("x-name", value)

    @pytest.mark.parametrize("value", ["a\x0bb", "\x1b[31m", "del\x7f", "bell\x07"])
    def test_rejects_other_control_characters(self, value: str) -> None:
        with pytest.raises(ValidationError, match="value contains a control character"):
            check_header("x-name", value)

    @pytest.mark.parametrize("value", [" lead", "trail ", "\tlead", "trail\t", " "])
    def test_rejects_surrounding_whitespace(self, value: str) -> None:
        with pytest.raises(ValidationError, match="leading or trailing whitespace"):
            check_header("x-name", value)

    @pytest.mark.parametrize("value", ["Привет", "café", "\u00a0", "emoji 😀"])
    def test_rejects_non_ascii_values(self, value: str) -> None:
        # requests would raise UnicodeEncodeError mid-send, httpx too, and
        # aiohttp would send UTF-8 where requests sends Latin-1.
        with pytest.raises(ValidationError, match="value is not ASCII; percent-encode it"):
            check_header("x-name", value)

    def test_never_shows_the_value(self) -> None:
        with pytest.raises(ValidationError) as caught:
            check_header("authorization", "Bearer sk-secret\x0b")
        assert "sk-secret" not in str(caught.value)

    @pytest.mark.parametrize(
        "name",
        ["", "with space", "colon:", ":authority", "tab\t", "cr\r", "lf\n", "nul\x00", "é", "a(b)"],
    )
    def test_rejects_names_that_are_not_http_tokens(self, name: str) -> None:
        with pytest.raises(ValidationError, match="is not a valid HTTP token"):
            check_header(name, "x")

    @pytest.mark.parametrize(("name", "value"), [(b"accept", "x"), ("accept", b"x"), ("a", None)])
    def test_rejects_non_strings(self, name: object, value: object) -> None:
        with pytest.raises(ValidationError, match="names and values must be strings"):
            check_header(name, value)  # type: ignore[arg-type]
