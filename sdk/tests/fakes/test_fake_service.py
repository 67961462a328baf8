"""The FakeService base: auth, error bodies, the request log and its counts."""

from __future__ import annotations

import httpx
import pytest
from notes_fake import NotesFake
from servicesync import VirtualClock


async def test_fake_service_auth_failure_answers_service_body(notes: NotesFake) -> None:
    async with notes.client(headers={"Authorization": "Bearer wrong"}) as client:
        response = await client.get("/notes")

    assert response.status_code == 401, response.text
    assert response.json() == {
        "errors": [
            {"code": "unauthorized", "message": "The token is missing or wrong."}
        ]
    }


async def test_fake_service_unknown_route_answers_service_body(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/nowhere")

    assert response.status_code == 404, response.text
    assert response.json()["errors"][0]["code"] == "not_found"


async def test_fake_service_http_exception_answers_service_body(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/notes", json={"body": "no title"})

    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["message"] == "A note needs a title."


async def test_fake_service_pages_created_notes(
    clock: VirtualClock, client: httpx.AsyncClient
) -> None:
    for n in range(5):
        await client.post("/notes", json={"title": f"n{n}"})
    await clock.sleep(5)  # let the rate limit drain

    second = (await client.get("/notes", params={"page": 2, "per_page": 2})).json()

    assert [note["title"] for note in second["items"]] == ["n2", "n3"]
    assert second["pages"] == 3


async def test_fake_service_seed_hook_loads_records(
    notes: NotesFake, client: httpx.AsyncClient
) -> None:
    notes.seed(notes=[{"title": "seeded"}])

    response = await client.get("/notes/1")

    assert response.json()["title"] == "seeded"


async def test_fake_service_log_never_holds_the_token(notes: NotesFake) -> None:
    async with notes.client() as client:
        await client.get("/notes", params={"access_token": notes.token, "page": 1})
        await client.get(f"/notes/{notes.token}")

    logged = repr(list(notes.log))

    assert len(notes.log) == 2
    assert notes.token not in logged
    assert notes.log[0].query == "access_token=***&page=1"


async def test_fake_service_counts_requests_by_route_and_status(
    notes: NotesFake, client: httpx.AsyncClient
) -> None:
    await client.post("/notes", json={"title": "a"})
    await client.get("/notes/1")
    await client.get("/notes/9")

    counts = notes.log.by_route_and_status()

    assert counts[("GET", "/notes/{note_id:int}", 200)] == 1
    assert counts[("GET", "/notes/{note_id:int}", 404)] == 1
    assert notes.log.count(method="POST", route="/notes", status=201) == 1
    assert notes.log.count(status=503) == 0


async def test_fake_service_log_stamps_requests_with_the_fake_clock(
    clock: VirtualClock, notes: NotesFake, client: httpx.AsyncClient
) -> None:
    clock.advance(90)

    await client.get("/notes")

    assert (notes.log[0].at - VirtualClock().now()).total_seconds() == 90


async def test_fake_service_handler_bug_raises_in_process() -> None:
    class Broken(NotesFake):
        async def list_notes(self, request: object) -> object:  # type: ignore[override]
            raise RuntimeError("bug in the fake")

    fake = Broken(clock=VirtualClock(), seed=0)
    async with fake.client(headers={"Authorization": f"Bearer {fake.token}"}) as c:
        with pytest.raises(RuntimeError, match="bug in the fake"):
            await c.get("/notes")

    assert fake.log.count(status=500) == 1
