"""Choosing the identity a client presents: by object, by name, with an API key."""

import pytest

from ails import Client, Profile, ValidationError
from ails.client.settings import resolve_profile
from ails.testing import MockTransport


def _authorization(profile: Profile) -> str:
    return dict(profile.headers)["authorization"]


class TestResolveProfile:
    def test_default_is_the_ails_browser_profile(self):
        assert resolve_profile(None) == Profile.ails()
        assert resolve_profile("ails") == Profile.ails()

    def test_openai_by_name_takes_the_key_argument(self, monkeypatch):
        monkeypatch.setenv("AILS_API_KEY", "from-env")
        profile = resolve_profile("openai", "sk-arg")
        assert profile.name == "openai"
        assert profile.signer is None
        assert _authorization(profile) == "Bearer sk-arg"

    def test_openai_by_name_falls_back_to_the_environment(self, monkeypatch):
        monkeypatch.setenv("AILS_API_KEY", "from-env")
        assert _authorization(resolve_profile("openai")) == "Bearer from-env"

    def test_openai_without_a_key_says_how_to_give_one(self, monkeypatch):
        monkeypatch.delenv("AILS_API_KEY", raising=False)
        with pytest.raises(ValidationError, match="AILS_API_KEY"):
            resolve_profile("openai")

    def test_api_key_overrides_a_given_profiles_authorization(self):
        profile = resolve_profile(Profile.ails(), "sk-x")
        assert _authorization(profile) == "Bearer sk-x"
        assert [name for name, _ in profile.headers].count("authorization") == 1
        assert profile.signer == Profile.ails().signer

    def test_unknown_name_is_rejected(self):
        with pytest.raises(ValidationError, match="'ails' or 'openai'"):
            resolve_profile("anthropic")

    def test_client_accepts_the_profile_name(self, monkeypatch):
        monkeypatch.delenv("AILS_API_KEY", raising=False)
        transport = MockTransport(lambda request: (200, {}, []))
        client = Client(transport, base_url="http://test", profile="openai", api_key="sk-1")
        assert "openai" in repr(client)
        assert "sk-1" not in repr(client)
