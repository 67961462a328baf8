"""Fixtures shared by the fake kit's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from notes_fake import NotesFake
from servicesync import VirtualClock


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def notes(clock: VirtualClock) -> NotesFake:
    return NotesFake(clock=clock, seed=1)


@pytest.fixture
async def client(notes: NotesFake) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {notes.token}"}
    async with notes.client(headers=headers) as client:
        yield client
