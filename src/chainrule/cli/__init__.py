"""The ``chainrule`` command: its parser and subcommands, built on the estimators.

``main.py`` parses and dispatches; ``train.py`` is ``chainrule train`` (fit, report,
publish); ``_loop.py`` its epochs; ``_guards.py`` the size and path checks made before
any work.
"""

from .main import ACTIVATIONS, LOSSES, UsageError, build_network, build_parser, main

__all__ = ["ACTIVATIONS", "LOSSES", "UsageError", "build_network", "build_parser", "main"]
