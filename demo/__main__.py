"""Run the demo: ``python -m demo`` (what ``make demo`` does)."""

import asyncio
import sys

from demo._run import main

sys.exit(asyncio.run(main()))
