"""``python -m benchmarks``: run the benchmarks, print their tables, keep their figures.

Examples::

    python -m benchmarks                     # quick sizes, every benchmark
    python -m benchmarks --full              # 100,000 deals as well
    python -m benchmarks --only engine       # one benchmark (repeatable)

The exit code is 0 after a run, 2 for a usage error, and, with ``--check``,
1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Callable
from pathlib import Path

from benchmarks import bitrix24_read, context, engine
from benchmarks._report import Reporter, Section, write_results

#: The benchmarks by the name ``--only`` takes, in the order they run.
BENCHMARKS: dict[str, Callable[..., list[Section]]] = {
    "context": context.run,
    "engine": engine.run,
    "bitrix24_read": bitrix24_read.run,
}

RESULTS = Path(__file__).parent / "results"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Measure servicesync's speed and print the figures.",
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="also run the large sizes (100,000 deals); takes much longer",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=list(BENCHMARKS),
        metavar="NAME",
        help=f"run only this benchmark ({', '.join(BENCHMARKS)}); repeatable",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="passes of the engine benchmark; the best counts (default 1)",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=RESULTS,
        help="folder for the JSON of the figures (default benchmarks/results)",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress bars, only the tables"
    )
    parser.add_argument(
        "--check", action="store_true", help="exit with 1 when a goal is missed"
    )
    parser.add_argument(
        "--freeze-gc",
        action="store_true",
        help="move the objects made at start-up out of the garbage collector's "
        "reach first, as a long-running process can",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat takes a number of at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks; return the exit code."""
    args = _arguments(argv)
    reporter = Reporter(quiet=args.quiet)
    if args.freeze_gc:
        gc.collect()
        gc.freeze()
    sections: list[Section] = []
    for name in args.only or list(BENCHMARKS):
        reporter.note(f"running {name}")
        found = BENCHMARKS[name](reporter, full=args.full, repeat=args.repeat)
        for section in found:
            reporter.show(section)
        sections.extend(found)
    options = {
        "full": args.full,
        "only": args.only,
        "repeat": args.repeat,
        "freeze_gc": args.freeze_gc,
    }
    path = write_results(args.results, sections, options)
    reporter.note(f"figures written to {path}")
    missed = [g for s in sections for g in s.goals if not g.met]
    return 1 if missed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
