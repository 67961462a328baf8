"""Changing a deal's epic and a milestone's epic after they were made.

In epic mode (``mode = "epic"``) a deal's project is an epic of one shared
project: ``update_project`` sets its summary and the budget paragraph of
its description. With ``milestones_as = "epics"``, ``update_milestone``
moves an epic's due date. Both read first and write only what differs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from servicesync.errors import RecordError
from servicesync_jira import (
    CreateMilestoneParams,
    CreateProjectParams,
    JiraConnector,
    UpdateMilestoneParams,
    UpdateProjectParams,
)
from servicesync_jira._document import document_text, with_budget_paragraph
from servicesync_jira.fake import JiraFake

SHARED = "DEL"
ISSUE_ROUTE = "/rest/api/3/issue/{key}"
BUDGET = "[servicesync budget] "


@pytest.fixture
def shared(fake: JiraFake, make: Callable[..., JiraConnector]) -> JiraConnector:
    """A connection in epic mode, its milestones versions of the shared project."""
    lead = next(iter(fake.site.users))
    fake.site.create_project({"key": SHARED, "name": "Delivery", "leadAccountId": lead})
    return make(mode="epic", shared_project_key=SHARED)


@pytest.fixture
def epics(shared: JiraConnector, make: Callable[..., JiraConnector]) -> JiraConnector:
    """A connection in epic mode whose milestones are epics too."""
    return make(mode="epic", shared_project_key=SHARED, milestones_as="epics")


async def deal_epic(connector: JiraConnector, deal: str = "1") -> str:
    """Make a deal's epic described ``Portal``; return its key."""
    params = CreateProjectParams(
        name="Acme portal", client="Acme", description="Portal"
    )
    made = await connector.actions()["create_project"].execute(
        f"deal:{deal}:project", params
    )
    return made.external_id


async def milestone(connector: JiraConnector, project_key: str) -> str:
    """Make the milestone ``Beta``, due on 1 March; return its id or key."""
    params = CreateMilestoneParams(
        project_key=project_key, name="Beta", due=date(2026, 3, 1)
    )
    made = await connector.actions()["create_milestone"].execute("deal:1:beta", params)
    return made.external_id


def fields_of(fake: JiraFake, key: str) -> dict[str, Any]:
    return dict(fake.issues.get(key)["fields"])


def budget(fake: JiraFake, key: str) -> str:
    """Return the budget line of an issue's description."""
    text = document_text(fields_of(fake, key)["description"])
    [line] = [line for line in text.splitlines() if line.startswith(BUDGET)]
    return line


def edits(fake: JiraFake) -> int:
    return fake.log.count(method="PUT", route=ISSUE_ROUTE)


async def test_epic_update_project_sets_summary_and_budget_paragraph(
    fake: JiraFake, shared: JiraConnector
) -> None:
    key = await deal_epic(shared)
    before = fields_of(fake, key)["description"]["content"]
    params = UpdateProjectParams(
        project_key=key, title="Acme web portal", amount=Decimal("1200.5"), scope=40
    )

    result = await shared.actions()["update_project"].execute("deal:1:u1", params)

    fields = fields_of(fake, key)
    assert fields["summary"] == "Acme web portal"
    assert budget(fake, key) == BUDGET + "amount: 1200.50; scope: 40.00"
    assert fields["description"]["content"][:-1] == before
    assert result.external_id == key
    assert result.data == {"key": key, "project": SHARED, "epic": key}
    assert edits(fake) == 1


async def test_epic_update_project_again_with_the_same_values_writes_nothing(
    fake: JiraFake, shared: JiraConnector
) -> None:
    key = await deal_epic(shared)
    action = shared.actions()["update_project"]
    params = UpdateProjectParams(project_key=key, amount=Decimal(900), currency="EUR")
    await action.execute("deal:1:u2", params)

    found = await action.find("deal:1:u2", params)
    again = await action.execute("deal:1:u3", params)

    assert found is not None and found.external_id == key
    assert again.external_id == key
    assert edits(fake) == 1


async def test_epic_update_project_changes_the_budget_paragraph_in_place(
    fake: JiraFake, shared: JiraConnector
) -> None:
    key = await deal_epic(shared)
    action = shared.actions()["update_project"]
    await action.execute(
        "deal:1:u4", UpdateProjectParams(project_key=key, amount=Decimal(900))
    )
    first = fields_of(fake, key)["description"]["content"]

    await action.execute(
        "deal:1:u5", UpdateProjectParams(project_key=key, currency="EUR")
    )

    content = fields_of(fake, key)["description"]["content"]
    assert len(content) == len(first)
    assert content[:-1] == first[:-1]
    assert budget(fake, key) == BUDGET + "amount: 900.00; currency: EUR"


async def test_epic_update_project_keeps_what_a_person_wrote_around_the_line(
    fake: JiraFake, shared: JiraConnector
) -> None:
    key = await deal_epic(shared)
    heading = {
        "type": "heading",
        "attrs": {"level": 2},
        "content": [{"type": "text", "text": "Scope", "marks": [{"type": "strong"}]}],
    }
    mixed = {
        "type": "paragraph",
        "content": [
            {"type": "text", "text": "Agreed in March"},
            {"type": "hardBreak"},
            {"type": "text", "text": BUDGET + "amount: 10.00"},
        ],
    }
    document = {"type": "doc", "version": 1, "content": [heading, mixed]}
    fake.issues.edit(key, {"fields": {"description": document}})

    await shared.actions()["update_project"].execute(
        "deal:1:u6", UpdateProjectParams(project_key=key, amount=Decimal(20))
    )

    content = fields_of(fake, key)["description"]["content"]
    assert content[0] == heading
    assert document_text({"content": [content[1]]}).splitlines() == [
        "Agreed in March",
        BUDGET + "amount: 20.00",
    ]
    assert len(content) == 2


async def test_epic_update_project_after_a_lost_answer_writes_nothing_more(
    fake: JiraFake, shared: JiraConnector
) -> None:
    key = await deal_epic(shared)
    action = shared.actions()["update_project"]
    params = UpdateProjectParams(project_key=key, title="Acme portal v2")
    fake.faults.answer_lost(method="PUT", path=f"/rest/api/3/issue/{key}")
    await action.execute("deal:1:u7", params)  # the client sends the PUT again
    sent = edits(fake)

    found = await action.find("deal:1:u7", params)
    again = await action.execute("deal:1:u7", params)

    assert found is not None and again.external_id == key
    assert edits(fake) == sent
    assert fields_of(fake, key)["summary"] == "Acme portal v2"


@pytest.mark.parametrize(
    ("project_key", "message"),
    [
        pytest.param("ACME", "named by its issue key", id="project-key"),
        pytest.param("DEL-99", "does not exist", id="unknown-issue"),
    ],
)
async def test_epic_update_project_of_no_deal_epic_says_so(
    fake: JiraFake, shared: JiraConnector, project_key: str, message: str
) -> None:
    params = UpdateProjectParams(project_key=project_key, amount=Decimal(1))

    with pytest.raises(RecordError, match=message):
        await shared.actions()["update_project"].execute("deal:1:u8", params)
    assert edits(fake) == 0


async def test_epic_update_project_of_a_task_says_it_is_no_epic(
    fake: JiraFake, shared: JiraConnector
) -> None:
    task = fake.issues.create(
        {
            "fields": {
                "project": {"key": SHARED},
                "issuetype": {"name": "Task"},
                "summary": "Someone's task",
            }
        }
    )
    params = UpdateProjectParams(project_key=task["key"], title="Taken over")

    with pytest.raises(RecordError, match="not an epic of 'DEL'"):
        await shared.actions()["update_project"].execute("deal:1:u9", params)
    assert fields_of(fake, task["key"])["summary"] == "Someone's task"


async def test_epic_update_milestone_moves_the_epic_due_date_once(
    fake: JiraFake, epics: JiraConnector
) -> None:
    project = await deal_epic(epics)
    key = await milestone(epics, project)
    action = epics.actions()["update_milestone"]
    params = UpdateMilestoneParams(
        project_key=project, milestone_id=key, due=date(2026, 3, 15)
    )

    result = await action.execute("deal:1:m1", params)
    found = await action.find("deal:1:m1", params)
    again = await action.execute("deal:1:m2", params)

    assert fields_of(fake, key)["duedate"] == "2026-03-15"
    assert result.data == {"kind": "epic", "duedate": "2026-03-15"}
    assert found is not None and found.external_id == key
    assert again.external_id == key
    assert edits(fake) == 1


async def test_epic_update_milestone_renames_the_epic(
    fake: JiraFake, epics: JiraConnector
) -> None:
    project = await deal_epic(epics)
    key = await milestone(epics, project)
    params = UpdateMilestoneParams(project_key=project, milestone_id=key, name="GA")

    await epics.actions()["update_milestone"].execute("deal:1:m3", params)

    fields = fields_of(fake, key)
    assert (fields["summary"], fields["duedate"]) == ("GA", "2026-03-01")


async def test_epic_update_milestone_in_a_project_per_deal(
    fake: JiraFake, make: Callable[..., JiraConnector]
) -> None:
    connector = make(milestones_as="epics")
    lead = next(iter(fake.site.users))
    made = await connector.actions()["create_project"].execute(
        "deal:2:project",
        CreateProjectParams(name="Globex app", client="Globex", lead_account_id=lead),
    )
    key = await milestone(connector, made.external_id)
    params = UpdateMilestoneParams(
        project_key=made.external_id, milestone_id=key, due=date(2026, 4, 1)
    )

    await connector.actions()["update_milestone"].execute("deal:2:m1", params)

    assert fields_of(fake, key)["duedate"] == "2026-04-01"


async def test_epic_update_milestone_of_another_project_says_so(
    fake: JiraFake, epics: JiraConnector
) -> None:
    project = await deal_epic(epics)
    key = await milestone(epics, project)
    lead = next(iter(fake.site.users))
    fake.site.create_project({"key": "OTH", "name": "Other", "leadAccountId": lead})
    params = UpdateMilestoneParams(
        project_key="OTH", milestone_id=key, due=date(2026, 4, 1)
    )

    with pytest.raises(RecordError, match="not an epic of 'OTH'"):
        await epics.actions()["update_milestone"].execute("deal:1:m4", params)
    assert fields_of(fake, key)["duedate"] == "2026-03-01"


async def test_epic_mode_update_milestone_moves_a_version_of_the_shared_project(
    fake: JiraFake, shared: JiraConnector
) -> None:
    project = await deal_epic(shared)
    version = await milestone(shared, project)
    params = UpdateMilestoneParams(
        project_key=project, milestone_id=version, due=date(2026, 3, 20)
    )

    await shared.actions()["update_milestone"].execute("deal:1:m5", params)
    await shared.actions()["update_milestone"].execute("deal:1:m5", params)

    assert fake.site.versions[version]["releaseDate"] == "2026-03-20"
    assert fake.log.count(method="PUT", route="/rest/api/3/version/{id}") == 1
    assert edits(fake) == 0


def test_with_budget_paragraph_adds_a_paragraph_to_an_empty_description() -> None:
    document = with_budget_paragraph(None, {"amount": "5.00"})

    assert document["type"] == "doc"
    assert document_text(document) == BUDGET + "amount: 5.00"


# -- the fake's issue edit ------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"fields": {"duedate": "15/03/2026"}}, "duedate", id="duedate"),
        pytest.param({"fields": {"summary": " "}}, "summary", id="summary"),
        pytest.param({"fields": {"description": "text"}}, "description", id="text"),
        pytest.param({"fields": {"priority": {"id": "1"}}}, "priority", id="unknown"),
    ],
)
async def test_fake_issue_edit_refuses_a_field_it_cannot_set(
    fake: JiraFake, shared: JiraConnector, body: dict[str, Any], field: str
) -> None:
    key = await deal_epic(shared)

    response = await shared.client.put(f"/rest/api/3/issue/{key}", json=body)

    assert response.status_code == 400, response.text
    assert field in response.json()["errors"]
    assert fields_of(fake, key)["summary"] == "Acme portal"


async def test_fake_issue_edit_answers_no_content_or_the_issue_when_asked(
    fake: JiraFake, shared: JiraConnector
) -> None:
    key = await deal_epic(shared)
    path = f"/rest/api/3/issue/{key}"

    quiet = await shared.client.put(path, json={"fields": {"duedate": "2026-05-01"}})
    told = await shared.client.put(
        path, params={"returnIssue": "true"}, json={"fields": {"duedate": None}}
    )

    assert quiet.status_code == 204, quiet.text
    assert told.status_code == 200, told.text
    assert told.json()["key"] == key
    assert told.json()["fields"]["duedate"] is None
