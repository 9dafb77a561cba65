"""`python -m moosplit ...`: the command line, as the `moosplit` script runs it."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
