"""Every documented example parses, and the fake answers in the same shape."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from b24_helpers import MemoryState, MemoryVault, read_all, stream
from servicesync import VirtualClock
from servicesync.contract import ConnectorContext, WebhookRequest
from servicesync_bitrix24 import Bitrix24Config, Bitrix24Connector
from servicesync_bitrix24._php import build_query
from servicesync_bitrix24.fake import FakePortal
from servicesync_bitrix24.mapping import map_deal

EXAMPLES = (
    "batch.json", "crm.category.list.json", "crm.deal.fields.json",
    "crm.deal.get.json", "crm.deal.list.json", "crm.deal.update.json",
    "crm.deal.userfield.list.json", "crm.item.list.json",
    "crm.stagehistory.list.json", "crm.status.list.json",
    "event.ONCRMDEALADD.to-application.json",
    "event.ONCRMDEALADD.to-outgoing-webhook.json", "event.offline.get.json",
    "task.elapseditem.add.json", "task.elapseditem.getlist.json",
    "tasks.task.list.json",
)  # fmt: skip


def _load(folder: Path, name: str) -> Any:
    return json.loads((folder / name).read_text())


def test_examples_folder_holds_every_listed_example(examples: Path) -> None:
    assert sorted(p.name for p in examples.glob("*.json")) == sorted(EXAMPLES)


class ExamplePortal:
    """Answers every method with its documented example, through a transport.

    A ``batch`` that the examples do not answer themselves (the streams'
    chained listing) gets the example of its first command's method as that
    command's result, which is a short page and so the last one read.
    """

    def __init__(self, folder: Path, names: list[str]) -> None:
        self.answers = {
            name.removesuffix(".json"): _load(folder, name) for name in names
        }
        self.methods: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        method = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        method = method.removesuffix(".json")
        self.methods.append(method)
        if method == "batch" and method not in self.answers:
            key, command = next(iter(json.loads(request.content)["cmd"].items()))
            return httpx.Response(200, json=self._batch(key, command.split("?")[0]))
        return httpx.Response(200, json=self.answers[method])

    def _batch(self, key: str, method: str) -> dict[str, Any]:
        example = self.answers[method]
        result = {"result": {key: example["result"]}, "result_error": [],
                  "result_total": {}, "result_next": [], "result_time": {}}  # fmt: skip
        return {"result": result, "time": example["time"]}


def _example_connector(
    folder: Path, names: list[str], **settings: Any
) -> tuple[Bitrix24Connector, ExamplePortal]:
    portal = ExamplePortal(folder, names)
    context = ConnectorContext(
        connection="crm",
        clock=VirtualClock(),
        credentials=MemoryVault(),
        state=MemoryState(),
        transport=httpx.MockTransport(portal.handle),
    )
    config = Bitrix24Config(
        portal_url="https://example.bitrix24.com",
        webhook_url="https://example.bitrix24.com/rest/1/abc123/",
        **settings,
    )
    return Bitrix24Connector(config, context), portal


async def _ids(connector: Bitrix24Connector, name: str) -> list[str]:
    pages = await read_all(stream(connector, name))
    return [r.external_id for page in pages for r in page.records]


def _rows(example: dict[str, Any], key: str | None = None) -> list[Any]:
    result = example["result"]
    return list(result[key] if key else result)


async def _read_batch(c: Bitrix24Connector, example: dict[str, Any]) -> None:
    cmd = {name: "user.get?ID=1" for name in example["result"]["result"]}
    answer = await c.client.batch(cmd)
    assert answer.result["get_user"]["ID"] == "1"
    assert answer.totals == example["result"]["result_total"]
    assert answer.errors == {}


async def _read_pipelines(c: Bitrix24Connector, example: dict[str, Any]) -> None:
    expected = [str(row["id"]) for row in _rows(example, "categories")]
    assert await _ids(c, "pipelines") == expected


async def _read_deal_fields(c: Bitrix24Connector, example: dict[str, Any]) -> None:
    assert await _ids(c, "deal_fields") == list(example["result"])


async def _read_deal(c: Bitrix24Connector, example: dict[str, Any]) -> None:
    answer = await c.client.call("crm.deal.get", {"id": 410})
    mapped = c.map_record("deals", answer["result"])
    assert mapped is not None
    assert (mapped["title"], mapped["amount"]) == ("New Deal #1", "1000000.00")


async def _read_deals(c: Bitrix24Connector, example: dict[str, Any]) -> None:
    expected = [row["ID"] for row in _rows(example)]
    assert await _ids(c, "deals") == expected
    mapped = [c.map_record("deals", row) or {} for row in _rows(example)]
    assert [m["title"] for m in mapped] == [row["TITLE"] for row in _rows(example)]


async def _update_deal(c: Bitrix24Connector, example: dict[str, Any]) -> None:
    action = c.actions()["set_deal_fields"]
    params = action.params_model(deal_id="410", fields={"TITLE": "Renamed"})
    assert (await action.execute("k1", params)).external_id == "410"


async def _read_userfields(c: Bitrix24Connector, example: dict[str, Any]) -> None:
    # The connector reads custom fields through crm.deal.fields; this method
    # is only called directly.
    answer = await c.client.call("crm.deal.userfield.list")
    names = [row["FIELD_NAME"] for row in answer["result"]]
    assert names and all(name.startswith("UF_CRM_") for name in names)


async def _find_invoice(c: Bitrix24Connector, example: dict[str, Any]) -> None:
    action = c.actions()["create_invoice"]
    params = action.params_model(deal_id="410", title="Invoice", amount="10")
    found = await action.find("k1", params)
    assert found is not None
    assert found.external_id == str(_rows(example, "items")[0]["id"])


async def _read_stage_history(c: Bitrix24Connector, example: dict[str, Any]) -> None:
    expected = [str(row["ID"]) for row in _rows(example, "items")]
    assert await _ids(c, "stage_history") == expected


async def _read_stages(c: Bitrix24Connector, example: dict[str, Any]) -> None:
    expected = [row["STATUS_ID"] for row in _rows(example)]
    assert await _ids(c, "stages") == expected


async def _read_offline_events(c: Bitrix24Connector, example: dict[str, Any]) -> None:
    # Offline events are not read by the connector; the client parses them.
    answer = await c.client.call("event.offline.get")
    assert answer["result"]["events"][0]["EVENT_NAME"] == "ONCRMLEADADD"


async def _add_time(c: Bitrix24Connector, example: dict[str, Any]) -> None:
    # Time entries are not written by the connector; the client parses them.
    answer = await c.client.call("task.elapseditem.add", write=True)
    assert answer["result"] == example["result"]


async def _read_time(c: Bitrix24Connector, example: dict[str, Any]) -> None:
    # Time entries are not read by the connector; the client parses them.
    answer = await c.client.call("task.elapseditem.getlist")
    assert [row["SECONDS"] for row in answer["result"]] == ["3600"]


async def _read_tasks(c: Bitrix24Connector, example: dict[str, Any]) -> None:
    expected = [row["id"] for row in _rows(example, "tasks")]
    assert await _ids(c, "tasks") == expected


async def _take_event(c: Bitrix24Connector, example: dict[str, Any]) -> None:
    handler = c.webhook_handler()
    assert handler is not None
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    body = build_query(example).encode()
    request = WebhookRequest("POST", "https://sync.example/b24", headers, body)

    answer = await handler.handle(request)

    assert [(r.stream, r.external_id) for r in answer.references] == [
        ("deals", example["data"]["FIELDS"]["ID"])
    ]
    assert answer.delivery_key


Reader = Callable[[Bitrix24Connector, dict[str, Any]], Awaitable[None]]

#: For each example: the other examples the portal answers with, and how the
#: connector reads it.
READERS: dict[str, tuple[tuple[str, ...], Reader]] = {
    "batch.json": ((), _read_batch),
    "crm.category.list.json": ((), _read_pipelines),
    "crm.deal.fields.json": ((), _read_deal_fields),
    "crm.deal.get.json": ((), _read_deal),
    "crm.deal.list.json": ((), _read_deals),
    "crm.deal.update.json": ((), _update_deal),
    "crm.deal.userfield.list.json": ((), _read_userfields),
    "crm.item.list.json": ((), _find_invoice),
    "crm.stagehistory.list.json": ((), _read_stage_history),
    "crm.status.list.json": (("crm.category.list.json",), _read_stages),
    "event.ONCRMDEALADD.to-application.json": ((), _take_event),
    "event.ONCRMDEALADD.to-outgoing-webhook.json": ((), _take_event),
    "event.offline.get.json": ((), _read_offline_events),
    "task.elapseditem.add.json": ((), _add_time),
    "task.elapseditem.getlist.json": ((), _read_time),
    "tasks.task.list.json": ((), _read_tasks),
}


def test_every_example_has_a_reader() -> None:
    assert sorted(READERS) == sorted(EXAMPLES)


@pytest.mark.parametrize("name", EXAMPLES)
async def test_example_parses_through_the_connector(examples: Path, name: str) -> None:
    others, reader = READERS[name]
    example = _load(examples, name)
    delivery = name.startswith("event.ONCRM")
    settings: dict[str, Any] = {}
    if delivery:
        settings["application_token"] = example["auth"]["application_token"]
    connector, portal = _example_connector(examples, [name, *others], **settings)

    await reader(connector, example)

    await connector.aclose()
    assert delivery or portal.methods, "the connector made no call"


def test_example_deal_maps_to_domain_fields(examples: Path) -> None:
    deal = _load(examples, "crm.deal.get.json")["result"]

    mapped = map_deal(deal)

    assert mapped["amount"] == "1000000.00"
    assert mapped["created_at"] == "2024-08-30T14:29:00+02:00"
    assert mapped["custom"] == {"UF_CRM_1721244482250": "Hello world!"}


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return type(value).__name__


def _same_shape(example: dict[str, Any], answer: dict[str, Any]) -> list[str]:
    """Keys of ``example`` missing from ``answer`` or holding another type."""
    problems = []
    for key, value in example.items():
        if key not in answer:
            problems.append(f"missing {key}")
        elif None not in (value, answer[key]) and _kind(value) != _kind(answer[key]):
            problems.append(f"{key}: {_kind(value)} != {_kind(answer[key])}")
    return problems


def _time_keys(answer: dict[str, Any]) -> set[str]:
    return set(answer["time"]) - {"operating_reset_at"}


CASES = {
    "crm.deal.get.json": ("crm.deal.get", {"id": 1}, lambda r: r),
    "crm.deal.list.json": ("crm.deal.list", {}, lambda r: r[0]),
    "crm.status.list.json": ("crm.status.list", {}, lambda r: r[0]),
    "crm.category.list.json": (
        "crm.category.list", {"entityTypeId": 2}, lambda r: r["categories"][-1]),
    "crm.stagehistory.list.json": (
        "crm.stagehistory.list", {"entityTypeId": 2}, lambda r: r["items"][0]),
    "crm.deal.fields.json": ("crm.deal.fields", {}, lambda r: r["TITLE"]),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
async def test_fake_answer_has_the_example_shape(
    examples: Path, portal: FakePortal, connector: Bitrix24Connector, name: str
) -> None:
    portal.seed(deals=[{"TITLE": "One", "OPPORTUNITY": 10}])
    method, params, pick = CASES[name]
    example = _load(examples, name)

    answer = await connector.client.call(method, params)

    example_row = pick(example["result"])
    if name == "crm.deal.get.json":
        example_row = {
            k: v
            for k, v in example_row.items()
            if not k.startswith(("UF_", "PARENT_ID"))
        }
    assert _same_shape(example_row, pick(answer["result"])) == []
    assert set(example) - {"next"} <= set(answer)
    assert _time_keys(example) <= set(answer["time"])


async def test_fake_batch_answer_has_the_example_shape(
    examples: Path, connector: Bitrix24Connector
) -> None:
    example = _load(examples, "batch.json")
    cmd = {"u": "user.get?ID=1", "c": "crm.category.list?entityTypeId=2"}

    answer = await connector.client.call("batch", {"halt": 0, "cmd": cmd})

    assert set(example["result"]) == set(answer["result"])
    assert set(example["time"]) == set(answer["time"])
    assert set(example["result"]["result_time"]["get_user"]) == set(
        answer["result"]["result_time"]["u"]
    )


async def test_fake_item_and_task_answers_have_the_example_shape(
    examples: Path, connector: Bitrix24Connector
) -> None:
    await connector.client.call("tasks.task.add", {"fields": {"TITLE": "T"}})
    tasks = _load(examples, "tasks.task.list.json")

    answer = await connector.client.call("tasks.task.list", {})

    assert list(answer["result"]) == list(tasks["result"])
    for key in ("id", "title", "createdDate", "responsibleId", "status"):
        assert _kind(tasks["result"]["tasks"][0][key]) == _kind(
            answer["result"]["tasks"][0][key]
        )
