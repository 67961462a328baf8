"""Every call the connector makes, and every answer of the fake, fits the spec."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from asana_helpers import HOOK_TARGET, TEAM, TOKEN, ConnectorFactory, receiver
from asana_spec import Exchange, Recorder, check, load_spec, seen
from servicesync import VirtualClock
from servicesync.contract import StreamState
from servicesync_asana import (
    AddTeamParams,
    AsanaConnector,
    CreateMilestoneParams,
    CreateProjectParams,
    DeliveryPlan,
    MarkProjectParams,
    MilestoneSpec,
    ProjectParams,
    TaskSpec,
    UpdateMilestoneParams,
    UpdateProjectParams,
    provision,
)
from servicesync_asana.fake import AsanaFake

pytestmark = pytest.mark.shared

#: Every operation the connector calls, directly or inside ``/batch``.
CONNECTOR_OPERATIONS = {
    ("GET", "/users/{user_gid}"),
    ("GET", "/users"),
    ("GET", "/workspaces/{workspace_gid}/projects"),
    ("GET", "/teams/{team_gid}/projects"),
    ("POST", "/projects"),
    ("GET", "/projects/{project_gid}"),
    ("PUT", "/projects/{project_gid}"),
    ("POST", "/projects/{project_gid}/addMembers"),
    ("GET", "/projects/{project_gid}/sections"),
    ("POST", "/projects/{project_gid}/sections"),
    ("PUT", "/sections/{section_gid}"),
    ("GET", "/projects/{project_gid}/tasks"),
    ("GET", "/tasks"),
    ("POST", "/tasks"),
    ("GET", "/tasks/{task_gid}"),
    ("PUT", "/tasks/{task_gid}"),
    ("POST", "/project_templates/{project_template_gid}/instantiateProject"),
    ("GET", "/jobs/{job_gid}"),
    ("POST", "/batch"),
    ("GET", "/events"),
    ("GET", "/webhooks"),
    ("POST", "/webhooks"),
    ("DELETE", "/webhooks/{webhook_gid}"),
}


async def drain(
    connector: AsanaConnector, state: StreamState
) -> dict[str, StreamState]:
    """Read every stream once from ``state``; return where each ended."""
    ended = {}
    for stream in connector.streams():
        current = state
        async for page in stream.read(state):
            current = page.checkpoint
        ended[stream.name] = current
    return ended


def plan(deal: str, tasks: int = 12) -> DeliveryPlan:
    return DeliveryPlan(
        deal_id=deal,
        client="Globex",
        name=f"Globex {deal}",
        team=[*TEAM, "stranger@elsewhere.test"],
        milestones=[
            MilestoneSpec(ref=f"m{i}", name=f"Phase {i}", due=date(2026, 3, 1))
            for i in range(3)
        ],
        tasks=[
            TaskSpec(
                ref=f"t{i}",
                summary=f"Task {i}",
                milestone=f"m{i % 3}",
                assignee_email="ghost@acme.test" if i == 0 else TEAM[i % 4],
                due=date(2026, 3, 10),
            )
            for i in range(tasks)
        ],
    )


async def register_and_remove(connector: AsanaConnector) -> None:
    """Register webhooks, list them, remove each, and remove one again (404)."""
    registrar = connector.webhook_registrar()
    assert registrar is not None
    made = await registrar.register(HOOK_TARGET, None)
    assert made and await registrar.webhooks() == made
    for hook in made:
        await registrar.remove(hook)
    await registrar.remove(made[0])


async def change(connector: AsanaConnector, project: str, section: str) -> None:
    """Carry a deal's changes to the project: its title, budget and dates."""
    actions = connector.actions()
    update = UpdateProjectParams(
        project_key=project, title="Globex D-1 v2", amount=Decimal(9000)
    )
    await actions["update_project"].execute("deal:D-1:update", update)
    assert await actions["update_project"].find("deal:D-1:update", update)
    moved = UpdateMilestoneParams(
        project_key=project, milestone_id=section, due=date(2026, 3, 20), name="Go"
    )
    await actions["update_milestone"].execute("deal:D-1:move", moved)
    assert await actions["update_milestone"].find("deal:D-1:move", moved)


async def exercise(
    fake: AsanaFake, make: ConnectorFactory, clock: VirtualClock
) -> Recorder:
    """Drive every path of the connector through a recorder."""
    recorder = Recorder(fake.transport())
    connector = make(transport=recorder, page_size=5)
    fake.hook_receiver = receiver(connector)
    await connector.check()
    made = await provision(connector, plan("D-1"))
    project = made.project.external_id
    found = await connector.actions()["create_project"].find(
        "deal:D-1:project", CreateProjectParams(name="Globex D-1")
    )
    assert found is not None
    team = AddTeamParams(project_key=project, emails=TEAM)
    assert await connector.actions()["add_team"].find("deal:D-1:team", team)
    await change(connector, project, made.sections["m0"])
    template = fake.space.add_template(
        "Delivery", ["Phase 0"], [("Kick-off", "Phase 0")]
    )
    templated = make(transport=recorder, project_template=template.gid)
    result = await provision(templated, plan("D-2", tasks=2))
    await templated.actions()["create_milestone"].execute(
        "other",
        CreateMilestoneParams(project_key=result.project.external_id, name="Phase 0"),
    )
    clock.advance(5)
    saved = await drain(connector, StreamState())
    task = next(iter(made.tasks.data["created"].values()))
    fake.space.update_task(task, {"completed": True}, None)
    clock.advance(5)
    await drain(connector, saved["tasks"])
    fake.events.expire()
    clock.advance(5)
    await drain(connector, saved["tasks"])
    mark = MarkProjectParams(project_key=project, note="Deal lost.")
    await connector.actions()["mark_project"].execute("lost", mark)
    await connector.actions()["archive_project"].execute(
        "archived", ProjectParams(project_key=project)
    )
    await register_and_remove(connector)
    everywhere = make(transport=recorder, team=None, page_size=5)
    async for _ in everywhere.streams()[0].read(StreamState()):
        pass
    return recorder


async def test_spec_connector_calls_match_the_description(
    fake: AsanaFake, make: ConnectorFactory, clock: VirtualClock
) -> None:
    spec = load_spec()

    recorder = await exercise(fake, make, clock)

    problems = [p for e in recorder.exchanges for p in check(spec, e)]
    assert problems == []
    called = seen(recorder.exchanges, spec)
    assert {(m, t) for m, t, _ in called} == CONNECTOR_OPERATIONS
    expected = {
        ("POST", "/batch", 200),
        ("POST", "/tasks", 201),
        ("POST", "/tasks", 400),
        ("GET", "/tasks/{task_gid}", 200),
        ("POST", "/projects/{project_gid}/addMembers", 400),
        ("GET", "/events", 412),
        ("GET", "/events", 200),
        ("GET", "/jobs/{job_gid}", 200),
    }
    assert expected <= called


@pytest.fixture
async def http(fake: AsanaFake) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=Recorder(fake.transport()),
        base_url=f"{fake.base_url}/api/1.0",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as client:
        yield client


def calls(fake: AsanaFake) -> list[tuple[str, str, dict[str, Any] | None]]:
    """One valid call per operation the connector makes."""
    space = fake.space
    project = space.create_project({"name": "P", "team": space.team}, None)
    section = project.sections[0]
    task = space.create_task({"name": "T", "projects": [project.gid]}, None)
    template = space.add_template("Tpl", ["A"], [("x", "A")])
    job = space.instantiate(template.gid, {"name": "From tpl"}, None)
    hook = fake.add_webhook(project.gid, "https://hooks.acme.test/a", "s" * 64)
    target = "https://hooks.acme.test/b"
    sync = fake.events.issue(project.gid)
    return [
        ("GET", "/users/me", None),
        ("GET", f"/users?workspace={space.gid}&limit=10", None),
        ("GET", f"/workspaces/{space.gid}/projects?limit=10", None),
        ("GET", f"/teams/{space.team}/projects?limit=10", None),
        ("POST", "/projects", {"data": {"name": "N", "team": space.team}}),
        ("GET", f"/projects/{project.gid}", None),
        ("PUT", f"/projects/{project.gid}", {"data": {"notes": "Noted."}}),
        ("POST", f"/projects/{project.gid}/addMembers", {"data": {"members": TEAM[0]}}),
        ("GET", f"/projects/{project.gid}/sections?limit=10", None),
        ("POST", f"/projects/{project.gid}/sections", {"data": {"name": "S"}}),
        ("GET", f"/projects/{project.gid}/tasks?limit=10", None),
        ("GET", f"/tasks?project={project.gid}&limit=10", None),
        (
            "POST",
            "/tasks",
            {
                "data": {
                    "name": "N",
                    "memberships": [{"project": project.gid, "section": section}],
                }
            },
        ),
        ("GET", f"/tasks/{task.gid}", None),
        ("PUT", f"/tasks/{task.gid}", {"data": {"due_on": "2026-03-20"}}),
        ("PUT", f"/sections/{section}", {"data": {"name": "Renamed"}}),
        (
            "POST",
            f"/project_templates/{template.gid}/instantiateProject",
            {"data": {"name": "I"}},
        ),
        ("GET", f"/jobs/{job.gid}", None),
        (
            "POST",
            "/batch",
            {
                "data": {
                    "actions": [
                        {"relative_path": f"/tasks/{task.gid}", "method": "get"}
                    ]
                }
            },
        ),
        ("GET", f"/events?resource={project.gid}&sync={sync}", None),
        ("GET", f"/webhooks?workspace={space.gid}&limit=10", None),
        ("POST", "/webhooks", {"data": {"resource": project.gid, "target": target}}),
        ("DELETE", f"/webhooks/{hook.gid}", None),
    ]


def refused_inputs(fake: AsanaFake) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Calls the fake refuses with 400 or 404, one or more per operation."""
    space = fake.space
    project = next(iter(space.projects))
    section = space.projects[project].sections[0]
    task = next(iter(space.tasks))
    return [
        ("GET", "/users/nobody@nowhere.test", None),
        ("GET", "/users?workspace=1&limit=10", None),
        ("GET", "/workspaces/1/projects?limit=10", None),
        ("GET", "/teams/1/projects?limit=101", None),
        ("POST", "/projects", {"data": {"name": "No team"}}),
        ("GET", "/projects/1", None),
        ("PUT", "/projects/1", {"data": {"archived": True}}),
        ("POST", f"/projects/{project}/addMembers", {"data": {"members": "x@y.test"}}),
        ("GET", "/projects/1/sections", None),
        ("POST", f"/projects/{project}/sections", {"data": {}}),
        ("GET", f"/projects/{project}/tasks?limit=10&offset=not-a-token", None),
        ("GET", "/tasks?limit=10", None),
        ("POST", "/tasks", {"data": {"name": "Nowhere"}}),
        ("GET", "/tasks/1", None),
        ("PUT", "/tasks/1", {"data": {"due_on": "2026-03-20"}}),
        ("PUT", f"/tasks/{task}", {"data": {"due_on": "the 20th"}}),
        ("PUT", "/sections/1", {"data": {"name": "Renamed"}}),
        ("PUT", f"/sections/{section}", {"data": {"name": ""}}),
        ("POST", "/project_templates/1/instantiateProject", {"data": {"name": "I"}}),
        ("GET", "/jobs/1", None),
        ("POST", "/batch", {"data": {"actions": []}}),
        ("GET", "/events", None),
        ("GET", "/webhooks?limit=10", None),
        ("GET", "/webhooks?workspace=1&limit=10", None),
        ("POST", "/webhooks", {"data": {"resource": "1", "target": HOOK_TARGET}}),
        (
            "POST",
            "/webhooks",
            {"data": {"resource": project, "target": "https://localhost/x"}},
        ),
        ("DELETE", "/webhooks/1", None),
    ]


def echo(request: httpx.Request) -> httpx.Response:
    """A webhook target that confirms every handshake."""
    secret = request.headers.get("X-Hook-Secret", "")
    return httpx.Response(200, headers={"X-Hook-Secret": secret})


async def send(
    http: httpx.AsyncClient, call: tuple[str, str, dict[str, Any] | None]
) -> None:
    method, url, body = call
    await http.request(method, url, json=body)


async def test_spec_every_status_the_fake_answers_matches_the_description(
    fake: AsanaFake, http: httpx.AsyncClient
) -> None:
    spec = load_spec()
    fake.hook_receiver = echo
    valid = calls(fake)
    for call in valid:
        await send(http, call)
    recorder = http._transport
    assert isinstance(recorder, Recorder)
    mark = len(recorder.exchanges)
    for call in refused_inputs(fake):
        await send(http, call)
    refused = recorder.exchanges[mark:]
    for call in valid:
        fake.faults.add("error", status=503, times=1)
        await send(http, call)
    async with httpx.AsyncClient(
        transport=http._transport,
        base_url=http.base_url,
        headers={"Authorization": "Bearer wrong-token"},
    ) as stranger:
        for call in valid:
            await send(stranger, call)
    fake.set_budget(1)
    await send(http, ("GET", "/users/me", None))  # spends the minute's budget
    for call in valid:
        await send(http, call)

    exchanges: list[Exchange] = recorder.exchanges
    assert [p for e in refused for p in check(spec, e, requests=False)] == []
    others = [e for e in exchanges if e not in refused]
    assert [p for e in others for p in check(spec, e)] == []
    called = seen(exchanges, spec)
    for method, template in CONNECTOR_OPERATIONS:
        statuses = {s for m, t, s in called if (m, t) == (method, template)}
        assert {401, 429, 503} <= statuses, (method, template, statuses)
        assert statuses & {200, 201}, (method, template, statuses)
        assert statuses & {400, 404, 412}, (method, template, statuses)
