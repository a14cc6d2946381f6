"""`python -m seg_cli ...` is the same as `seg ...` (and what `torchrun -m seg_cli` runs)."""

import sys

from seg_cli.cli import main

if __name__ == "__main__":
    sys.exit(main())
