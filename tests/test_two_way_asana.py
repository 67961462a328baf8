"""Two-way consistency with Asana: the project's progress reaches the deal.

Progress is summed up per section from Asana's tasks: the deal shows the
state, the tasks done, the next milestone, and a comment once every task of
a section is done. The deal's commercial changes carried to the project, and
conflicts, are tested for every tool in ``test_two_way_tools.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from servicesync.store import Store
from two_way_world import AsanaTwoWay, two_way_world


@pytest.fixture
async def asana(store: Store) -> AsyncIterator[AsanaTwoWay]:
    made = await two_way_world("asana", store)
    assert isinstance(made, AsanaTwoWay)
    yield made
    await made.aclose()


async def test_two_way_asana_progress_reaches_the_deal(asana: AsanaTwoWay) -> None:
    deal = await asana.won_and_settled()
    project = asana.project()
    space = asana.world.asana.space
    first = next(
        t for t in project.tasks if space.tasks[t].name == "Stakeholder interviews"
    )

    await asana.complete(first)
    await asana.sync()

    fields = await asana.deal(deal)
    assert fields["UF_CRM_DELIVERY_PROGRESS"] == f"1/{len(project.tasks)}"
    assert fields["UF_CRM_DELIVERY_STATUS"] == "In progress"
    assert fields["UF_CRM_DELIVERY_MILESTONE"].startswith("Findings report: 0/3")
    comments = await asana.call(
        "crm.timeline.comment.list",
        {"filter": {"ENTITY_ID": deal, "ENTITY_TYPE": "deal"}},
    )
    assert sum("'Kick-off'" in c["COMMENT"] for c in comments) == 1
