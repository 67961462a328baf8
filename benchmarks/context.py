"""Yardsticks for the engine's figures: what its parts cost alone.

* parsing: ``json.loads`` of a 2,500-deal ``batch`` answer, per deal, and
  :func:`~servicesync.jsonparse.parse_json` (what the HTTP client uses) of
  the same;
* the connector's read of the same answer, as its deal stream reads it:
  each row kept as its JSON text, its id read, its text hashed; all an
  unchanged deal costs before the engine looks up its hash;
* the parse of one row's text, which only a new or changed deal needs;
* mapping: the Bitrix24 connector's ``map_record`` of a raw deal;
* validation: pydantic's check of mapped deal fields
  (:func:`~servicesync.engine._mapping.validate_deal`);
* SQLite upsert: the ``deals`` table's upsert through the bare ``sqlite3``
  module's ``executemany``, 2,500 rows a transaction, with the store's
  schema, pragmas and foreign keys; nothing of servicesync runs;
* the sum of the connector's read, the row's parse, mapping and
  validation: what a new deal costs before anything is written, a floor
  under a first load.

Each is the best of ``repeat`` timed runs, so the figures show what the
machine can do when nothing else disturbs it.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from servicesync.contract import Record
from servicesync.engine._deals import ensure_funnel
from servicesync.engine._mapping import apply_config_mapping, validate_deal
from servicesync.jsonparse import parse_json
from servicesync.store import open_store
from servicesync.store._links import fresh_ids
from servicesync_bitrix24._client import BatchAnswer

from benchmarks._deals import PAGE_ROWS, batch_answer, deal_rows
from benchmarks._report import Reporter, Section
from benchmarks.engine import DEALS, connection_config, make_connector

__all__ = ["run"]

_DEAL_COLUMNS = (
    "id",
    "title",
    "stage_id",
    "amount",
    "currency",
    "pricing_model",
    "probability",
    "owner",
    "created_at",
    "closed_at",
)


def best_rate(work: Callable[[], int], repeat: int) -> float:
    """Return the best items a second of ``repeat`` runs of ``work``."""
    best = 0.0
    for _ in range(repeat):
        started = time.perf_counter()
        items = work()
        best = max(best, items / (time.perf_counter() - started))
    return best


def _mapped(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    connector = make_connector()
    mapping = connection_config().mapping
    return [
        apply_config_mapping(connector.map_record("deals", row) or {}, row, mapping)
        for row in rows
    ]


def sqlite_upsert_rate(count: int, repeat: int) -> float:
    """Upsert ``count`` deals a page at a time with bare ``sqlite3``; best rate."""
    with tempfile.TemporaryDirectory(prefix="servicesync-bench-") as folder:
        path = Path(folder) / "raw.db"
        store = open_store(f"sqlite:///{path}")
        with store.transaction() as tx:
            stage = next(iter(ensure_funnel(tx).values()))
        store.close()
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA foreign_keys=ON")
        ids = fresh_ids(count)
        rows = [
            (
                ids[i],
                f"Deal {i}",
                stage,
                "1000.00",
                "EUR",
                "fixed",
                50,
                "1",
                "2026-01-05T09:00:00.000000+00:00",
                None,
            )
            for i in range(count)
        ]
        names = ", ".join(_DEAL_COLUMNS)
        sets = ", ".join(f"{c} = excluded.{c}" for c in _DEAL_COLUMNS[1:])
        marks = ", ".join("?" * len(_DEAL_COLUMNS))
        sql = (
            f"INSERT INTO deals ({names}) VALUES ({marks}) "
            f"ON CONFLICT (id) DO UPDATE SET {sets}"
        )

        def upsert_all() -> int:
            for start in range(0, count, PAGE_ROWS):
                connection.execute("BEGIN IMMEDIATE")
                connection.executemany(sql, rows[start : start + PAGE_ROWS])
                connection.execute("COMMIT")
            return count

        # The first run inserts, the others update: both are upserts.
        figure = best_rate(upsert_all, repeat)
        connection.close()
    return figure


def run(reporter: Reporter, *, full: bool, repeat: int) -> list[Section]:
    """Time each part of the engine's work on its own."""
    del full  # the parts are timed per deal; more deals change nothing
    tries = max(repeat, 5)
    with reporter.step("seeding 2,500 deals in the fake", PAGE_ROWS) as advance:
        rows = deal_rows(PAGE_ROWS, advance)
    raw = batch_answer(rows)
    connector = make_connector()
    client = connector.client

    def listed(answer: bytes) -> list[Record]:
        parts = client.parse_listing(httpx.Response(200, content=answer))
        return client.collect_rows(DEALS, BatchAnswer.of(parts))[0]

    texts = [record.text or b"" for record in listed(raw)]
    mapped = _mapped(rows)
    reporter.note("timing parsing, hashing, mapping, validation and SQLite")
    figures = {
        "json_parse_per_second": best_rate(
            lambda: len(json.loads(raw)["result"]["result"]) * 50, tries
        ),
        "sdk_parse_per_second": best_rate(
            lambda: len(parse_json(raw)["result"]["result"]) * 50, tries
        ),
        "listing_read_per_second": best_rate(lambda: len(listed(raw)), tries),
        "row_parse_per_second": best_rate(
            lambda: len([parse_json(text) for text in texts]), tries
        ),
        "connector_map_per_second": best_rate(
            lambda: len([connector.map_record("deals", row) for row in rows]), tries
        ),
        "pydantic_validation_per_second": best_rate(
            lambda: len([validate_deal(fields) for fields in mapped]), tries
        ),
        "sqlite_executemany_upsert_per_second": sqlite_upsert_rate(20_000, tries),
    }
    return [_section(figures)]


def _section(figures: dict[str, float]) -> Section:
    labels = {
        "json_parse_per_second": "json.loads of a batch answer",
        "sdk_parse_per_second": "parse_json (msgspec) of the same",
        "listing_read_per_second": "the connector's read: rows as text, ids, hashes",
        "row_parse_per_second": "parse_json of a changed row's text",
        "connector_map_per_second": "Bitrix24 map_record",
        "pydantic_validation_per_second": "pydantic validation (DealFields)",
        "sqlite_executemany_upsert_per_second": "bare sqlite3 executemany upsert",
    }
    section = Section(
        name="context",
        title="The parts alone, per deal (best of several runs)",
        columns=["part", "deals/s", "µs a deal"],
        figures={k: round(v) for k, v in figures.items()},
    )
    for key, label in labels.items():
        value = figures[key]
        section.rows.append([label, f"{value:,.0f}", f"{1e6 / value:.1f}"])
    # What every new deal costs before the engine writes anything, summed
    # from the parts: a floor under a first load's time a deal.
    floor = sum(1e6 / figures[key] for key in _BEFORE_WRITING)
    label = "sum of read, row parse, map and validation"
    section.rows.append([label, f"{1e6 / floor:,.0f}", f"{floor:.1f}"])
    section.figures["before_writing_us_per_deal"] = round(floor, 2)
    return section


#: The parts a new deal goes through before anything is written.
_BEFORE_WRITING = (
    "listing_read_per_second",
    "row_parse_per_second",
    "connector_map_per_second",
    "pydantic_validation_per_second",
)
