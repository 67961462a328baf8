"""Lost and partial answers never make anything twice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from servicesync.errors import ServiceUnavailable
from servicesync_jira import (
    CreateProjectParams,
    CreateTasksParams,
    JiraConnector,
    TaskSpec,
    marker,
    project_key_candidates,
)
from servicesync_jira.fake import JiraFake

PROJECT = CreateProjectParams(name="Acme portal", client="Acme Ltd")


def lead(fake: JiraFake) -> str:
    return next(iter(fake.site.users))


async def make_project(connector: JiraConnector, fake: JiraFake) -> str:
    params = PROJECT.model_copy(update={"lead_account_id": lead(fake)})
    made = await connector.actions()["create_project"].execute("deal:1:project", params)
    return made.external_id


def tasks(count: int) -> CreateTasksParams:
    return CreateTasksParams(
        project_key="",
        tasks=[TaskSpec(ref=f"t{i}", summary=f"Task {i}") for i in range(count)],
    )


async def test_create_project_lost_answer_found_on_retry(
    fake: JiraFake, connector: JiraConnector
) -> None:
    action = connector.actions()["create_project"]
    params = PROJECT.model_copy(update={"lead_account_id": lead(fake)})
    fake.faults.answer_lost(method="POST", path="/rest/api/3/project")

    with pytest.raises(ServiceUnavailable):
        await action.execute("deal:1:project", params)
    found = await action.find("deal:1:project", params)

    assert found is not None
    assert len(fake.site.projects) == 1
    assert fake.log.count(method="POST", route="/rest/api/3/project") == 1


async def test_create_project_retry_after_lost_answer_creates_nothing_twice(
    fake: JiraFake, connector: JiraConnector
) -> None:
    action = connector.actions()["create_project"]
    params = PROJECT.model_copy(update={"lead_account_id": lead(fake)})
    fake.faults.answer_lost(method="POST", path="/rest/api/3/project")
    with pytest.raises(ServiceUnavailable):
        await action.execute("deal:1:project", params)

    again = await action.execute("deal:1:project", params)

    assert list(fake.site.projects) == [again.external_id]


async def test_create_project_never_adopts_a_project_without_marker(
    fake: JiraFake, connector: JiraConnector
) -> None:
    first, second = project_key_candidates("Acme Ltd", "deal:1:project", 2)
    fake.site.create_project(
        {"key": first, "name": "Someone else's", "leadAccountId": lead(fake)}
    )
    action = connector.actions()["create_project"]
    params = PROJECT.model_copy(update={"lead_account_id": lead(fake)})

    assert await action.find("deal:1:project", params) is None
    made = await action.execute("deal:1:project", params)

    assert made.external_id == second
    assert marker("deal:1:project") in fake.site.projects[second]["description"]


async def test_create_tasks_half_failed_bulk_resends_only_failed_items(
    fake: JiraFake, connector: JiraConnector
) -> None:
    key = await make_project(connector, fake)
    params = tasks(40).model_copy(update={"project_key": key})
    fake.fail_next_bulk(range(0, 40, 2))

    result = await connector.actions()["create_tasks"].execute("deal:1:tasks", params)

    assert len(result.data["created"]) == 40
    assert len(fake.issues.issues) == 40
    assert fake.log.count(method="POST", route="/rest/api/3/issue/bulk") == 1
    assert fake.log.count(method="POST", route="/rest/api/3/issue") == 20


async def test_create_tasks_lost_bulk_answer_reconciled_without_duplicates(
    fake: JiraFake, connector: JiraConnector
) -> None:
    key = await make_project(connector, fake)
    params = tasks(40).model_copy(update={"project_key": key})
    fake.faults.answer_lost(method="POST", path="/rest/api/3/issue/bulk")

    result = await connector.actions()["create_tasks"].execute("deal:1:tasks", params)

    assert len(result.data["created"]) == 40
    assert len(fake.issues.issues) == 40
    assert fake.log.count(method="POST", route="/rest/api/3/issue/bulkfetch") >= 1


async def test_create_tasks_search_lag_causes_no_duplicates_on_a_new_connection(
    fake: JiraFake, connector: JiraConnector, make: Callable[..., JiraConnector]
) -> None:
    fake.issues.index_lag = 600.0
    key = await make_project(connector, fake)
    params = tasks(40).model_copy(update={"project_key": key})
    fake.faults.answer_lost(method="POST", path="/rest/api/3/issue/bulk")
    action = connector.actions()["create_tasks"]
    fake.faults.add("drop", method="POST", path="/rest/api/3/issue/bulkfetch", times=6)
    with pytest.raises(ServiceUnavailable):
        await action.execute("deal:1:tasks", params)
    fresh = make()

    found = await fresh.actions()["create_tasks"].find("deal:1:tasks", params)

    assert found is not None
    assert len(found.data["created"]) == 40
    assert len(fake.issues.issues) == 40


async def test_create_tasks_label_search_fallback_finds_issues_once_indexed(
    fake: JiraFake, connector: JiraConnector, state: Any
) -> None:
    fake.issues.index_lag = 15.0
    key = await make_project(connector, fake)
    params = tasks(5).model_copy(update={"project_key": key})
    fake.faults.answer_lost(method="POST", path="/rest/api/3/issue/bulk")
    state.values.pop(f"keyfloor:{key}")

    result = await connector.actions()["create_tasks"].execute("deal:1:tasks", params)

    assert len(result.data["created"]) == 5
    assert len(fake.issues.issues) == 5
    assert fake.log.count(method="POST", route="/rest/api/3/search/jql") >= 2


async def test_create_tasks_half_failed_bulk_with_lost_answer_creates_each_once(
    fake: JiraFake, connector: JiraConnector
) -> None:
    key = await make_project(connector, fake)
    params = tasks(40).model_copy(update={"project_key": key})
    fake.fail_next_bulk(range(0, 40, 2))
    fake.faults.answer_lost(method="POST", path="/rest/api/3/issue/bulk")

    result = await connector.actions()["create_tasks"].execute("deal:1:tasks", params)

    labels = [i["fields"]["labels"][0] for i in fake.issues.issues.values()]
    assert len(result.data["created"]) == 40
    assert len(labels) == len(set(labels)) == 40
    assert fake.log.count(method="POST", route="/rest/api/3/issue") == 20
