"""Listed rows keep the portal's JSON text; answers of another shape are refused."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from b24_helpers import read_all, stream
from servicesync.errors import MalformedResponse
from servicesync_bitrix24 import Bitrix24Connector
from servicesync_bitrix24._client import BatchAnswer, ListSpec
from servicesync_bitrix24.fake import FakePortal

DEALS = ListSpec("crm.deal.list")
TASKS = ListSpec("tasks.task.list", id_out="id", rows_key="tasks")


def collect(connector: Bitrix24Connector, spec: ListSpec, body: bytes) -> list[str]:
    client = connector.client
    answer = client.parse_listing(httpx.Response(200, content=body))
    records, _, _ = client.collect_rows(spec, BatchAnswer.of(answer))
    return [record.external_id for record in records]


async def test_listed_deals_are_hashed_by_their_text_and_parse_to_the_portal_row(
    portal: FakePortal, connector: Bitrix24Connector
) -> None:
    portal.seed(deals=[{"TITLE": f"Deal {i}", "OPPORTUNITY": i} for i in range(3)])

    pages = await read_all(stream(connector, "deals"))

    records = [record for page in pages for record in page.records]
    assert [r.external_id for r in records] == ["1", "2", "3"]
    assert all(r.text is not None for r in records)
    assert [dict(r.payload) for r in records] == [
        dict(row) for row in portal.data.deals.values()
    ]


async def test_an_unchanged_deal_read_again_hashes_alike_and_a_changed_one_does_not(
    portal: FakePortal, connector: Bitrix24Connector
) -> None:
    portal.seed(deals=[{"TITLE": f"Deal {i}"} for i in range(2)])
    first = await read_all(stream(connector, "deals"))
    portal.data.update_deal(2, {"TITLE": "Renamed"})

    again = await read_all(stream(connector, "deals"))

    before = {r.external_id: r.hash for p in first for r in p.records}
    after = {r.external_id: r.hash for p in again for r in p.records}
    assert after["1"] == before["1"]
    assert after["2"] != before["2"]


def test_rows_under_a_key_and_php_empty_maps_are_read(
    connector: Bitrix24Connector,
) -> None:
    body = (
        b'{"result": {"result": {"p0": {"tasks": [{"id": 5, "title": "A"},'
        b' {"id": 9, "title": "B"}]}}, "result_error": [], "result_total": []},'
        b' "time": {"start": 1.0}}'
    )

    assert collect(connector, TASKS, body) == ["5", "9"]


def test_a_page_that_is_not_a_list_is_refused_with_its_place(
    connector: Bitrix24Connector,
) -> None:
    body = b'{"result": {"result": {"p0": "no rows"}}, "time": {"start": 1.0}}'

    with pytest.raises(MalformedResponse) as refused:
        collect(connector, DEALS, body)

    assert "got `str` - at `$.result.result[...]`" in str(refused.value)


def test_a_row_without_its_id_is_refused(connector: Bitrix24Connector) -> None:
    body = b'{"result": {"result": {"p0": [{"TITLE": "no id"}]}}, "time": {}}'

    with pytest.raises(MalformedResponse) as refused:
        collect(connector, DEALS, body)

    assert "without its ID" in str(refused.value)


def test_the_documented_batch_answer_reads_as_the_generic_parse_does(
    connector: Bitrix24Connector, examples: Path
) -> None:
    body = (examples / "batch.json").read_bytes()
    generic = json.loads(body)

    answer = BatchAnswer.of(
        connector.client.parse_listing(httpx.Response(200, content=body))
    )

    assert answer.time == generic["time"]
    assert answer.totals == generic["result"]["result_total"]
    assert answer.errors == {}
    assert set(answer.result) == set(generic["result"]["result"])
    departments = answer.result["get_department"]
    listed = BatchAnswer({"p0": departments}, {}, {}, {})
    rows, finished, _ = connector.client.collect_rows(
        ListSpec("department.get"), listed
    )
    assert finished
    assert [r.payload for r in rows] == generic["result"]["result"]["get_department"]
