"""``python -m chainrule``: the command (chainrule.cli.main)."""

import sys

from .cli import main

if __name__ == "__main__":  # importing the module (as the docs' inspection does) runs nothing
    sys.exit(main())
