"""What a benchmark hands back, and how it is shown and kept.

A benchmark returns :class:`Section` objects: a rich table for people and
``figures`` for the JSON file. Long steps report progress through a
:class:`Reporter`, on stderr, so that stdout holds only the tables.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

__all__ = ["Goal", "Reporter", "Section", "rate", "write_results"]


@dataclass
class Goal:
    """A speed a figure must reach, in records a second."""

    name: str
    target: float
    measured: float

    @property
    def met(self) -> bool:
        """Whether the measured speed reaches the target."""
        return self.measured >= self.target


@dataclass
class Section:
    """One table of results.

    Attributes:
        name: the benchmark's name, as ``--only`` takes it.
        title: the table's title.
        columns: the column headings.
        rows: the table's cells, already formatted.
        figures: the same results as numbers, for the JSON file.
        goals: speeds the results must reach.
        notes: lines printed under the table.
    """

    name: str
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    goals: list[Goal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def table(self) -> Table:
        """Return the section as a rich table."""
        table = Table(title=self.title, title_justify="left")
        for index, column in enumerate(self.columns):
            table.add_column(column, justify="left" if index == 0 else "right")
        for row in self.rows:
            table.add_row(*row)
        return table


def rate(records: int, seconds: float) -> float:
    """Return records a second, 0 when nothing was timed."""
    return records / seconds if seconds > 0 else 0.0


class Reporter:
    """Shows tables on stdout and the progress of long steps on stderr."""

    def __init__(self, *, quiet: bool = False) -> None:
        self.out = Console()
        self.err = Console(stderr=True)
        self.quiet = quiet

    @contextmanager
    def step(
        self, description: str, total: int | None
    ) -> Iterator[Callable[[int], None]]:
        """Show a progress bar for one step; yield the function that advances it."""
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,}/{task.total:,}"),
            TimeElapsedColumn(),
        )
        with Progress(
            *columns, console=self.err, transient=True, disable=self.quiet
        ) as progress:
            task = progress.add_task(description, total=total)
            yield lambda amount: progress.advance(task, amount)

    def note(self, text: str) -> None:
        """Say what is happening, on stderr."""
        if not self.quiet:
            self.err.print(f"[dim]{text}[/dim]")

    def show(self, section: Section) -> None:
        """Print a section's table, its notes and its goals."""
        self.out.print(section.table())
        for line in section.notes:
            self.out.print(f"  {line}")
        for goal in section.goals:
            verdict = "[green]met[/green]" if goal.met else "[red]missed[/red]"
            self.out.print(
                f"  goal {goal.name}: {goal.measured:,.0f}/s "
                f"against {goal.target:,.0f}/s, {verdict}"
            )
        self.out.print()


def write_results(
    folder: Path, sections: list[Section], options: dict[str, Any]
) -> Path:
    """Write every section's figures to a timestamped JSON file in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    document = {
        "when": stamp,
        "machine": _machine(),
        "options": options,
        "sections": [
            {
                "name": s.name,
                "title": s.title,
                "figures": s.figures,
                "goals": [{**asdict(g), "met": g.met} for g in s.goals],
            }
            for s in sections
        ],
    }
    path = folder / f"bench-{stamp}.json"
    text = json.dumps(document, indent=2, default=str)
    path.write_text(text)
    (folder / "latest.json").write_text(text)
    return path


def _machine() -> dict[str, Any]:
    # The load average says how busy the machine was: other work on a
    # two-core machine shows in every figure.
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
