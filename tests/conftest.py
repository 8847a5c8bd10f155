"""Shared test configuration: hypothesis profiles.

``dev`` (the default) keeps the suite quick; ``ci`` (selected when ``CI=true``)
tries more examples. Neither has a deadline: timing on shared CI machines is
noise, and the per-test timeout catches real hangs.
"""

import os

from hypothesis import settings

settings.register_profile("dev", deadline=None, max_examples=100)
settings.register_profile("ci", deadline=None, max_examples=500, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI", "").lower() == "true" else "dev")
