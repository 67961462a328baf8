"""Asana's own ``asana`` package works against the fake served on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import asana
import pytest
from servicesync import SystemClock
from servicesync_asana.fake import AsanaFake
from servicesync_sdk.fakes import serve_in_thread

Client = tuple[AsanaFake, Any]


@pytest.fixture
def served() -> Iterator[Client]:
    fake = AsanaFake(clock=SystemClock(), seed=3)
    admin = fake.add_user("py@acme.test", "Py Client")
    token = fake.add_token(admin.gid)
    with serve_in_thread(fake) as url:
        configuration = asana.Configuration()
        configuration.host = f"{url}/api/1.0"
        configuration.access_token = token
        client = asana.ApiClient(configuration)
        yield fake, client


def test_official_client_creates_a_project_and_pages_its_tasks(served: Client) -> None:
    fake, client = served
    projects = asana.ProjectsApi(client)
    tasks = asana.TasksApi(client)
    project = projects.create_project(
        {"data": {"name": "From the SDK", "team": fake.space.team}}, {}
    )
    for n in range(7):
        tasks.create_task({"data": {"name": f"T{n}", "projects": [project["gid"]]}}, {})

    listed = list(
        tasks.get_tasks_for_project(project["gid"], {"limit": 3, "opt_fields": "name"})
    )

    assert [t["name"] for t in listed] == [f"T{n}" for n in range(7)]
    assert fake.log.count(route="/api/1.0/projects/{project_gid}/tasks") == 3


def test_official_client_sends_a_batch(served: Client) -> None:
    fake, client = served
    project = fake.space.create_project({"name": "P", "team": fake.space.team}, None)
    batch = asana.BatchAPIApi(client)
    actions = [
        {
            "relative_path": f"/projects/{project.gid}/sections",
            "method": "post",
            "data": {"name": f"S{n}"},
        }
        for n in range(3)
    ]

    answers = batch.create_batch_request({"data": {"actions": actions}}, {})

    assert [a["status_code"] for a in answers] == [201, 201, 201]
    assert fake.log.count(method="POST", route="/api/1.0/batch") == 1


def test_official_client_reads_events_from_a_fresh_token(served: Client) -> None:
    fake, client = served
    project = fake.space.create_project({"name": "P", "team": fake.space.team}, None)
    events = asana.EventsApi(client)
    token = fake.events.issue(project.gid)
    fake.space.create_task({"name": "Watched", "projects": [project.gid]}, None)

    found = list(events.get_events(project.gid, {"sync": token}))
    fresh = list(events.get_events(project.gid, {}))

    assert [e["resource"]["name"] for e in found] == ["Watched"]
    assert fresh == []
    assert fake.log.count(route="/api/1.0/events", status=412) == 1
