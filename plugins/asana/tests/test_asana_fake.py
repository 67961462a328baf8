"""The fake answers as Asana does: auth, paging, limits, batch, jobs, events, hooks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from asana_helpers import TOKEN
from servicesync import VirtualClock
from servicesync_asana import format_time
from servicesync_asana.fake import AsanaFake, FakeProject, factory
from servicesync_sdk.signatures import verify_hmac_sha256_hex


@pytest.fixture
async def http(fake: AsanaFake) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=fake.transport(),
        base_url=f"{fake.base_url}/api/1.0",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as client:
        yield client


def project(fake: AsanaFake, tasks: int = 0) -> FakeProject:
    made = fake.space.create_project({"name": "P", "team": fake.space.team}, None)
    for n in range(tasks):
        fake.space.create_task({"name": f"T{n}", "projects": [made.gid]}, None)
    return made


def action(path: str, method: str = "get", **data: Any) -> dict[str, Any]:
    return {"relative_path": path, "method": method, "data": data}


async def test_fake_refuses_a_wrong_token_with_asana_errors(fake: AsanaFake) -> None:
    async with httpx.AsyncClient(
        transport=fake.transport(), headers={"Authorization": "Bearer nope"}
    ) as client:
        response = await client.get(f"{fake.base_url}/api/1.0/users/me")

    assert response.status_code == 401, response.text
    assert response.json()["errors"][0]["message"]


async def test_fake_pages_with_offset_tokens_up_to_100(
    fake: AsanaFake, http: httpx.AsyncClient
) -> None:
    made = project(fake, tasks=250)
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 100}

    while True:
        body = (await http.get(f"/projects/{made.gid}/tasks", params=params)).json()
        seen += [t["gid"] for t in body["data"]]
        if body["next_page"] is None:
            break
        params["offset"] = body["next_page"]["offset"]
    too_many = await http.get(f"/projects/{made.gid}/tasks", params={"limit": 101})

    assert seen == made.tasks
    assert too_many.status_code == 400


async def test_fake_offset_token_expires(
    fake: AsanaFake, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    made = project(fake, tasks=3)
    first = await http.get(f"/projects/{made.gid}/tasks", params={"limit": 1})
    clock.advance(fake.pager.ttl + 1)

    late = await http.get(
        f"/projects/{made.gid}/tasks",
        params={"limit": 1, "offset": first.json()["next_page"]["offset"]},
    )

    assert late.status_code == 400
    assert "offset" in late.json()["errors"][0]["message"]


async def test_fake_rate_limit_counts_each_batch_action(
    fake: AsanaFake, http: httpx.AsyncClient
) -> None:
    made = project(fake, tasks=1)
    fake.set_budget(15)
    actions = [action(f"/tasks/{made.tasks[0]}")] * 10

    first = await http.post("/batch", json={"data": {"actions": actions}})
    second = await http.post("/batch", json={"data": {"actions": actions}})

    assert first.status_code == 200
    assert second.status_code == 429
    assert int(second.headers["Retry-After"]) > 0
    assert second.json()["errors"][0]["message"]


async def test_fake_batch_takes_at_most_ten_actions(
    fake: AsanaFake, http: httpx.AsyncClient
) -> None:
    made = project(fake)
    actions = [
        action("/tasks", "post", name=f"T{n}", projects=[made.gid]) for n in range(11)
    ]

    refused = await http.post("/batch", json={"data": {"actions": actions}})
    taken = await http.post("/batch", json={"data": {"actions": actions[:10]}})

    assert refused.status_code == 400
    assert [r["status_code"] for r in taken.json()["data"]] == [201] * 10
    assert len(made.tasks) == 10


async def test_fake_batch_refuses_query_text_in_a_path(
    fake: AsanaFake, http: httpx.AsyncClient
) -> None:
    made = project(fake, tasks=1)
    actions = [action(f"/projects/{made.gid}/tasks?limit=1")]

    answer = await http.post("/batch", json={"data": {"actions": actions}})

    assert answer.json()["data"][0]["status_code"] == 400


async def test_fake_template_job_succeeds_after_a_while(
    fake: AsanaFake, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    template = fake.space.add_template("T", ["A"], [("x", "A")])

    started = await http.post(
        f"/project_templates/{template.gid}/instantiateProject",
        json={"data": {"name": "New"}},
    )
    job = started.json()["data"]
    clock.advance(fake.space.job_seconds)
    done = await http.get(f"/jobs/{job['gid']}")

    assert job["status"] == "in_progress"
    assert done.json()["data"]["status"] == "succeeded"
    assert done.json()["data"]["new_project"]["name"] == "New"


async def test_fake_events_start_with_412_then_list_changes(
    fake: AsanaFake, http: httpx.AsyncClient
) -> None:
    made = project(fake)

    first = await http.get("/events", params={"resource": made.gid})
    fake.space.create_task({"name": "T", "projects": [made.gid]}, None)
    later = await http.get(
        "/events", params={"resource": made.gid, "sync": first.json()["sync"]}
    )

    assert first.status_code == 412
    assert [e["action"] for e in later.json()["data"]] == ["added"]
    assert later.json()["has_more"] is False


async def test_fake_events_come_100_at_a_time(
    fake: AsanaFake, http: httpx.AsyncClient
) -> None:
    made = project(fake)
    token = fake.events.issue(made.gid)
    project_of_many = made.gid
    for n in range(150):
        fake.space.create_task({"name": f"T{n}", "projects": [project_of_many]}, None)

    first = await http.get("/events", params={"resource": made.gid, "sync": token})
    second = await http.get(
        "/events", params={"resource": made.gid, "sync": first.json()["sync"]}
    )

    assert (len(first.json()["data"]), first.json()["has_more"]) == (100, True)
    assert (len(second.json()["data"]), second.json()["has_more"]) == (50, False)


async def test_fake_webhook_handshake_then_signed_deliveries(
    fake: AsanaFake, http: httpx.AsyncClient
) -> None:
    made = project(fake)
    received: list[httpx.Request] = []

    def target(request: httpx.Request) -> httpx.Response:
        received.append(request)
        secret = request.headers.get("X-Hook-Secret")
        return httpx.Response(200, headers={"X-Hook-Secret": secret} if secret else {})

    fake.hook_receiver = target
    created = await http.post(
        "/webhooks",
        json={"data": {"resource": made.gid, "target": "https://hooks.acme.test/x"}},
    )
    secret = created.json()["X-Hook-Secret"]
    fake.space.create_task({"name": "T", "projects": [made.gid]}, None)
    await fake.webhooks.flush()

    assert created.status_code == 201, created.text
    handshake, event = received
    assert handshake.headers["X-Hook-Secret"] == secret
    assert verify_hmac_sha256_hex(
        secret, event.content, event.headers["X-Hook-Signature"]
    )


async def test_fake_modified_since_leaves_out_older_tasks(
    fake: AsanaFake, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    made = project(fake, tasks=3)
    since = format_time(clock.now() + timedelta(seconds=30))
    clock.advance(60)
    fake.space.update_task(made.tasks[1], {"completed": True}, None)

    listed = await http.get(
        "/tasks", params={"project": made.gid, "modified_since": since}
    )

    assert [t["gid"] for t in listed.json()["data"]] == [made.tasks[1]]


def test_fake_factory_gives_a_token_for_the_admin() -> None:
    fake = factory(clock=VirtualClock(), seed=1)

    assert fake.credentials()["token:admin@example.com"] in fake.tokens
