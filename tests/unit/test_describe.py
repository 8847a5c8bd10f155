"""``describe``: every kind of failure gets its own sentence, with the advice that fits it.

Pure and exhaustive over the reasons and timeouts, so the domain's coverage
gate holds without a socket; the transports' own tests check that they pass
these facts.
"""

from __future__ import annotations

import pytest

from ails.domain.error_messages import PLAIN_HTTP_HINT, describe

URL = "http://127.0.0.1:9/v1"


class TestTimeouts:
    def test_the_total_deadline_names_its_seconds(self) -> None:
        text = describe(timeout="total", seconds=2.5, url=URL)
        assert "total timeout of 2.5 s" in text
        assert "Timeout(total=...)" in text

    @pytest.mark.parametrize(
        ("phase", "where"),
        [("read", "while reading from"), ("head", "before the response head from")],
    )
    def test_the_total_deadline_without_seconds_says_when_it_ran_out(
        self, phase: str, where: str
    ) -> None:
        assert f"{where} {URL}" in describe(timeout="total", phase=phase, url=URL)

    def test_a_connect_timeout_while_resolving_blames_dns(self) -> None:
        text = describe(timeout="connect", phase="dns", host="example.invalid", seconds=3, url=URL)
        assert "resolving the host name 'example.invalid'" in text
        assert "3 s" in text
        assert "DNS" in text

    def test_a_connect_timeout_asks_whether_the_server_is_up(self) -> None:
        text = describe(timeout="connect", seconds=1, url=URL)
        assert text.startswith(f"connecting to {URL} timed out after 1 s")

    def test_a_head_timeout_suggests_the_idle_limit(self) -> None:
        text = describe(timeout="head", seconds=4, url=URL)
        assert "did not arrive within 4 s" in text
        assert "Timeout(idle=...)" in text

    def test_an_idle_timeout_without_seconds_says_unlimited(self) -> None:
        assert "no data from the server for unlimited" in describe(timeout="idle")


class TestReasons:
    def test_an_unresolved_name_names_the_host_and_the_cause(self) -> None:
        text = describe(reason="unresolved", host="nohost", detail="Name or service not known")
        assert "cannot resolve the host name 'nohost'" in text
        assert ": Name or service not known" in text

    def test_a_refused_connection_points_at_base_url(self) -> None:
        assert "check base_url" in describe(reason="refused", url=URL)

    def test_a_proxy_failure_points_at_the_proxy(self) -> None:
        assert "check the proxy settings" in describe(reason="proxy", url=URL)

    def test_tls_answered_in_plain_http_gets_the_hint(self) -> None:
        assert describe(reason="plain_http", url=URL).endswith(PLAIN_HTTP_HINT)

    @pytest.mark.parametrize(("setting", "option"), [(None, "verify"), ("ssl", "ssl")])
    def test_a_tls_failure_names_the_transports_option(
        self, setting: str | None, option: str
    ) -> None:
        text = describe(reason="tls", setting=setting, url=URL)
        assert f"pass {option}= a CA bundle" in text
        assert f"{option}=False" in text

    @pytest.mark.parametrize(
        ("detail", "sent"),
        [("", "did not answer with HTTP;"), ("b'SSH-2.0'", "(it sent b'SSH-2.0')")],
    )
    def test_a_server_that_is_not_http_says_what_came(self, detail: str, sent: str) -> None:
        text = describe(reason="not_http", detail=detail, url=URL)
        assert sent in text
        assert "right host, port and scheme" in text

    @pytest.mark.parametrize(
        ("detail", "end"),
        [("", "before the end of the body"), ("inside a chunk", "inside a chunk")],
    )
    def test_a_cut_body_says_where(self, detail: str, end: str) -> None:
        assert describe(reason="cut", detail=detail, url=URL).endswith(end)

    def test_an_undecodable_body_keeps_the_cause(self) -> None:
        assert describe(reason="undecodable", detail="bad gzip").endswith(": bad gzip")

    def test_a_compressed_body_cut_short(self) -> None:
        assert "middle of its compressed data" in describe(reason="compressed_cut")

    @pytest.mark.parametrize(
        ("detail", "what"), [("", "broken framing"), ("a bad chunk size", "a bad chunk size")]
    )
    def test_broken_framing_asks_whether_it_is_http(self, detail: str, what: str) -> None:
        assert f"has {what}; is it really HTTP/1.1?" in describe(reason="framing", detail=detail)

    def test_anything_else_keeps_the_librarys_words(self) -> None:
        text = describe(reason="broken", detail="reset by peer", url=URL)
        assert (
            text == f"the connection to {URL} failed: reset by peer; check base_url and the network"
        )
