"""Changing a project after it was made, and reading it back as delivery items."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from servicesync.contract import StreamState
from servicesync.domain import ProjectStatus
from servicesync.engine import DeliveryView
from servicesync_jira import (
    CreateMilestoneParams,
    CreateProjectParams,
    JiraConnector,
    UpdateMilestoneParams,
    UpdateProjectParams,
    VersionsStream,
)
from servicesync_jira.fake import JiraFake

PROJECT_ROUTE = "/rest/api/3/project/{key}"
VERSION_ROUTE = "/rest/api/3/version/{id}"


async def make_project(connector: JiraConnector, fake: JiraFake) -> str:
    lead = next(iter(fake.site.users))
    params = CreateProjectParams(
        name="Acme portal", client="Acme Ltd", lead_account_id=lead
    )
    made = await connector.actions()["create_project"].execute("deal:1:project", params)
    return made.external_id


async def make_version(connector: JiraConnector, key: str) -> str:
    params = CreateMilestoneParams(project_key=key, name="Beta", due=date(2026, 3, 1))
    made = await connector.actions()["create_milestone"].execute("deal:1:beta", params)
    return made.external_id


async def test_update_project_sets_the_budget_line_and_keeps_the_rest(
    fake: JiraFake, connector: JiraConnector
) -> None:
    key = await make_project(connector, fake)
    params = UpdateProjectParams(
        project_key=key, title="Acme web portal", amount=Decimal("1200.5"), scope=40
    )

    await connector.actions()["update_project"].execute("deal:1:u1", params)

    project = fake.site.projects[key]
    assert project["name"] == f"Acme web portal ({key})"
    assert project["description"].splitlines()[-1] == (
        "[servicesync budget] amount: 1200.50; scope: 40.00"
    )
    assert "servicesync:" in project["description"]


async def test_update_project_after_a_lost_answer_writes_nothing_more(
    fake: JiraFake, connector: JiraConnector
) -> None:
    key = await make_project(connector, fake)
    action = connector.actions()["update_project"]
    params = UpdateProjectParams(project_key=key, amount=Decimal(900))
    fake.faults.answer_lost(method="PUT", path=f"/rest/api/3/project/{key}")
    await action.execute("deal:1:u2", params)  # the client sends the PUT again
    puts = fake.log.count(method="PUT", route=PROJECT_ROUTE)

    found = await action.find("deal:1:u2", params)
    again = await action.execute("deal:1:u2", params)

    assert found is not None and again.external_id == key
    assert fake.log.count(method="PUT", route=PROJECT_ROUTE) == puts


async def test_update_milestone_moves_the_release_date_once(
    fake: JiraFake, connector: JiraConnector
) -> None:
    key = await make_project(connector, fake)
    version = await make_version(connector, key)
    action = connector.actions()["update_milestone"]
    params = UpdateMilestoneParams(
        project_key=key, milestone_id=version, due=date(2026, 3, 15)
    )

    await action.execute("deal:1:m1", params)
    await action.execute("deal:1:m1", params)

    assert fake.site.versions[version]["releaseDate"] == "2026-03-15"
    assert fake.log.count(method="PUT", route=VERSION_ROUTE) == 1
    assert await action.find("deal:1:m1", params) is not None


async def test_fake_version_update_refuses_a_name_in_use(
    fake: JiraFake, connector: JiraConnector
) -> None:
    key = await make_project(connector, fake)
    version = await make_version(connector, key)
    other = CreateMilestoneParams(project_key=key, name="Launch")
    await connector.actions()["create_milestone"].execute("deal:1:launch", other)

    response = await connector.client.put(
        f"/rest/api/3/version/{version}", json={"name": "Launch"}
    )

    assert response.status_code == 400, response.text
    assert "name" in response.json()["errors"]


async def test_delivery_items_read_project_version_and_issue(
    fake: JiraFake, connector: JiraConnector
) -> None:
    key = await make_project(connector, fake)
    version = await make_version(connector, key)
    update = UpdateProjectParams(project_key=key, amount=Decimal(10), currency="EUR")
    await connector.actions()["update_project"].execute("deal:1:u3", update)
    issue = fake.issues.create(
        {
            "fields": {
                "project": {"key": key},
                "issuetype": {"name": "Task"},
                "summary": "Build",
                "fixVersions": [{"id": version}],
            }
        }
    )
    fake.transition(issue["key"], "Done")
    [record] = await connector.streams()[2].read_records([issue["id"]])  # type: ignore[misc]
    pages = [p async for p in VersionsStream(connector).read(StreamState())]
    project = fake.site.project_json(fake.site.projects[key])

    assert isinstance(connector, DeliveryView)
    task = connector.delivery_item("issues", record.payload)
    milestone = connector.delivery_item("versions", pages[0].records[0].payload)
    whole = connector.delivery_item("projects", project)
    assert task is not None and task.done and task.milestones == (version,)
    assert milestone is not None and milestone.due == date(2026, 3, 1)
    assert milestone.project == key
    assert whole is not None and whole.values == {
        "amount": "10.00",
        "currency": "EUR",
        "title": "Acme portal",
    }
    assert whole.state is None


async def test_delivery_item_of_a_marked_project_is_on_hold(
    fake: JiraFake, connector: JiraConnector
) -> None:
    key = await make_project(connector, fake)
    mark = connector.actions()["mark_project"]
    params = mark.params_model.model_validate({"project_key": key, "note": "Lost."})
    await mark.execute("deal:1:mark", params)

    project = fake.site.project_json(fake.site.projects[key])
    item = connector.delivery_item("projects", project)

    assert item is not None and item.state is ProjectStatus.ON_HOLD
