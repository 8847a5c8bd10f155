"""The conformance kit explains its failures in a user's project, not only in ours.

pytest shows both sides of a failed ``assert`` only in modules it rewrites;
the kit is an installed package, so it marks its modules for rewriting. This
runs the kit the way a user does (a test file in a fresh folder, ``python -m
pytest`` in a subprocess) on a deliberately broken transport, and reads the
report.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

USER_TEST = textwrap.dedent(
    '''
    import ails.errors
    from ails.testing.conformance import SyncTransportContract
    from ails.transports.requests_transport import RequestsTransport


    class MislabellingTransport:
        """Reports a refused connection as a plain TransportError: the bug to explain."""

        def __init__(self):
            self._inner = RequestsTransport()

        def send(self, request):
            try:
                return self._inner.send(request)
            except ails.errors.ConnectError as exc:
                raise ails.errors.TransportError(str(exc)) from None

        def close(self):
            self._inner.close()


    class TestMyTransport(SyncTransportContract):
        def make_transport(self):
            return MislabellingTransport()
    '''
)


def test_a_failing_case_names_the_expected_and_the_received_error(tmp_path):
    (tmp_path / "test_my_transport.py").write_text(USER_TEST, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-k",
            "test_connection_refused_is_a_connect_error",
            "test_my_transport.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 1, report  # one case ran, and it failed
    assert "1 failed" in report, report
    explained = [line for line in report.splitlines() if line.startswith("E       assert ")]
    assert explained, f"a bare AssertionError, not both sides:\n{report}"
    assert "ails.errors.TransportError" in explained[0], report
    assert "ails.errors.ConnectError" in explained[0], report
    assert "PytestAssertRewriteWarning" not in report, report
