"""Two-way consistency the same way in Jira, Asana and Trello.

Each test runs once per delivery tool (see :mod:`two_way_world`): the deal's
commercial changes reach the project (``update_project``), a new delivery
date moves the milestones (``update_milestone``), servicesync's own writes
cause nothing when read back, a field edited on both sides is one conflict,
and edits of different fields merge.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from servicesync.domain import Milestone, Project
from servicesync.store import Store
from servicesync.store._bases import conflicts
from sqlmodel import select
from two_way_world import TOOLS, TwoWayWorld, two_way_world


@pytest.fixture(params=TOOLS)
async def pair(
    request: pytest.FixtureRequest, store: Store
) -> AsyncIterator[TwoWayWorld]:
    made = await two_way_world(request.param, store)
    yield made
    await made.aclose()


async def test_two_way_first_look_writes_the_budget_and_the_delivery_date(
    pair: TwoWayWorld,
) -> None:
    deal = await pair.won_and_settled()

    fields = await pair.deal(deal)
    assert pair.budget() == {"amount": "48000.00", "currency": "EUR"}
    assert pair.title() == "Northwind: data audit"
    latest = max(pair.milestone_dues().values())
    assert fields["UF_CRM_DELIVERY_DATE"] == latest.isoformat()
    assert fields["UF_CRM_DELIVERY_PROGRESS"] == f"0/{pair.task_count()}"


async def test_two_way_amount_change_on_the_deal_reaches_the_project(
    pair: TwoWayWorld,
) -> None:
    deal = await pair.won_and_settled()
    text = pair.project_text()

    await pair.update_deal(deal, {"OPPORTUNITY": "52000"})
    await pair.sync()

    assert pair.budget() == {"amount": "52000.00", "currency": "EUR"}
    # Only the budget line changed; the rest of the text is as it was.
    before = [line for line in text.splitlines() if "[servicesync budget]" not in line]
    after = pair.project_text().splitlines()
    assert [line for line in after if "[servicesync budget]" not in line] == before
    assert float((await pair.deal(deal))["OPPORTUNITY"]) == 52000


async def test_two_way_delivery_date_change_moves_every_milestone(
    pair: TwoWayWorld,
) -> None:
    deal = await pair.won_and_settled()
    before = pair.milestone_dues()
    later = max(before.values()) + timedelta(days=14)

    await pair.update_deal(deal, {"UF_CRM_DELIVERY_DATE": later.isoformat()})
    await pair.sync()
    writes = pair.delivery_writes()
    await pair.sync()

    after = pair.milestone_dues()
    assert len(before) == 2
    assert {m: (after[m] - due).days for m, due in before.items()} == {
        m: 14 for m in before
    }
    assert pair.delivery_writes() == writes
    assert (await pair.deal(deal))["UF_CRM_DELIVERY_DATE"] == later.isoformat()
    with pair.store.session() as session:
        stored = {m.due_date for m in session.exec(select(Milestone))}
    assert later in stored


async def test_two_way_after_a_write_back_two_syncs_write_nothing(
    pair: TwoWayWorld,
) -> None:
    await pair.won_and_settled()
    crm_before, delivery_before = pair.crm_writes(), pair.delivery_writes()

    await pair.sync()
    await pair.sync()

    assert pair.crm_writes() == crm_before
    assert pair.delivery_writes() == delivery_before
    assert crm_before > 0 and delivery_before > 0


async def test_two_way_same_field_on_both_sides_is_one_conflict_kept_by_owner(
    pair: TwoWayWorld,
) -> None:
    deal = await pair.won_and_settled()
    await pair.update_deal(deal, {"TITLE": "Northwind: audit v2"})
    await pair.rename_project("Renamed")

    await pair.sync()
    await pair.sync()

    with pair.store.transaction() as tx:
        [conflict] = conflicts(tx)
    assert (conflict.field, conflict.owner) == ("title", "crm")
    assert conflict.crm_value == "Northwind: audit v2"
    assert conflict.delivery_value == "Renamed"
    assert conflict.base_crm == conflict.base_delivery == "Northwind: data audit"
    assert conflict.kept == "Northwind: audit v2"
    assert "'Renamed'" in conflict.decision and "CRM owns it" in conflict.decision
    assert pair.title() == "Northwind: audit v2"
    assert (await pair.deal(deal))["TITLE"] == "Northwind: audit v2"


async def test_two_way_edits_of_different_fields_merge(pair: TwoWayWorld) -> None:
    deal = await pair.won_and_settled()
    await pair.update_deal(deal, {"OPPORTUNITY": "52000"})
    await pair.finish_a_task()

    await pair.sync()

    fields = await pair.deal(deal)
    assert fields["UF_CRM_DELIVERY_PROGRESS"] == f"1/{pair.task_count()}"
    assert float(fields["OPPORTUNITY"]) == 52000
    assert pair.budget()["amount"] == "52000.00"
    with pair.store.transaction() as tx:
        assert conflicts(tx) == []
    with pair.store.session() as session:
        project = session.exec(select(Project)).one()
        amounts = [m.amount for m in session.exec(select(Milestone))]
    assert project.budget_amount == 52000
    assert sum(amounts) == 52000
