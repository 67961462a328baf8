"""The streams a Bitrix24 connection reads.

Incremental streams (deals, companies, contacts, stage history, tasks) read
a window of ``modified >= cursor - skew`` in id order with fast listing. The
window's end is the portal's own time at the start of the read, taken from
the first answer's ``time``; the resume point inside a window is the last
id read. Deals also learn of deletions: a full read remembers every id, and
every ``deletion_scan_seconds`` an id-only scan emits the missing ones as
deleted records. With offline events, deals, companies and contacts first
read again the records the portal's queue names (see :mod:`._offline`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

from servicesync.contract import Page, PluginState, Record, Stream, StreamState

from servicesync_bitrix24._client import Bitrix24Client, ListSpec
from servicesync_bitrix24._offline import OfflineEvents

__all__ = ["STREAMS", "FastListStream", "build_streams"]


def encode_ids(ids: Iterable[int]) -> str:
    """Write a set of ids as ranges: ``1-3,7``."""
    ordered = sorted(set(ids))
    parts: list[str] = []
    start = prev = None
    for value in ordered:
        if prev is not None and value == prev + 1:
            prev = value
            continue
        if start is not None:
            parts.append(f"{start}-{prev}" if start != prev else str(start))
        start = prev = value
    if start is not None:
        parts.append(f"{start}-{prev}" if start != prev else str(start))
    return ",".join(parts)


def decode_ids(text: str | None) -> set[int]:
    """Read what :func:`encode_ids` wrote."""
    ids: set[int] = set()
    for part in (text or "").split(","):
        if not part:
            continue
        low, _, high = part.partition("-")
        ids.update(range(int(low), int(high or low) + 1))
    return ids


class FastListStream(Stream):
    """A stream read with chained fast listing, windowed by a modified date."""

    spec: ClassVar[ListSpec]
    date_field: ClassVar[str | None] = "DATE_MODIFY"
    select: ClassVar[list[str]] = ["*", "UF_*"]
    primary_key = "ID"
    #: The offline event queue whose events this stream reads first, if any.
    offline: OfflineEvents | None = None

    def __init__(self, client: Bitrix24Client, skew: float) -> None:
        self.client = client
        self.skew = skew

    async def read(self, state: StreamState) -> AsyncIterator[Page]:
        """Read the open window from its resume point, or open a new one.

        Records that queued offline events name come first, in a page of
        their own that leaves the state as it was.
        """
        if self.offline is not None:
            async for page in self.offline.pages(self, state):
                yield page
        if not self.incremental:
            state = StreamState()
        elif not state.in_window:
            state = state.model_copy(update={"window_start": None, "window_end": None})
        start = state.window_start if state.in_window else self._start_of(state)
        after = int(state.resume_after or 0)
        opened = state.in_window
        async for records, answer in self.client.fast_list(
            self.spec, filters=self._filters(start), select=self.select, after=after
        ):
            if not opened:
                state = state.open_window(start, self.client.portal_time(answer.time))
                opened = True
            if records:
                state = state.resume_at(records[-1].external_id)
            self.seen(records, state)
            yield Page(records, state)
        yield Page([], state.complete_window() if self.incremental else state)

    async def read_records(self, external_ids: Sequence[str]) -> list[Record]:
        """Read the named rows again by id; up to 2,500 ids take one request."""
        ids = sorted({int(i) for i in external_ids if str(i).isdigit()})
        if not ids:
            return []
        filters = {f"@{self.spec.id_filter}": ids}
        records: list[Record] = []
        async for page, _ in self.client.fast_list(
            self.spec, filters=filters, select=self.select
        ):
            records += page
        return records

    def _start_of(self, state: StreamState) -> datetime | None:
        if state.cursor is None:
            return None
        return state.cursor - timedelta(seconds=self.skew)

    def _filters(self, start: datetime | None) -> dict[str, Any]:
        if start is None or not self.date_field or not self.incremental:
            return {}
        return {f">={self.date_field}": start.isoformat()}

    def seen(self, records: list[Record], state: StreamState) -> None:
        """Hook for streams that remember what they read."""


class DealStream(FastListStream):
    """Deals, custom fields included; deletions found by an id-only scan."""

    name = "deals"
    record_type = "deal"
    spec = ListSpec("crm.deal.list")

    def __init__(
        self, client: Bitrix24Client, skew: float, state: PluginState, every: float
    ) -> None:
        super().__init__(client, skew)
        self.store = state
        self.every = every

    def seen(self, records: list[Record], state: StreamState) -> None:
        """Add the ids read to the remembered set."""
        if records:
            known = decode_ids(self.store.get("deals.ids"))
            known.update(int(record.external_id) for record in records)
            self.store.put("deals.ids", encode_ids(known))

    async def read(self, state: StreamState) -> AsyncIterator[Page]:
        """Read the window, then scan for deletions when one is due."""
        full = state.cursor is None and not state.in_window
        last: Page | None = None
        async for page in super().read(state):
            last = page
            yield page
        assert last is not None
        now = self.client.context.clock.now().timestamp()
        if full:
            self.store.put("deals.scanned", str(now))
            return
        scanned = float(self.store.get("deals.scanned") or 0)
        if now - scanned >= self.every:
            yield await self._deletions(last.checkpoint, now)

    async def _deletions(self, checkpoint: StreamState, now: float) -> Page:
        present: set[int] = set()
        async for records, _ in self.client.fast_list(
            self.spec, filters={}, select=["ID"]
        ):
            present.update(int(record.external_id) for record in records)
        known = decode_ids(self.store.get("deals.ids"))
        gone = sorted(known - present)
        self.store.put("deals.ids", encode_ids(known & present))
        self.store.put("deals.scanned", str(now))
        records = [Record(str(i), {"ID": str(i)}, "", deleted=True) for i in gone]
        return Page(records, checkpoint)


class CompanyStream(FastListStream):
    """Companies."""

    name = "companies"
    record_type = "company"
    spec = ListSpec("crm.company.list")


class ContactStream(FastListStream):
    """Contacts."""

    name = "contacts"
    record_type = "contact"
    spec = ListSpec("crm.contact.list")


class StageHistoryStream(FastListStream):
    """Stage moves of deals."""

    name = "stage_history"
    record_type = "stage_move"
    spec = ListSpec(
        "crm.stagehistory.list", rows_key="items", extra={"entityTypeId": 2}
    )
    date_field = "CREATED_TIME"
    select = ["*"]


class TaskStream(FastListStream):
    """Tasks."""

    name = "tasks"
    record_type = "task"
    primary_key = "id"
    spec = ListSpec("tasks.task.list", id_out="id", rows_key="tasks")
    date_field = "CHANGED_DATE"
    select = ["ID", "TITLE", "DESCRIPTION", "STATUS", "RESPONSIBLE_ID", "DEADLINE",
              "CREATED_DATE", "CHANGED_DATE", "GROUP_ID", "UF_CRM_TASK"]  # fmt: skip


class _OneCallStream(Stream):
    """A small reference list read whole every time."""

    incremental = False

    def __init__(self, client: Bitrix24Client) -> None:
        self.client = client

    async def rows(self) -> list[dict[str, Any]]:
        """Return every row of the reference list."""
        raise NotImplementedError

    async def read(self, state: StreamState) -> AsyncIterator[Page]:
        """Read everything in one page."""
        rows = await self.rows()
        records = [Record.of(row[self.primary_key], row) for row in rows]
        yield Page(records, StreamState())


class PipelineStream(_OneCallStream):
    """Deal pipelines (``crm.category.list``)."""

    name = "pipelines"
    record_type = "pipeline"

    async def rows(self) -> list[dict[str, Any]]:
        """Return the deal pipelines."""
        answer = await self.client.call("crm.category.list", {"entityTypeId": 2})
        return list(answer["result"]["categories"])


class StageStream(_OneCallStream):
    """Deal stages of every pipeline, with their semantics."""

    name = "stages"
    record_type = "stage"
    primary_key = "STATUS_ID"

    async def rows(self) -> list[dict[str, Any]]:
        """Return the stages of every deal pipeline, in one batch."""
        answer = await self.client.call("crm.category.list", {"entityTypeId": 2})
        entities = [
            "DEAL_STAGE" if int(c["id"]) == 0 else f"DEAL_STAGE_{c['id']}"
            for c in answer["result"]["categories"]
        ]
        cmd = {
            f"s{i}": f"crm.status.list?filter[ENTITY_ID]={entity}&order[SORT]=ASC"
            for i, entity in enumerate(entities[:50])
        }
        batch = await self.client.batch(cmd)
        rows: list[dict[str, Any]] = []
        for key in cmd:
            rows.extend(batch.result.get(key) or [])
        return rows


class UserStream(_OneCallStream):
    """Portal users."""

    name = "users"
    record_type = "user"
    primary_key = "ID"

    async def rows(self) -> list[dict[str, Any]]:
        """Return every user, paging by ``start``."""
        rows: list[dict[str, Any]] = []
        start: int | None = 0
        while start is not None:
            answer = await self.client.call("user.get", {"start": start, "sort": "ID"})
            rows.extend(answer["result"])
            start = answer.get("next")
        return rows


class DealFieldStream(_OneCallStream):
    """Deal field definitions, custom fields included."""

    name = "deal_fields"
    record_type = "field"
    primary_key = "name"

    async def rows(self) -> list[dict[str, Any]]:
        """Return one row per field, its name under ``name``."""
        answer = await self.client.call("crm.deal.fields")
        return [{"name": name, **spec} for name, spec in answer["result"].items()]


STREAMS = ("deals", "companies", "contacts", "pipelines", "stages",
           "stage_history", "users", "deal_fields", "tasks")  # fmt: skip


def build_streams(
    client: Bitrix24Client,
    skew: float,
    state: PluginState,
    every: float,
    offline: OfflineEvents | None = None,
) -> list[Stream]:
    """Return every stream of one connection.

    ``offline`` is the queue deals, companies and contacts read first.
    """
    queued: list[FastListStream] = [
        DealStream(client, skew, state, every),
        CompanyStream(client, skew),
        ContactStream(client, skew),
    ]
    for stream in queued:
        stream.offline = offline
    return [
        *queued,
        PipelineStream(client),
        StageStream(client),
        StageHistoryStream(client, skew),
        UserStream(client),
        DealFieldStream(client),
        TaskStream(client, skew),
    ]
