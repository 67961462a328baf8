"""A deal won in the Bitrix24 fake becomes one staffed Jira project, exactly once."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from servicesync.domain import Deal, Expert, Milestone, Project, ProjectMember
from servicesync.engine import WonDealFlow
from servicesync.store import Store
from sqlmodel import select
from won_deal_worlds import JiraWorld


@pytest.fixture
async def world(store: Store) -> Any:
    world = JiraWorld(store)
    yield world
    await world.engine.aclose()


async def test_won_deal_first_sync_is_a_baseline(world: JiraWorld) -> None:
    await world.add_deal("Already signed before servicesync", stage="EXECUTING")

    report = await world.engine.sync()

    assert report.streams["crm.deals"].written == 1
    assert report.streams["crm.deals"].events == 0
    assert world.projects_in_jira() == 0


async def test_won_deal_makes_one_staffed_project_and_links_it(
    world: JiraWorld,
) -> None:
    deal = await world.add_deal("Northwind: data audit")
    await world.engine.sync()

    await world.call(
        "crm.deal.update", {"id": deal, "fields": {"STAGE_ID": "EXECUTING"}}
    )
    report = await world.engine.sync()

    assert report.delivered == 1
    assert world.projects_in_jira() == 1
    with world.store.session() as session:
        project = session.exec(select(Project)).one()
        members = session.exec(select(ProjectMember)).all()
    assert len(members) == len(project.team_explanation["members"]) >= 1
    assert all(m["reason"] for m in project.team_explanation["members"])
    linked = await world.call("crm.deal.get", {"id": deal})
    assert "/browse/" in linked["UF_CRM_SERVICESYNC_PROJECT"]


async def test_won_deal_flow_run_again_creates_nothing_twice(world: JiraWorld) -> None:
    deal = await world.add_deal("Contoso: data audit")
    await world.engine.sync()
    await world.call(
        "crm.deal.update", {"id": deal, "fields": {"STAGE_ID": "EXECUTING"}}
    )
    await world.engine.sync()
    flow = world.engine.flows()[0]
    with world.store.session() as session:
        deal_id = session.exec(select(Project)).one().deal_id
    posts_before = len(world.jira.log.filter(method="POST"))

    fresh = world.new_engine()
    await fresh.flows()[0].run(deal_id, deal)
    await flow.run(deal_id, deal)
    await fresh.aclose()

    assert world.projects_in_jira() == 1
    assert len(world.jira.log.filter(method="POST")) == posts_before


async def test_sync_after_everything_settled_writes_nothing(world: JiraWorld) -> None:
    deal = await world.add_deal("Fabrikam: data audit")
    await world.engine.sync()
    await world.call(
        "crm.deal.update", {"id": deal, "fields": {"STAGE_ID": "EXECUTING"}}
    )
    await world.engine.sync()
    await world.engine.sync()

    report = await world.engine.sync()

    assert sum(c.written for c in report.streams.values()) == 0
    assert report.delivered == 0
    assert world.projects_in_jira() == 1


async def test_won_deal_tasks_are_made_in_their_milestones(world: JiraWorld) -> None:
    deal = await world.add_deal("Globex: data audit")
    await world.engine.sync()
    await world.call(
        "crm.deal.update", {"id": deal, "fields": {"STAGE_ID": "EXECUTING"}}
    )

    await world.engine.sync()

    placed = {
        issue["fields"]["summary"]: [v["name"] for v in issue["fields"]["fixVersions"]]
        for issue in world.jira.issues.issues.values()
    }
    assert placed == {
        "Stakeholder interviews": ["Kick-off"],
        "System inventory": ["Findings report"],
        "Maturity scoring": ["Findings report"],
        "Findings workshop": ["Findings report"],
    }


async def test_a_retry_keeps_the_team_and_dates_the_first_attempt_gave_jira(
    world: JiraWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Jira got its team and milestones; the process died before saving them."""
    deal = await world.add_deal("Initech: data audit")
    await world.engine.sync()
    await world.call(
        "crm.deal.update", {"id": deal, "fields": {"STAGE_ID": "EXECUTING"}}
    )
    flow = world.engine.flows()[0]
    save = WonDealFlow._save_project
    day_one = world.store.now().date()

    def die(*_args: Any) -> None:
        raise RuntimeError("the process died here")

    monkeypatch.setattr(WonDealFlow, "_save_project", die)
    await world.engine.sync()
    monkeypatch.setattr(WonDealFlow, "_save_project", save)
    with world.store.session() as session:
        deal_id = session.exec(select(Deal.id)).one()
    first = world.store.journal_find(f"won_deal:{deal_id}:team")
    assert first is not None and first.status == "confirmed"
    given = set(first.params["emails"])
    # Before the retry, a day goes by and the team Jira got is fully booked.
    world.store.clock.advance(86_400)
    with world.store.session() as session:
        for expert in session.exec(select(Expert)):
            if expert.email in given:
                expert.weekly_capacity_hours = Decimal(0)
                session.add(expert)
        session.commit()

    await flow.run(deal_id, deal)

    with world.store.session() as session:
        project = session.exec(select(Project)).one()
        members = session.exec(select(Expert.email).join(ProjectMember)).all()
        due = sorted(m.due_date for m in session.exec(select(Milestone)))
    made = world.store.journal_find(f"won_deal:{deal_id}:project")
    assert made is not None and made.result is not None
    versions = world.jira.site.project_versions(made.result["external_id"])
    assert set(members) == given
    assert project.start_date == day_one
    assert [d.isoformat() for d in due] == sorted(v["releaseDate"] for v in versions)
    assert world.projects_in_jira() == 1
