"""Marking, unmarking and archiving a project, and reading one by key or id."""

from __future__ import annotations

import httpx
import pytest
from jira_spec import Recorder, check, load_spec
from servicesync.errors import RecordError, ServiceUnavailable
from servicesync_jira import (
    MARK_PREFIX,
    CreateProjectParams,
    JiraConnector,
    MarkProjectParams,
    ProjectParams,
    marker,
)
from servicesync_jira.fake import JiraFake

ARCHIVE = "/rest/api/3/project/{key}/archive"
PROJECT = "/rest/api/3/project/{key}"


async def make_project(connector: JiraConnector, fake: JiraFake) -> str:
    lead = next(iter(fake.site.users))
    params = CreateProjectParams(
        name="Acme portal",
        client="Acme Ltd",
        description="Portal rebuild.",
        lead_account_id=lead,
    )
    made = await connector.actions()["create_project"].execute("deal:1:project", params)
    return made.external_id


def description(fake: JiraFake, key: str) -> str:
    return str(fake.site.projects[key]["description"])


async def mark(connector: JiraConnector, key: str, note: str) -> None:
    params = MarkProjectParams(project_key=key, note=note)
    await connector.actions()["mark_project"].execute(f"mark:{note}", params)


async def test_mark_project_puts_one_line_on_top_and_keeps_the_rest(
    fake: JiraFake, connector: JiraConnector
) -> None:
    key = await make_project(connector, fake)

    await mark(connector, key, "Deal lost on 2026-01-05.")
    await mark(connector, key, "Deal lost on 2026-01-05.")

    lines = description(fake, key).splitlines()
    assert lines[0] == f"{MARK_PREFIX}Deal lost on 2026-01-05."
    assert "Portal rebuild." in lines
    assert marker("deal:1:project") in lines[-1]
    assert fake.log.count(method="PUT", route=PROJECT) == 1


async def test_mark_project_with_a_new_note_replaces_the_old_mark(
    fake: JiraFake, connector: JiraConnector
) -> None:
    key = await make_project(connector, fake)

    await mark(connector, key, "Deal lost.")
    await mark(connector, key, "Deal lost   again,\nfor good.")

    marks = [
        line
        for line in description(fake, key).splitlines()
        if line.startswith(MARK_PREFIX)
    ]
    assert marks == [f"{MARK_PREFIX}Deal lost again, for good."]


async def test_mark_project_find_sees_an_earlier_mark_only(
    fake: JiraFake, connector: JiraConnector
) -> None:
    key = await make_project(connector, fake)
    action = connector.actions()["mark_project"]
    params = MarkProjectParams(project_key=key, note="Deal lost.")

    before = await action.find("k", params)
    await action.execute("k", params)
    after = await action.find("k", params)

    assert before is None
    assert after is not None and after.external_id == key


async def test_unmark_project_restores_the_description_and_writes_once(
    fake: JiraFake, connector: JiraConnector
) -> None:
    key = await make_project(connector, fake)
    original = description(fake, key)
    await mark(connector, key, "Deal lost.")
    action = connector.actions()["unmark_project"]

    await action.execute("unmark:1", ProjectParams(project_key=key))
    found = await action.find("unmark:2", ProjectParams(project_key=key))
    await action.execute("unmark:2", ProjectParams(project_key=key))

    assert description(fake, key) == original
    assert found is not None
    assert fake.log.count(method="PUT", route=PROJECT) == 2  # mark, then unmark


async def test_archive_project_archives_once_and_hides_it_from_search(
    fake: JiraFake, connector: JiraConnector
) -> None:
    key = await make_project(connector, fake)
    action = connector.actions()["archive_project"]

    result = await action.execute("archive:1", ProjectParams(project_key=key))
    again = await action.execute("archive:2", ProjectParams(project_key=key))

    assert result.data["archived"] is True and again.external_id == key
    assert fake.log.count(method="POST", route=ARCHIVE, status=204) == 1
    assert fake.log.count(method="POST", route=ARCHIVE) == 1
    live = await connector.client.get("/rest/api/3/project/search")
    archived = await connector.client.get(
        "/rest/api/3/project/search", params={"status": "archived"}
    )
    assert live.json()["values"] == []
    assert [p["key"] for p in archived.json()["values"]] == [key]


async def test_archive_project_lost_answer_is_found_not_repeated(
    fake: JiraFake, connector: JiraConnector
) -> None:
    key = await make_project(connector, fake)
    action = connector.actions()["archive_project"]
    fake.faults.answer_lost(method="POST", path=f"/rest/api/3/project/{key}/archive")

    with pytest.raises(ServiceUnavailable):
        await action.execute("archive:1", ProjectParams(project_key=key))
    found = await action.find("archive:1", ProjectParams(project_key=key))

    assert found is not None and found.data["archived"] is True
    assert fake.log.count(method="POST", route=ARCHIVE) == 1


async def test_project_actions_refuse_a_project_that_does_not_exist(
    connector: JiraConnector,
) -> None:
    action = connector.actions()["archive_project"]

    with pytest.raises(RecordError, match="'NOPE' does not exist"):
        await action.execute("archive:1", ProjectParams(project_key="NOPE"))


async def test_get_project_by_id_answers_with_its_key(
    fake: JiraFake, connector: JiraConnector
) -> None:
    key = await make_project(connector, fake)
    project_id = fake.site.projects[key]["id"]

    by_id = await connector.get_project(project_id)
    missing = await connector.get_project("NOPE")

    assert by_id is not None
    assert (by_id.external_id, by_id.data["name"]) == (key, "Acme portal (" + key + ")")
    assert by_id.url == f"{connector.config.base_url}/browse/{key}"
    assert missing is None


async def test_fake_refuses_a_field_update_project_details_does_not_have(
    fake: JiraFake, connector: JiraConnector
) -> None:
    key = await make_project(connector, fake)

    response = await connector.client.put(
        f"/rest/api/3/project/{key}", json={"colour": "red"}
    )

    assert response.status_code == 400, response.text
    assert "colour" in response.json()["errorMessages"][0]


async def test_fake_refuses_to_archive_an_archived_project(
    fake: JiraFake, connector: JiraConnector
) -> None:
    key = await make_project(connector, fake)
    first = await connector.client.post(f"/rest/api/3/project/{key}/archive")

    second = await connector.client.post(f"/rest/api/3/project/{key}/archive")

    assert first.status_code == 204, first.text
    assert second.status_code == 400, second.text


@pytest.mark.shared
async def test_spec_project_lifecycle_exchanges_match_the_description(
    fake: JiraFake, connector: JiraConnector
) -> None:
    spec = load_spec()
    key = await make_project(connector, fake)
    transport = connector.client.http._transport
    assert isinstance(transport, httpx.AsyncBaseTransport)
    recorder = Recorder(transport)
    connector.client.http._transport = recorder

    await connector.get_project(key)
    await connector.get_project("NOPE")
    await mark(connector, key, "Deal lost.")
    await connector.actions()["unmark_project"].execute(
        "unmark", ProjectParams(project_key=key)
    )
    await connector.actions()["archive_project"].execute(
        "archive", ProjectParams(project_key=key)
    )
    await connector.get_project(key)
    await connector.client.get(
        "/rest/api/3/project/search", params={"status": "archived"}
    )

    problems = [p for e in recorder.exchanges for p in check(spec, e)]
    assert problems == []
    seen = {(e.method, e.status) for e in recorder.exchanges}
    assert {("PUT", 200), ("POST", 204), ("GET", 404)} <= seen
