#!/usr/bin/env python
"""Entry point: `python run_bench.py --methods all --datasets all` (see README)."""

import sys

from bench.cli.cli import main

if __name__ == "__main__":
    sys.exit(main())
