"""The windowed stream and the find-or-create action."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import BaseModel
from servicesync.contract import ActionResult, StreamState
from servicesync.dedup import dedup_token
from servicesync.errors import MalformedResponse, ServiceUnavailable
from servicesync_sdk import Batch, FindOrCreateAction, Window, WindowedStream

NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)
ROWS = [{"id": i} for i in range(1, 6)]


class Numbers(WindowedStream):
    name = "numbers"
    record_type = "number"

    def __init__(self, repeat: bool = False) -> None:
        self.windows: list[Window] = []
        self.repeat = repeat

    async def service_now(self) -> datetime:
        return NOW

    async def fetch(self, window: Window, position: str | None) -> Batch:
        self.windows.append(window)
        start = int(position or 0)
        rows = ROWS[start : start + 2]
        following = start + 2 if start + 2 < len(ROWS) else None
        if self.repeat:
            following = start
        return Batch(rows, None if following is None else str(following))


async def test_stream_window_starts_overlap_before_cursor() -> None:
    stream = Numbers()
    cursor = NOW - timedelta(hours=1)

    pages = [p async for p in stream.read(StreamState(cursor=cursor))]

    assert stream.windows[0] == Window(cursor - Numbers.overlap, NOW)
    assert pages[-1].checkpoint == StreamState(cursor=NOW)


async def test_stream_checkpoint_resumes_inside_window() -> None:
    pages = [p async for p in Numbers().read(StreamState())]
    resumed = [p async for p in Numbers().read(pages[0].checkpoint)]

    ids = [r.external_id for p in pages[:1] + resumed for r in p.records]
    assert ids == ["1", "2", "3", "4", "5"]


async def test_stream_repeated_position_is_malformed() -> None:
    with pytest.raises(MalformedResponse, match="again"):
        [p async for p in Numbers(repeat=True).read(StreamState(resume_after="2"))]


class Params(BaseModel):
    title: str


class MakeThing(FindOrCreateAction[Params]):
    name = "make_thing"
    params_model = Params

    def __init__(self, lose_answer: bool = False) -> None:
        self.made: dict[str, str] = {}
        self.lose_answer = lose_answer

    async def find_marked(self, token: str, params: Params) -> ActionResult | None:
        found = self.made.get(token)
        return ActionResult(external_id=found) if found else None

    async def create(self, token: str, mark: str, params: Params) -> ActionResult:
        self.made[token] = f"thing-{len(self.made) + 1}"
        if self.lose_answer:
            raise ServiceUnavailable("The answer was lost.")
        return ActionResult(external_id=self.made[token])


async def test_action_repeated_key_makes_one_object() -> None:
    action = MakeThing()

    first = await action.execute("deal:1", Params(title="A"))
    again = await action.execute("deal:1", Params(title="A"))

    assert first == again
    assert list(action.made) == [dedup_token("deal:1")]


async def test_action_lost_answer_recovered_by_lookup() -> None:
    action = MakeThing(lose_answer=True)

    result = await action.execute("deal:2", Params(title="B"))

    assert result.external_id == "thing-1"
