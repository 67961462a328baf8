"""Fault injection as an httpx client sees it through FaultyTransport."""

from __future__ import annotations

import json

import httpx
import pytest
from notes_fake import NotesFake
from servicesync import VirtualClock
from servicesync_sdk.fakes import FaultKind, FaultPlan, FaultyTransport


async def test_fault_timeout_never_reaches_the_service(
    notes: NotesFake, client: httpx.AsyncClient
) -> None:
    notes.faults.add(FaultKind.TIMEOUT, method="POST", path="/notes", times=1)

    with pytest.raises(httpx.ReadTimeout):
        await client.post("/notes", json={"title": "lost"})

    assert notes.notes == {}
    assert notes.log[0].fault == "timeout"


async def test_fault_drop_raises_remote_protocol_error(
    notes: NotesFake, client: httpx.AsyncClient
) -> None:
    notes.faults.add("drop", path="/notes/*")

    with pytest.raises(httpx.RemoteProtocolError):
        await client.get("/notes/1")


async def test_fault_error_answers_5xx_without_applying(
    notes: NotesFake, client: httpx.AsyncClient
) -> None:
    notes.faults.add(FaultKind.ERROR, method="POST", status=502, times=1)

    response = await client.post("/notes", json={"title": "x"})

    assert response.status_code == 502, response.text
    assert response.json()["errors"][0]["code"] == "error"
    assert notes.notes == {}


async def test_fault_truncate_cuts_the_body_after_applying(
    notes: NotesFake, client: httpx.AsyncClient
) -> None:
    notes.faults.add(FaultKind.TRUNCATE, method="POST", times=1)

    response = await client.post("/notes", json={"title": "half"})

    with pytest.raises(json.JSONDecodeError):
        response.json()
    assert len(notes.notes) == 1


async def test_fault_malform_replaces_the_body(
    notes: NotesFake, client: httpx.AsyncClient
) -> None:
    notes.faults.add(FaultKind.MALFORM, method="GET")

    response = await client.get("/notes")

    assert response.text.startswith("<html>")


async def test_fault_answer_lost_applies_the_write(
    notes: NotesFake, client: httpx.AsyncClient
) -> None:
    notes.faults.answer_lost(method="POST", path="/notes")

    with pytest.raises(httpx.RemoteProtocolError):
        await client.post("/notes", json={"title": "applied"})
    retried = await client.post("/notes", json={"title": "applied"})

    assert retried.status_code == 201, retried.text
    assert [n["title"] for n in notes.notes.values()] == ["applied", "applied"]
    assert notes.log.count(fault="drop-after-processing", status=201) == 1


async def test_fault_answer_lost_as_timeout(
    notes: NotesFake, client: httpx.AsyncClient
) -> None:
    notes.faults.answer_lost(method="POST", kind=FaultKind.TIMEOUT)

    with pytest.raises(httpx.ReadTimeout):
        await client.post("/notes", json={"title": "applied"})

    assert len(notes.notes) == 1


async def test_fault_rule_stops_after_its_count(
    notes: NotesFake, client: httpx.AsyncClient
) -> None:
    notes.faults.add(FaultKind.ERROR, times=2)

    statuses = [(await client.get("/notes")).status_code for _ in range(4)]

    assert statuses == [503, 503, 200, 200]


async def _fault_pattern(seed: int) -> list[int]:
    fake = NotesFake(clock=VirtualClock(), seed=seed)
    fake.rate_limits.clear()
    fake.faults.add(FaultKind.ERROR, probability=0.5)
    async with fake.client(headers={"Authorization": f"Bearer {fake.token}"}) as c:
        return [(await c.get("/notes")).status_code for _ in range(40)]


async def test_fault_seeded_randomness_replays() -> None:
    first = await _fault_pattern(seed=42)

    again = await _fault_pattern(seed=42)
    other = await _fault_pattern(seed=43)

    assert first == again
    assert first != other
    assert 0 < first.count(503) < 40


async def test_faulty_transport_own_plan_wraps_any_transport() -> None:
    hits: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hits.append(request.url.path)
        return httpx.Response(200, json={"ok": True})

    plan = FaultPlan()
    plan.answer_lost(method="PUT", path="/items/*", kind=FaultKind.TIMEOUT)
    transport = FaultyTransport(httpx.MockTransport(handler), plan=plan)

    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.put("http://svc.invalid/items/1")

    assert hits == ["/items/1"]


def test_fault_plan_refuses_processing_for_body_faults() -> None:
    with pytest.raises(ValueError, match="after processing"):
        FaultPlan().add(FaultKind.TRUNCATE, after_processing=True)
