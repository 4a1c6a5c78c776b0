"""The bench's entry point: `hatch run bench [--long] [--real] [--case NAME]` (see bench/README.md)."""

import sys
from pathlib import Path

# Run as a script (`python bench/run.py`): make the repository root importable, so that the
# bench is one package (`bench.*`) and its baselines can be served with `python -m`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cli import main

if __name__ == "__main__":
    sys.exit(main())
