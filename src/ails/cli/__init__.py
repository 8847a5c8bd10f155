"""The ``ails`` command line: one module per subcommand, ``main`` only dispatches.

``chat``/``record`` ask a question, ``sign`` prints a signature, ``serve``
runs the fake server and ``demo`` the offline demo; ``terminal`` holds what
is shown (tokens, JSON lines, the spinner). This is the outermost layer: it
may import everything in ails, and nothing in ails imports it.
"""

from ails.cli.errors import EXIT_ERROR, EXIT_INTERRUPTED
from ails.cli.main import main

__all__ = ["EXIT_ERROR", "EXIT_INTERRUPTED", "main"]
