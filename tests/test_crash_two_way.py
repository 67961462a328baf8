"""A sync killed while it carries a deal's change to Jira, run again, ends whole.

The world of ``test_crash.py`` with two-way consistency on: every deal is won
and its Jira project made and settled first. Each case then changes its deal
in the CRM as a salesperson would (a new amount, a new title and a delivery
date two weeks later), runs ``servicesync sync`` armed with one failpoint,
which kills it by SIGKILL, and runs it again until it exits 0. The project
must then be renamed and carry the new budget line, each version must have
moved by the same two weeks once (never twice), and the deal's comments,
conflicts and journaled two-way writes must be those of a twin deal changed
the same way by one unbroken sync, none of them left pending. Moving the
two versions are two writes,
so killing after the first leaves a move half made for the next sync.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from crash_world import (
    BACKENDS,
    SOAK_ENV,
    Ledger,
    World,
    open_world,
    soak_chooser,
    soak_deals,
    soak_rounds,
    sync_killed_at_random,
)
from servicesync.store import ActionJournalRow
from servicesync.store._bases import conflicts
from sqlmodel import col, select

#: Appended to the demo config's last table, ``[flows.won_deal]``.
TWO_WAY = """
two_way = true
[flows.won_deal.deal_fields]
title = "TITLE"
amount = "OPPORTUNITY"
status = "UF_CRM_DELIVERY_STATUS"
progress = "UF_CRM_DELIVERY_PROGRESS"
milestone = "UF_CRM_DELIVERY_MILESTONE"
delivery_date = "UF_CRM_DELIVERY_DATE"
"""

#: The writes of a case's change: the project's update (the first reach of
#: each action failpoint) and the two versions' moves (the 2nd and 3rd).
CASES = [
    "after_page_read",
    "after_page_commit",
    "before_remote_create",
    "after_remote_create",
    "after_remote_create:2",
    "after_remote_create:3",
    "after_journal_confirm",
    "after_journal_confirm:3",
]
#: Where a kill leaves a write made but its bases not stored, before the
#: deal changes again: the project's update, the last version's move.
AGAIN = ["after_remote_create", "after_remote_create:3", "after_journal_confirm:3"]
NEW_AMOUNT = "15000"
SHIFT = timedelta(days=14)
#: The failpoints a soak round arms, with the highest count worth arming.
_SOAK_POINTS = {
    "after_page_read": 12,
    "after_page_commit": 12,
    "before_remote_create": 4,
    "after_remote_create": 4,
    "after_journal_confirm": 4,
}


@dataclass(frozen=True)
class TwoWayOutcome:
    """What a deal's change left in Jira, the CRM and the store.

    Two deals changed the same way have equal outcomes, whatever their names.
    """

    renamed: bool
    budget_line: bool
    version_shifts: tuple[int, ...]
    deal_delivery_date_moved: bool
    comments: int
    conflicts: int
    two_way_writes: tuple[tuple[str, str], ...]
    unfinished_deliveries: int


class Settled:
    """The world once every deal's project is made and consistent."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.keys: dict[str, str] = {}
        self.releases: dict[str, dict[str, str]] = {}
        self.deliveries: dict[str, str] = {}

    def remember(self, deal: str) -> None:
        """Note where the deal's project and its dates stand before a change."""
        [key] = self.world.jira.projects_of(self.world.titles[deal])
        self.keys[deal] = key
        self.releases[deal] = self.world.jira.releases(key)
        fields = self.world.crm.call("crm.deal.get", {"id": deal})
        self.deliveries[deal] = str(fields["UF_CRM_DELIVERY_DATE"])

    def change(self, deal: str) -> None:
        """Change the deal in the CRM: amount, title, a later delivery date."""
        later = date.fromisoformat(self.deliveries[deal][:10]) + SHIFT
        self.change_to(deal, f"{self.world.titles[deal]} v2", NEW_AMOUNT, later)

    def change_to(self, deal: str, title: str, amount: str, delivery: date) -> None:
        """Set the deal's title, amount and delivery date in the CRM."""
        fields = {
            "OPPORTUNITY": amount,
            "TITLE": title,
            "UF_CRM_DELIVERY_DATE": delivery.isoformat(),
        }
        self.world.crm.call("crm.deal.update", {"id": deal, "fields": fields})

    def outcome(self, deal: str) -> TwoWayOutcome:
        """Read what the change of ``deal`` left behind."""
        world, key = self.world, self.keys[deal]
        project = world.jira.project(key)
        now, before = world.jira.releases(key), self.releases[deal]
        shifts = tuple(
            (date.fromisoformat(now[name]) - date.fromisoformat(day)).days
            for name, day in sorted(before.items())
        )
        fields = world.crm.call("crm.deal.get", {"id": deal})
        later = date.fromisoformat(self.deliveries[deal][:10]) + SHIFT
        ledger = Ledger(world.store, deal)
        return TwoWayOutcome(
            renamed=project["name"] == f"{world.titles[deal]} v2 ({key})",
            budget_line=f"amount: {NEW_AMOUNT}.00" in str(project["description"]),
            version_shifts=shifts,
            deal_delivery_date_moved=str(fields["UF_CRM_DELIVERY_DATE"]).startswith(
                later.isoformat()
            ),
            comments=len(world.crm.comments(deal)),
            conflicts=self._conflicts(ledger.deal),
            two_way_writes=self._two_way_writes(ledger.deal),
            unfinished_deliveries=ledger.unfinished_deliveries(),
        )

    def _conflicts(self, deal_id: str) -> int:
        with self.world.store.transaction() as tx:
            return len(conflicts(tx, deal_id=deal_id))

    def _two_way_writes(self, deal_id: str) -> tuple[tuple[str, str], ...]:
        """Each journaled two-way write of the deal: what it wrote, its status."""
        prefix = f"won_deal:{deal_id}:two-way:"
        with self.world.store.session() as session:
            rows = session.exec(
                select(ActionJournalRow).where(
                    col(ActionJournalRow.dedup_key).startswith(prefix)
                )
            ).all()
        # A write the killed sync left pending is closed as superseded once
        # a later sync finds the deal and its project in line: nothing is
        # left for it to do, as for a confirmed one.
        done = {"confirmed": "done", "superseded": "done"}
        return tuple(
            sorted(
                (
                    row.dedup_key.removeprefix(prefix).split(":")[0],
                    done.get(row.status, row.status),
                )
                for row in rows
            )
        )


@pytest.fixture(scope="module", params=BACKENDS)
def settled(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settled]:
    """Every deal won, its project made, and two more syncs to settle both sides."""
    workdir = tmp_path_factory.mktemp(f"crash-two-way-{request.param}")
    titles = [f"Two-way case {n}" for n in range(len(CASES) + 1)]
    titles += [f"Two-way again {n}" for n in range(len(AGAIN))]
    titles += [f"Two-way soak {n}" for n in range(soak_deals(10))]
    with open_world(request.param, workdir, titles, config_tail=TWO_WAY) as world:
        for deal in world.titles:
            world.crm.win(deal)
        assert world.sync_until_done().returncode == 0
        for _ in range(2):
            assert world.sync().returncode == 0
        made = Settled(world)
        for deal in world.titles:
            made.remember(deal)
        yield made


@pytest.fixture(scope="module")
def reference(settled: Settled) -> TwoWayOutcome:
    """The outcome of the change carried by one unbroken sync."""
    deal = next(iter(settled.world.titles))
    settled.change(deal)
    for _ in range(2):
        run = settled.world.sync()
        assert run.returncode == 0, run.log
    return settled.outcome(deal)


def test_unbroken_sync_carries_the_change_once(reference: TwoWayOutcome) -> None:
    assert reference.renamed and reference.budget_line
    assert reference.version_shifts == (14, 14)
    assert reference.deal_delivery_date_moved
    assert reference.conflicts == 0
    assert reference.unfinished_deliveries == 0
    assert {status for _, status in reference.two_way_writes} == {"done"}
    assert {what for what, _ in reference.two_way_writes} >= {"project", "milestone"}


@pytest.mark.parametrize("case", CASES)
def test_sync_killed_while_carrying_a_change_ends_as_an_unbroken_sync(
    settled: Settled, reference: TwoWayOutcome, case: str
) -> None:
    deal = list(settled.world.titles)[1 + CASES.index(case)]
    settled.change(deal)

    killed = settled.world.sync(failpoints=case)
    recovered = settled.world.sync_until_done()
    settled_again = settled.world.sync()

    assert killed.returncode == -signal.SIGKILL, killed.log
    assert recovered.returncode == 0, recovered.log
    assert settled_again.returncode == 0, settled_again.log
    assert settled.outcome(deal) == reference


@pytest.mark.parametrize("case", AGAIN)
def test_a_change_made_after_a_killed_sync_is_carried_not_lost(
    settled: Settled, case: str
) -> None:
    world = settled.world
    deal = [d for d, t in world.titles.items() if t.startswith("Two-way again")][
        AGAIN.index(case)
    ]
    start = date.fromisoformat(settled.deliveries[deal][:10])
    settled.change(deal)
    killed = world.sync(failpoints=case)
    # The salesperson changes the deal again before any sync ran.
    title = f"{world.titles[deal]} v3"
    settled.change_to(deal, title, "16000", start + timedelta(days=21))
    recovered = world.sync_until_done()
    assert world.sync().returncode == 0

    outcome = settled.outcome(deal)
    key = settled.keys[deal]
    project = world.jira.project(key)
    assert killed.returncode == -signal.SIGKILL, killed.log
    assert recovered.returncode == 0, recovered.log
    assert project["name"] == f"{title} ({key})"
    assert "amount: 16000.00" in str(project["description"])
    assert outcome.version_shifts == (21, 21)
    assert outcome.conflicts == 0
    assert "pending" not in {status for _, status in outcome.two_way_writes}


@dataclass
class Expected:
    """What a soak deal must show once the last change is carried."""

    title: str
    amount: str
    days: int = 0


@pytest.mark.skipif(
    not soak_rounds(),
    reason=f"the two-way crash soak runs only when {SOAK_ENV}=N (N kills) is set",
)
@pytest.mark.timeout(120 + 15 * soak_rounds())
def test_syncs_killed_at_random_while_changes_flow_end_consistent(
    settled: Settled,
) -> None:
    world = settled.world
    chooser = soak_chooser()
    deals = [d for d, title in world.titles.items() if title.startswith("Two-way soak")]
    expected = {d: Expected(world.titles[d], "12000") for d in deals}

    kills = 0
    for round_ in range(soak_rounds()):
        deal = chooser.choice(deals)
        want = expected[deal]
        want.title = f"{world.titles[deal]} r{round_}"
        want.amount = str(12000 + 500 * (round_ + 1))
        want.days += 7
        start = date.fromisoformat(settled.deliveries[deal][:10])
        later = start + timedelta(days=want.days)
        settled.change_to(deal, want.title, want.amount, later)
        run = sync_killed_at_random(world, chooser, _SOAK_POINTS, max_delay=2.0)
        assert run.returncode in (0, -signal.SIGKILL), run.log
        kills += run.returncode == -signal.SIGKILL
    assert world.sync_until_done().returncode == 0
    assert world.sync().returncode == 0

    assert kills > 0
    for deal in deals:
        want = expected[deal]
        outcome = settled.outcome(deal)
        key = settled.keys[deal]
        project = world.jira.project(key)
        assert project["name"] == f"{want.title} ({key})", deal
        assert f"amount: {want.amount}.00" in str(project["description"]), deal
        assert set(outcome.version_shifts) == {want.days}, (deal, outcome)
        assert outcome.conflicts == 0, deal
        assert "pending" not in {status for _, status in outcome.two_way_writes}
