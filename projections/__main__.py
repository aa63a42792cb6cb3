"""`python -m projections`: run the projector process (see projections/process.py)."""

from __future__ import annotations

import sys

from projections.process import main

if __name__ == "__main__":
    sys.exit(main())
