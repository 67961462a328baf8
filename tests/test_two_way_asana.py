"""Two-way consistency with Asana: the project's progress reaches the deal.

Asana keeps no budget and no milestone dates servicesync can move, so only
the delivery side flows here: state, progress, next milestone, and the
comment when a section's tasks are all done.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from servicesync.store import Store
from test_two_way_jira import DEAL_FIELDS, STATUS_WORDS, WRITE_VERBS
from test_won_deal_asana import AsanaWorld


@pytest.fixture
async def world(store: Store) -> AsyncIterator[AsanaWorld]:
    made = AsanaWorld(store)
    flows = {
        name: flow.model_copy(
            update={
                "two_way": True,
                "deal_fields": DEAL_FIELDS,
                "deal_values": {"status": STATUS_WORDS},
            }
        )
        for name, flow in made.config.flows.items()
    }
    made.config = made.config.model_copy(update={"flows": flows})
    await made.engine.aclose()
    made.engine = made.new_engine()
    yield made
    await made.engine.aclose()


def crm_writes(world: AsanaWorld) -> int:
    return sum(
        count
        for method, count in world.crm.method_calls.items()
        if method.rsplit(".", 1)[-1] in WRITE_VERBS
    )


async def complete(world: AsanaWorld, task_gid: str) -> None:
    """Mark a task done through the fake's API, as the Asana app would."""
    token = world.asana.credentials()["token:admin@example.com"]
    async with httpx.AsyncClient(transport=world.asana.transport()) as client:
        response = await client.put(
            f"{world.asana.base_url}/api/1.0/tasks/{task_gid}",
            json={"data": {"completed": True}},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.is_success, response.text


async def won_and_read(world: AsanaWorld) -> str:
    deal = await world.win("Northwind: data audit")
    await world.engine.sync()
    await world.engine.sync()
    return deal


async def deal_of(world: AsanaWorld, deal: str) -> dict[str, Any]:
    found: dict[str, Any] = await world.call("crm.deal.get", {"id": deal})
    return found


async def test_two_way_asana_progress_reaches_the_deal(world: AsanaWorld) -> None:
    deal = await won_and_read(world)
    [project] = world.projects()
    space = world.asana.space
    first = next(
        t for t in project.tasks if space.tasks[t].name == "Stakeholder interviews"
    )

    await complete(world, first)
    await world.engine.sync()

    fields = await deal_of(world, deal)
    assert fields["UF_CRM_DELIVERY_PROGRESS"] == f"1/{len(project.tasks)}"
    assert fields["UF_CRM_DELIVERY_STATUS"] == "In progress"
    comments = await world.call(
        "crm.timeline.comment.list",
        {"filter": {"ENTITY_ID": deal, "ENTITY_TYPE": "deal"}},
    )
    assert sum("'Kick-off'" in c["COMMENT"] for c in comments) == 1


async def test_two_way_asana_after_a_write_back_two_syncs_write_nothing(
    world: AsanaWorld,
) -> None:
    deal = await won_and_read(world)
    before = crm_writes(world)
    asana_before = len(world.asana.log.filter(method="PUT"))

    await world.engine.sync()
    await world.engine.sync()

    assert (await deal_of(world, deal))["UF_CRM_DELIVERY_STATUS"] == "Planned"
    assert crm_writes(world) == before
    assert len(world.asana.log.filter(method="PUT")) == asana_before
