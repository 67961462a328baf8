"""dlt, the peer of the engine benchmark: the same deals merged into SQLite.

dlt (installed by ``make bench`` from the workspace's ``bench`` group) is the
best-known Python library for loading API data into a database
incrementally. Given the same deals, parsed from the same answer bytes, a
resource with the deal's ``ID`` as primary key and the ``merge`` write
disposition loads them through dlt's ``sqlalchemy`` destination into a
SQLite file: a first load into an empty dataset, then the same deals again.

What dlt does for that: it infers and evolves a schema, normalises the rows
into load files on disk, and merges them into the table; it keeps no hash
of what it loaded, so a re-sync loads every deal again. What it does not do
that the engine does: map the deals to a domain model, validate them, link
them, record stage changes.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import exc as sa_exc

from benchmarks._deals import answer_rows

__all__ = ["PeerTiming", "dlt_version", "load_twice"]


@dataclass
class PeerTiming:
    """One pass of dlt over every deal."""

    seconds: float
    cpu_seconds: float
    rows: int


def dlt_version() -> str | None:
    """Return dlt's version, or ``None`` when it is not installed."""
    try:
        import dlt
    except ImportError:
        return None
    return str(dlt.__version__)


def load_twice(
    answers: list[bytes], count: int, advance: Callable[[int], None]
) -> tuple[PeerTiming, PeerTiming]:
    """Merge the ``count`` deals of ``answers`` into a new SQLite file, then again.

    ``advance`` is called with each page's size as dlt takes the page in.
    """
    import dlt

    # dlt warns of columns no deal fills and SQLAlchemy of how dlt builds
    # its merge; neither says anything of the measurement.
    logging.getLogger("dlt").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="dlt")
    warnings.filterwarnings("ignore", category=sa_exc.SAWarning)
    with tempfile.TemporaryDirectory(prefix="servicesync-bench-dlt-") as folder:
        pipeline = dlt.pipeline(
            pipeline_name="bench_deals",
            destination=dlt.destinations.sqlalchemy(
                f"sqlite:///{Path(folder) / 'dlt.db'}"
            ),
            pipelines_dir=str(Path(folder) / "pipelines"),
            dataset_name="main",
        )

        @dlt.resource(name="deals", primary_key="ID", write_disposition="merge")
        def deals() -> Iterator[list[dict[str, Any]]]:
            for raw in answers:
                rows = answer_rows(json.loads(raw))
                yield rows
                advance(len(rows))

        first = _timed(lambda: pipeline.run(deals()), count)
        again = _timed(lambda: pipeline.run(deals()), count)
        with closing(sqlite3.connect(Path(folder) / "dlt.db")) as db:
            (held,) = db.execute("SELECT count(*) FROM deals").fetchone()
    if held != count:
        msg = f"dlt holds {held:,} deals after two loads of {count:,}"
        raise RuntimeError(msg)
    return first, again


def _timed(load: Callable[[], object], count: int) -> PeerTiming:
    started, cpu = time.perf_counter(), time.process_time()
    load()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return PeerTiming(seconds, cpu, count)
