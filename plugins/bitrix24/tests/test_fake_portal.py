"""The fake portal's filters, paging, batch and limits."""

from __future__ import annotations

import httpx
import pytest
from servicesync import VirtualClock
from servicesync_bitrix24.fake import FakePortal, PortalPlan


@pytest.fixture
async def http(portal: FakePortal):
    async with portal.client() as client:
        yield client


@pytest.fixture
def hook(portal: FakePortal) -> str:
    portal.seed(
        deals=[
            {"TITLE": f"{'Alpha' if i % 2 else 'Beta'} {i}", "OPPORTUNITY": i * 10,
             "ASSIGNED_BY_ID": 1 + i % 3}
            for i in range(1, 121)
        ]
    )  # fmt: skip
    return portal.add_webhook()


async def _ids(http: httpx.AsyncClient, url: str, **params: object) -> list[int]:
    response = await http.post(url + "crm.deal.list", json=params)
    assert response.status_code == 200, response.text
    return [int(r["ID"]) for r in response.json()["result"]]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        pytest.param({">=ID": 118}, [118, 119, 120], id="gte"),
        pytest.param({">ID": 118}, [119, 120], id="gt"),
        pytest.param({"<=ID": 2}, [1, 2], id="lte"),
        pytest.param({"<ID": 2}, [1], id="lt"),
        pytest.param({"@ID": [5, 9]}, [5, 9], id="in"),
        pytest.param({"!@ID": list(range(1, 119))}, [119, 120], id="not-in"),
        pytest.param({"%TITLE": "ta 11", "<ID": 115}, [110, 112, 114], id="like"),
        pytest.param(
            {"=%TITLE": "beta 10%"}, [10, 100, 102, 104, 106, 108], id="like-explicit"
        ),
        pytest.param({"!=ASSIGNED_BY_ID": 1, "<ID": 4}, [1, 2], id="not-equal"),
        pytest.param({"!ASSIGNED_BY_ID": 1, "<ID": 4}, [1, 2], id="not"),
        pytest.param({"ASSIGNED_BY_ID": 1, "<ID": 7}, [3, 6], id="equal"),
        pytest.param({">OPPORTUNITY": 1185}, [119, 120], id="numeric"),
    ],
)
async def test_fake_filter_operators(http, hook, filters, expected) -> None:
    assert await _ids(http, hook, filter=filters) == expected


async def test_fake_form_encoded_body_with_nested_keys(http, hook) -> None:
    body = {"filter[>ID]": "118", "select[]": "TITLE", "order[ID]": "DESC"}

    response = await http.post(hook + "crm.deal.list.json", data=body)

    rows = response.json()["result"]
    assert [r["ID"] for r in rows] == ["120", "119"] and set(rows[0]) == {"ID", "TITLE"}


async def test_fake_offset_paging_gives_total_and_next(http, hook) -> None:
    response = await http.post(hook + "crm.deal.list", json={"start": 50})

    body = response.json()
    assert (len(body["result"]), body["total"], body["next"]) == (50, 120, 100)


async def test_fake_fast_listing_has_no_count_and_no_next(http, hook) -> None:
    response = await http.post(hook + "crm.deal.list", json={"start": -1})

    body = response.json()
    assert body["total"] == 0 and "next" not in body


async def test_fake_fast_listing_costs_less_than_offset_paging(
    portal: FakePortal, http, hook
) -> None:
    fast = await http.post(
        hook + "crm.deal.list", json={"start": -1, "filter": {">ID": 100}}
    )
    slow = await http.post(hook + "crm.deal.list", json={"start": 100})

    assert fast.json()["time"]["duration"] < slow.json()["time"]["duration"]


async def test_fake_batch_chains_references_and_reports_missing_rows(
    http, hook
) -> None:
    cmd = {
        "a": "crm.deal.list?filter[>ID]=0&start=-1",
        "b": "crm.deal.list?filter[>ID]=$result[a][49][ID]&start=-1",
        "c": "crm.deal.list?filter[>ID]=$result[b][49][ID]&start=-1",
        "d": "crm.deal.list?filter[>ID]=$result[c][49][ID]&start=-1",
        "one": "crm.deal.get?id=$result[a][0][ID]",
    }

    body = (await http.post(hook + "batch", json={"halt": 0, "cmd": cmd})).json()

    result = body["result"]
    assert [len(result["result"][k]) for k in "abc"] == [50, 50, 20]
    assert result["result"]["one"]["ID"] == "1"
    assert result["result_error"]["d"]["error"] == "BATCH_REFERENCE_NOT_FOUND"


async def test_fake_batch_halt_stops_at_the_first_error(http, hook) -> None:
    cmd = {"bad": "crm.deal.get?id=9999", "later": "crm.deal.get?id=1"}

    body = (await http.post(hook + "batch", json={"halt": 1, "cmd": cmd})).json()

    assert list(body["result"]["result_error"]) == ["bad"]
    assert body["result"]["result"] == []


async def test_fake_batch_refuses_more_than_50_commands(http, hook) -> None:
    cmd = {f"c{i}": "crm.deal.get?id=1" for i in range(51)}

    response = await http.post(hook + "batch", json={"cmd": cmd})

    assert response.status_code == 400
    assert response.json()["error"] == "ERROR_BATCH_LENGTH_EXCEEDED"


async def test_fake_leaky_bucket_answers_503_past_capacity(http, hook) -> None:
    statuses = [
        (await http.post(hook + "crm.deal.get", json={"id": 1})).status_code
        for _ in range(51)
    ]

    assert statuses.count(503) == 1 and statuses[-1] == 503


async def test_fake_operating_limit_blocks_only_that_method(
    clock: VirtualClock,
) -> None:
    portal = FakePortal(clock=clock, plan=PortalPlan(operating_limit=0.05))
    portal.seed(deals=[{"TITLE": "x"}])
    hook = portal.add_webhook()
    async with portal.client() as http:
        for _ in range(10):
            await http.post(hook + "crm.deal.list", json={"start": 0})
        blocked = await http.post(hook + "crm.deal.list", json={})
        other = await http.post(hook + "crm.deal.get", json={"id": 1})

    assert blocked.status_code == 429
    assert blocked.json()["error"] == "OPERATION_TIME_LIMIT"
    assert other.status_code == 200


async def test_fake_unknown_webhook_code_is_refused(http, portal: FakePortal) -> None:
    response = await http.post(portal.base_url + "/rest/1/wrong/crm.deal.list", json={})

    assert response.status_code == 401 and response.json()["error"] == "NO_AUTH_FOUND"
