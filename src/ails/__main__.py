"""``python -m ails``: the same as the ``ails`` command."""

import sys

from ails.cli import main

sys.exit(main())
