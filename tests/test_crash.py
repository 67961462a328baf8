"""A sync killed at any moment, run again, ends where an unbroken sync ends.

The Bitrix24 and Jira fakes run in processes of their own (``servicesync
fake ... --json``), so what they hold survives the kills. ``servicesync
sync`` runs armed with one failpoint (``SERVICESYNC_FAILPOINTS``; see
``servicesync.engine._failpoints``), dies there by SIGKILL, and is run again
without it. The won deal's project in Jira, the deal in the CRM and the
store must then hold exactly what one unbroken sync made for a twin deal:
one project with its versions, issues and members once each, the deal's
link and one timeline comment, and the same journal and outbox rows.

Every case has its own deal in one shared pair of fakes and one store per
database, so the fakes and the catalog are set up once per database. Every
command, the fakes included, runs in a child forked from
``cli_launcher.py``: a process that imported the command line once and whose
children run ``servicesync.cli.main`` as the installed script does, so that
no command spends seconds on imports again.

``SERVICESYNC_CRASH_SOAK=N`` adds a long run that kills N syncs at random
moments, at random failpoints or from outside; see docs/crash-safety.md.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from dataclasses import replace

import pytest
from crash_world import (
    BACKENDS,
    SOAK_ENV,
    Outcome,
    World,
    open_world,
    soak_chooser,
    soak_deals,
    soak_rounds,
    sync_killed_at_random,
)
from servicesync.engine._failpoints import FAILPOINTS

#: Each failpoint at its first reach, and ``after_remote_create`` also at the
#: task bulk create (its 4th reach) and the deal's comment (its 7th and last):
#: the project, two versions, the tasks, the team, the link, the comment.
CASES = [*FAILPOINTS, "after_remote_create:4", "after_remote_create:7"]


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """Fakes with a catalog's experts and a deal per case, synced once."""
    workdir = tmp_path_factory.mktemp(f"crash-{request.param}")
    titles = [f"Crash case {n}" for n in range(len(CASES) + 1)]
    titles += [f"Soak deal {n}" for n in range(soak_deals(5))]
    with open_world(request.param, workdir, titles) as made:
        yield made


@pytest.fixture(scope="module")
def reference(world: World) -> Outcome:
    """The outcome of one unbroken sync after a deal was won."""
    if world.reference is None:
        deal = next(iter(world.titles))
        world.crm.win(deal)
        run = world.sync()
        assert run.returncode == 0, run.log
        world.reference = world.outcome(deal)
    return world.reference


def _deal_of(world: World, case: str) -> str:
    return list(world.titles)[1 + CASES.index(case)]


# -- tests -----------------------------------------------------------------


def test_unbroken_sync_makes_one_staffed_linked_project(reference: Outcome) -> None:
    assert reference == Outcome(
        jira_projects=1,
        versions=("Findings report", "Kick-off"),
        issues=(
            "Findings workshop",
            "Maturity scoring",
            "Stakeholder interviews",
            "System inventory",
        ),
        team_size=2,
        members_are_the_team=True,
        link_is_the_project=True,
        comments=1,
        store_projects=1,
        project_links=1,
        deliveries=(
            ("deal_stage_changed", "contract_signed", "flow:won_deal", "done"),
        ),
        journal=(
            ("comment", "confirmed"),
            ("deal-link", "confirmed"),
            ("milestone:Findings report", "confirmed"),
            ("milestone:Kick-off", "confirmed"),
            ("plan", "confirmed"),
            ("project", "confirmed"),
            ("tasks", "confirmed"),
            ("team", "confirmed"),
        ),
        unfinished_deliveries=0,
    )


@pytest.mark.parametrize("case", CASES)
def test_sync_killed_at_a_failpoint_ends_as_an_unbroken_sync(
    world: World, reference: Outcome, case: str
) -> None:
    deal = _deal_of(world, case)
    world.crm.win(deal)

    killed = world.sync(failpoints=case)
    recovered = world.sync_until_done()

    assert killed.returncode == -signal.SIGKILL, killed.log
    assert recovered.returncode == 0, recovered.log
    assert world.outcome(deal) == reference


#: The highest count worth arming per failpoint: page points are reached
#: once per page of ~12 streams, the action points once per write.
_SOAK_COUNTS = {
    "after_page_read": 12,
    "after_page_commit": 12,
    "before_remote_create": 8,
    "after_remote_create": 8,
    "after_journal_confirm": 8,
    "after_write_back": 2,
}


def _staffing_aside(outcome: Outcome) -> Outcome:
    """The outcome less what depends on how many experts were still free.

    Once many won deals have booked the experts, later teams come out
    smaller, or empty (and an empty team is not sent to Jira at all).
    """
    steps = tuple(step for step in outcome.journal if step[0] != "team")
    return replace(outcome, team_size=0, journal=steps)


@pytest.mark.skipif(
    not soak_rounds(),
    reason=f"the crash soak runs only when {SOAK_ENV}=N (N kills) is set",
)
@pytest.mark.timeout(120 + 15 * soak_rounds())
def test_sync_killed_at_random_moments_ends_as_an_unbroken_sync(
    world: World, reference: Outcome
) -> None:
    rounds = soak_rounds()
    chooser = soak_chooser()
    deals = [d for d, title in world.titles.items() if title.startswith("Soak")]
    waiting = list(deals)

    kills = 0
    for _ in range(rounds):
        if waiting and chooser.random() < 0.3:
            world.crm.win(waiting.pop(0))
        run = sync_killed_at_random(world, chooser, _SOAK_COUNTS, max_delay=3.0)
        assert run.returncode in (0, -signal.SIGKILL), run.log
        kills += run.returncode == -signal.SIGKILL
    for deal in waiting:
        world.crm.win(deal)
    assert world.sync_until_done().returncode == 0
    final = world.sync()

    assert final.returncode == 0, final.log
    assert kills > 0
    outcomes = [world.outcome(deal) for deal in deals]
    expected = _staffing_aside(reference)
    assert [_staffing_aside(o) for o in outcomes] == [expected] * len(deals)
    assert all(("team", "confirmed") in o.journal for o in outcomes if o.team_size)
