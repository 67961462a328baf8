"""A deal won in the Bitrix24 fake becomes one staffed Asana project, exactly once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from servicesync.domain import (
    Expert,
    Project,
    ProjectMember,
    TemplateMilestone,
    TemplateTask,
)
from servicesync.store import Store
from servicesync_asana import MARK_PREFIX
from sqlmodel import select
from won_deal_worlds import AsanaWorld

PROJECTS = "/api/1.0/projects"
BATCH = "/api/1.0/batch"


@pytest.fixture
async def world(store: Store) -> AsyncIterator[AsanaWorld]:
    world = AsanaWorld(store)
    yield world
    await world.engine.aclose()


async def test_won_deal_makes_one_staffed_asana_project_linked_to_the_deal(
    world: AsanaWorld,
) -> None:
    deal = await world.win("Northwind: data audit")

    report = await world.engine.sync()

    assert report.delivered == 1
    (project,) = world.projects()
    assert world.asana.log.count(method="POST", route=PROJECTS, status=201) == 1
    with world.store.session() as session:
        stored = session.exec(select(Project)).one()
        members = session.exec(select(ProjectMember)).all()
        team = {session.get(Expert, m.expert_id).email for m in members}  # type: ignore[union-attr]
        milestones = session.exec(
            select(TemplateMilestone).where(
                TemplateMilestone.template_id == stored.template_id
            )
        ).all()
        tasks = session.exec(
            select(TemplateTask).where(TemplateTask.template_id == stored.template_id)
        ).all()
    assert team and team <= world.emails(project)
    assert milestones
    assert stored.name == project.name
    space = world.asana.space
    sections = {space.sections[s].name for s in project.sections}
    assert {m.name for m in milestones} <= sections
    placed = {
        space.tasks[t].name: space.sections[str(space.tasks[t].memberships[0][1])].name
        for t in project.tasks
    }
    assert placed == {t.name: t.milestone for t in tasks if t.milestone}
    linked = await world.call("crm.deal.get", {"id": deal})
    assert linked["UF_CRM_SERVICESYNC_PROJECT"].endswith(f"/0/{project.gid}/list")
    # Sections and tasks go ten to a /batch call: the milestones in one
    # action, not one call each.
    writes = world.asana.log.count(method="POST", route=BATCH)
    assert writes == -(-len(milestones) // 10) + -(-len(project.tasks) // 10)


async def test_won_deal_run_again_makes_nothing_twice(world: AsanaWorld) -> None:
    deal = await world.win("Contoso: data audit")
    await world.engine.sync()
    with world.store.session() as session:
        deal_id = session.exec(select(Project)).one().deal_id
    assert deal_id is not None
    posts = len(world.asana.log.filter(method="POST"))

    fresh = world.new_engine()
    await fresh.flows()[0].run(deal_id, deal)
    await fresh.aclose()

    assert len(world.projects()) == 1
    assert len(world.asana.log.filter(method="POST")) == posts


async def test_won_deal_project_whose_answer_was_dropped_found_on_retry(
    world: AsanaWorld,
) -> None:
    deal = await world.win("Fabrikam: data audit")
    world.asana.faults.answer_lost(method="POST", path=PROJECTS)
    # The look-up that would recover at once fails too, so the flow stops.
    listing = "/api/1.0/teams/{team_gid}/projects"
    world.asana.faults.add("error", method="GET", path=listing, status=503, times=6)
    failed = await world.engine.sync("crm")
    made_by_lost_call = world.projects()
    world.store.clock.advance(60)  # type: ignore[attr-defined]

    delivered = await world.engine.dispatch()

    assert failed.delivered == 0
    assert len(made_by_lost_call) == 1
    assert delivered == 1
    assert world.projects() == made_by_lost_call
    assert world.asana.log.count(method="POST", route=PROJECTS) == 1
    (project,) = made_by_lost_call
    assert project.tasks and len(world.emails(project)) > 1
    linked = await world.call("crm.deal.get", {"id": deal})
    assert linked["UF_CRM_SERVICESYNC_PROJECT"].endswith(f"/0/{project.gid}/list")


async def test_lost_deal_marks_its_asana_project_and_reopening_unmarks_it(
    world: AsanaWorld,
) -> None:
    deal = await world.win("Tailspin: data audit")
    await world.engine.sync()
    (project,) = world.projects()
    notes_when_won = project.notes

    await world.call("crm.deal.update", {"id": deal, "fields": {"STAGE_ID": "LOSE"}})
    await world.engine.sync()
    marked = project.notes
    await world.call("crm.deal.update", {"id": deal, "fields": {"STAGE_ID": "NEW"}})
    await world.engine.sync()

    assert marked.startswith(MARK_PREFIX)
    assert marked.splitlines()[1:] == notes_when_won.splitlines()
    assert project.notes == notes_when_won
    assert not project.archived
