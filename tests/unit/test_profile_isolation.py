"""What only the ai.ls service wants stays in the ``ails`` profile.

The quota-notice check, the ``authority`` header and ``?full=false`` are
fields of the profile: the ``openai`` profile and a custom one get none of
them unless asked. Both profiles accept a ``base_url`` with or without ``/v1``.
"""

from __future__ import annotations

import re

import pytest
from client_support import Driver, mock, ok

from ails import Profile
from ails.domain.chunks import DEFAULT_NOTICE_PATTERN
from ails.errors import ProviderError

URL = "http://127.0.0.1:8787"
OPENAI = Profile.openai("sk-test")


class TestNotices:
    async def test_openai_answer_starting_with_ai_ls_is_answer_text(self, driver: Driver) -> None:
        tokens = ["AI.LS is a Russian chat site", " that fronts a model."]
        transport = mock(ok(*tokens))

        assert await driver.collect(transport, base_url=URL, profile=OPENAI) == tokens

    async def test_openai_by_name_does_not_look_for_notices_either(self, driver: Driver) -> None:
        transport = mock(ok("see ai.ls"))

        got = await driver.collect(transport, base_url=URL, profile="openai", api_key="k")

        assert got == ["see ai.ls"]

    async def test_ails_profile_still_raises_the_notice(self, driver: Driver) -> None:
        error = await driver.fail(mock(ok("Limit reached, come back to ai.ls tomorrow")))

        assert isinstance(error, ProviderError)
        assert error.code == "notice"

    async def test_an_explicit_pattern_applies_to_any_profile(self, driver: Driver) -> None:
        error = await driver.fail(
            mock(ok("QUOTA exceeded")), base_url=URL, profile=OPENAI, notice_pattern="(?i)quota"
        )

        assert isinstance(error, ProviderError)

    async def test_none_disables_the_ails_profile_check(self, driver: Driver) -> None:
        assert await driver.collect(mock(ok("see ai.ls")), notice_pattern=None) == ["see ai.ls"]

    def test_the_pattern_is_a_profile_field(self) -> None:
        assert Profile.ails().notice_pattern is DEFAULT_NOTICE_PATTERN
        assert OPENAI.notice_pattern is None
        assert Profile(name="custom", headers={}).notice_pattern is None

    async def test_a_custom_profile_brings_its_own_pattern(self, driver: Driver) -> None:
        profile = Profile(name="custom", headers={}, notice_pattern=re.compile("quota"))

        error = await driver.fail(mock(ok("quota gone")), base_url=URL, profile=profile)

        assert isinstance(error, ProviderError)


class TestAilsOnlyRequestParts:
    async def test_openai_profile_sends_no_full_false(self, driver: Driver) -> None:
        transport = mock()

        await driver.collect(transport, base_url=URL, profile=OPENAI)

        assert transport.requests[0].url == URL + "/v1/chat/completions"

    async def test_ails_profile_keeps_full_false_and_authority(self, driver: Driver) -> None:
        transport = mock()

        await driver.collect(transport, base_url="http://chat.example.test:8443")

        request = transport.requests[0]
        assert request.url == "http://chat.example.test:8443/v1/chat/completions?full=false"
        assert request.header("authority") == "chat.example.test:8443"

    async def test_a_custom_profile_sends_no_authority_or_query(self, driver: Driver) -> None:
        transport = mock()
        profile = Profile(name="custom", headers={"accept": "*/*"})

        await driver.collect(transport, base_url=URL, profile=profile)

        request = transport.requests[0]
        assert request.url == URL + "/v1/chat/completions"
        assert request.header("authority") is None

    async def test_a_custom_profile_may_opt_in(self, driver: Driver) -> None:
        transport = mock()
        profile = Profile(name="custom", headers={}, query="full=false", authority=True)

        await driver.collect(transport, base_url=URL, profile=profile)

        request = transport.requests[0]
        assert request.url == URL + "/v1/chat/completions?full=false"
        assert request.header("authority") == "127.0.0.1:8787"


class TestBaseUrlSpellings:
    @pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/"])
    async def test_openai_base_url_with_or_without_v1(self, driver: Driver, suffix: str) -> None:
        transport = mock()

        await driver.collect(transport, base_url=URL + suffix, profile=OPENAI)

        assert transport.requests[0].url == URL + "/v1/chat/completions"

    @pytest.mark.parametrize("suffix", ["", "/v1"])
    async def test_ails_base_url_with_or_without_v1(self, driver: Driver, suffix: str) -> None:
        transport = mock()

        await driver.collect(transport, base_url=URL + suffix)

        assert transport.requests[0].url == URL + "/v1/chat/completions?full=false"

    async def test_a_prefix_path_is_kept(self, driver: Driver) -> None:
        transport = mock()

        await driver.collect(transport, base_url="https://gw.example/openai/v1", profile=OPENAI)

        assert transport.requests[0].url == "https://gw.example/openai/v1/chat/completions"

    @pytest.mark.parametrize("base_url", [URL + "/v10", URL + "/api/v1beta"])
    async def test_only_a_whole_v1_segment_is_folded(self, driver: Driver, base_url: str) -> None:
        transport = mock()

        await driver.collect(transport, base_url=base_url, profile=OPENAI)

        assert transport.requests[0].url == base_url + "/v1/chat/completions"
