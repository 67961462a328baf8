"""Reading every deal of a Bitrix24 portal: our connector against fast-bitrix24.

Both clients read the same seeded fake portal over loopback HTTP, each
from a fresh server process (see :mod:`benchmarks._portal_server`), so
each starts with an empty leaky bucket and operating-time meter and
neither shares the interpreter with the fake:

* ours: the connector's ``deals`` stream, page by page, as the engine reads
  it (chained ``start=-1`` pages in batches of 50, ids remembered for the
  deletion scan, every row hashed);
* theirs: ``fast_bitrix24.BitrixAsync.get_all("crm.deal.list")``, which pages
  by offset in concurrent batches.

The fake counts the requests and the refusals. A client that fails, or
has not finished within the deadline, is stopped: the table says so and
gives it no speed, and the JSON keeps how many list calls the fake had run
for it by then.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from servicesync import SystemClock
from servicesync.contract import StreamState
from servicesync_bitrix24 import Bitrix24Config, Bitrix24Connector
from servicesync_sdk.testing import memory_context

from benchmarks._report import Reporter, Section, rate

__all__ = ["run"]

#: Seconds a client may take before it is stopped, by number of deals.
DEADLINES = {10_000: 600.0, 100_000: 900.0}

REPOSITORY = Path(__file__).resolve().parents[1]


@dataclass
class Portal:
    """A served, seeded fake portal and the pipes to its process."""

    process: subprocess.Popen[str]
    base_url: str
    webhook_url: str

    def stats(self) -> dict[str, Any]:
        """Ask the fake for its counts."""
        stdin, stdout = _pipes(self.process)
        stdin.write("stats\n")
        stdin.flush()
        return dict(_read_line(stdout, "stats")["stats"])


@dataclass
class ReadResult:
    """What one client's read of every deal took."""

    client: str
    records: int
    seconds: float
    outcome: str = ""
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        """Whether the client read every deal (no deadline, no failure)."""
        return not self.outcome

    @property
    def requests(self) -> int:
        """HTTP requests the fake received."""
        return int(self.stats.get("requests", 0))

    @property
    def refused(self) -> int:
        """Requests the fake refused with 503 QUERY_LIMIT_EXCEEDED."""
        return int(self.stats.get("statuses", {}).get("503", 0))

    @property
    def blocked(self) -> int:
        """Calls refused with 429 OPERATION_TIME_LIMIT (inside batches too)."""
        return sum(int(v) for v in self.stats.get("refusals", {}).values())

    @property
    def list_calls(self) -> int:
        """``crm.deal.list`` calls the fake ran, inside batches or not."""
        return int(self.stats.get("method_calls", {}).get("crm.deal.list", 0))

    def per_second(self) -> float:
        """Deals read a second; 0 for a read that did not finish."""
        return rate(self.records, self.seconds) if self.finished else 0.0


def _pipes(process: subprocess.Popen[str]) -> tuple[IO[str], IO[str]]:
    assert process.stdin is not None and process.stdout is not None
    return process.stdin, process.stdout


def _read_line(stdout: IO[str], key: str) -> dict[str, Any]:
    """Read the server's lines up to the first one that carries ``key``."""
    for line in stdout:
        message = json.loads(line)
        if key in message:
            return dict(message)
    raise RuntimeError("The fake portal's process ended early; see its stderr.")


@contextmanager
def served_portal(
    deals: int, reporter: Reporter, *, plain: bool = False
) -> Iterator[Portal]:
    """Start a fake portal process with ``deals`` deals; stop it on exit."""
    command = [sys.executable, "-m", "benchmarks._portal_server", "--deals", str(deals)]
    if plain:
        command.append("--plain")
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPOSITORY,
    )
    try:
        _, stdout = _pipes(process)
        with reporter.step(f"seeding {deals:,} deals in the fake", deals) as advance:
            for line in stdout:
                message = json.loads(line)
                if "seeded" in message:
                    advance(int(message["seeded"]))
                if "base_url" in message:
                    break
        yield Portal(process, message["base_url"], message["webhook_url"])
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[str]) -> None:
    # A stopped client can leave answers waiting out their modelled cost;
    # the server gets a few seconds to finish them, then is killed.
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def read_ours(portal: Portal, advance: Callable[[int], None]) -> int:
    """Read every deal through the connector's deals stream; return how many."""
    config = Bitrix24Config(portal_url=portal.base_url, webhook_url=portal.webhook_url)
    connector = Bitrix24Connector(config, memory_context(SystemClock()))
    stream = next(s for s in connector.streams() if s.name == "deals")
    records = 0
    try:
        async for page in stream.read(StreamState()):
            records += len(page.records)
            advance(len(page.records))
    finally:
        await connector.aclose()
    return records


async def read_theirs(portal: Portal, advance: Callable[[int], None]) -> int:
    """Read every deal with fast-bitrix24's ``get_all``; return how many."""
    import fast_bitrix24  # type: ignore[import-untyped]

    # When get_all gives up, the requests it left running fail later in
    # tasks nobody awaits; the failure itself is reported once, by the caller.
    asyncio.get_running_loop().set_exception_handler(lambda _loop, _context: None)
    client = fast_bitrix24.BitrixAsync(portal.webhook_url, verbose=False, ssl=False)
    with warnings.catch_warnings():
        # It warns that selecting every field without a filter is slow,
        # which is what this benchmark wants to measure.
        warnings.simplefilter("ignore")
        deals = await client.get_all("crm.deal.list", params={"select": ["*", "UF_*"]})
    advance(len(deals))
    return len(deals)


def timed_read(
    portal: Portal,
    client: str,
    reader: Callable[[Portal, Callable[[int], None]], Awaitable[int]],
    count: int,
    deadline: float,
    reporter: Reporter,
) -> ReadResult:
    """Run one client's read against ``portal`` with a deadline."""
    outcome = ""
    with reporter.step(f"{client}: reading {count:,} deals", count) as advance:
        started = time.perf_counter()
        try:
            records = asyncio.run(
                asyncio.wait_for(reader(portal, advance), timeout=deadline)
            )
        except TimeoutError:
            records, outcome = 0, f"stopped after {deadline:.0f} s"
        except Exception as exc:  # a client's failure is a result, not a crash
            records, outcome = 0, f"failed: {type(exc).__name__}: {exc}"[:200]
        seconds = time.perf_counter() - started
    if outcome:
        reporter.note(f"{client}: {outcome}")
    return ReadResult(client, records, seconds, outcome, portal.stats())


def run(reporter: Reporter, *, full: bool, repeat: int) -> list[Section]:
    """Read 10,000 deals (and, with ``full``, 100,000) with both clients."""
    del repeat  # a read takes minutes and the fake's limits make it steady
    sizes = [10_000, 100_000] if full else [10_000]
    # BENCH_READ_DEADLINE overrides the deadlines, in seconds.
    deadline = float(os.environ.get("BENCH_READ_DEADLINE", 0)) or None
    sections = []
    for count in sizes:
        limit = deadline or DEADLINES[count]
        results = []
        for client, reader in (
            ("servicesync", read_ours),
            ("fast-bitrix24", read_theirs),
        ):
            with served_portal(count, reporter) as portal:
                results.append(
                    timed_read(portal, client, reader, count, limit, reporter)
                )
        sections.append(_section(count, results[0], results[1]))
    return sections


def _ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}" if theirs else "n/a"


def _section(count: int, ours: ReadResult, theirs: ReadResult) -> Section:
    section = Section(
        name="bitrix24_read",
        title=f"Reading {count:,} deals from the Bitrix24 fake over HTTP",
        columns=["client", "deals", "requests", "503s", "429s", "seconds", "deals/s"],
    )
    for result in (ours, theirs):
        deals = f"{result.records:,}" if result.finished else "did not finish *"
        speed = f"{result.per_second():,.0f}" if result.finished else "-"
        section.rows.append(
            [
                result.client,
                deals,
                f"{result.requests:,}",
                f"{result.refused:,}",
                f"{result.blocked:,}",
                f"{result.seconds:.1f}",
                speed,
            ]
        )
        section.figures[result.client] = {
            "records": result.records,
            "finished": result.finished,
            "outcome": result.outcome or "read every deal",
            "list_calls": result.list_calls,
            "seconds": round(result.seconds, 2),
            "records_per_second": round(result.per_second(), 1),
            "requests": result.requests,
            "status_503": result.refused,
            "refusals_429": result.blocked,
            "fake": result.stats,
        }
    both = ours.finished and theirs.finished
    ratios = {
        "requests": _ratio(ours.requests, theirs.requests) if both else "n/a",
        "seconds": _ratio(ours.seconds, theirs.seconds) if both else "n/a",
        "records_per_second": (
            _ratio(ours.per_second(), theirs.per_second()) if both else "n/a"
        ),
    }
    section.figures["deals"] = count
    section.figures["ratios_ours_to_theirs"] = ratios
    section.rows.append(
        [
            "ours / theirs",
            "",
            ratios["requests"],
            "",
            "",
            ratios["seconds"],
            ratios["records_per_second"],
        ]
    )
    for result in (ours, theirs):
        if not result.finished:
            section.notes.append(
                f"* {result.client} {result.outcome} (after {result.list_calls:,} "
                "list calls run by the fake)."
            )
    return section
