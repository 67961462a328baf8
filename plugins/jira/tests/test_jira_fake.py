"""The fake answers as Jira Cloud does: auth, limits, removed APIs, privacy, feeds."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from jira_spec import Recorder, check, load_spec
from servicesync import VirtualClock
from servicesync_jira.fake import JiraFake, factory

API = "/rest/api/3"


@pytest.fixture
async def http(fake: JiraFake) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=Recorder(fake.transport()),
        base_url=fake.base_url,
        auth=("bot@acme.test", "bot-token-123456"),
    ) as client:
        yield client


def lead(fake: JiraFake) -> str:
    return next(iter(fake.site.users))


async def test_fake_refuses_a_wrong_token_with_401(fake: JiraFake) -> None:
    async with httpx.AsyncClient(
        transport=fake.transport(),
        base_url=fake.base_url,
        auth=("bot@acme.test", "wrong-token"),
    ) as client:
        response = await client.get(f"{API}/myself")

    assert response.status_code == 401, response.text


async def test_fake_serves_oauth_clients_under_the_cloud_id(fake: JiraFake) -> None:
    token = fake.add_oauth_token(lead(fake))
    async with httpx.AsyncClient(
        transport=fake.transport(), headers={"Authorization": f"Bearer {token}"}
    ) as client:
        response = await client.get(
            f"https://api.atlassian.com/ex/jira/{fake.cloud_id}{API}/serverInfo"
        )

    assert response.json()["deploymentType"] == "Cloud", response.text


async def test_fake_old_search_answers_410(http: httpx.AsyncClient) -> None:
    response = await http.get(f"{API}/search", params={"jql": "project = X"})

    assert response.status_code == 410, response.text


async def test_fake_duplicate_project_key_refused(
    fake: JiraFake, http: httpx.AsyncClient
) -> None:
    body = {"key": "DUP", "name": "One", "leadAccountId": lead(fake)}
    await http.post(f"{API}/project", json=body)

    again = await http.post(f"{API}/project", json={**body, "name": "Two"})

    assert again.status_code == 400
    assert "projectKey" in again.json()["errors"]


async def test_fake_hidden_email_not_found_by_search(
    fake: JiraFake, http: httpx.AsyncClient
) -> None:
    fake.add_user("hidden@acme.test", "Hidden Person", email_visible=False)

    response = await http.get(
        f"{API}/user/search", params={"query": "hidden@acme.test"}
    )

    assert response.json() == []


async def test_fake_burst_limit_answers_jira_headers(clock: VirtualClock) -> None:
    site = factory(clock=clock, burst_limit=2)
    ((token, (email, _)),) = site.api_tokens.items()
    async with httpx.AsyncClient(
        transport=site.transport(), base_url=site.base_url, auth=(email, token)
    ) as client:
        answers = [await client.get(f"{API}/myself") for _ in range(3)]

    refused = answers[-1]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert refused.headers["RateLimit-Reason"] == "jira-burst-based"
    assert {
        "retry-after",
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    } <= set(refused.headers.keys())


async def test_fake_search_index_lags_behind_bulkfetch(
    fake: JiraFake, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    fake.issues.index_lag = 30
    fake.site.create_project({"key": "LAG", "name": "Lag", "leadAccountId": lead(fake)})
    made = fake.issues.create(
        {
            "fields": {
                "project": {"key": "LAG"},
                "issuetype": {"name": "Task"},
                "summary": "x",
            }
        }
    )

    searched = await http.post(f"{API}/search/jql", json={"jql": "project = LAG"})
    fetched = await http.post(
        f"{API}/issue/bulkfetch", json={"issueIdsOrKeys": [made["key"]]}
    )
    clock.advance(31)
    later = await http.post(f"{API}/search/jql", json={"jql": "project = LAG"})

    assert searched.json()["issues"] == []
    assert len(fetched.json()["issues"]) == 1
    assert len(later.json()["issues"]) == 1


async def test_fake_worklog_feeds_leave_out_the_last_minute(
    fake: JiraFake, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    fake.site.create_project(
        {"key": "WL", "name": "Worklogs", "leadAccountId": lead(fake)}
    )
    fake.issues.create(
        {
            "fields": {
                "project": {"key": "WL"},
                "issuetype": {"name": "Task"},
                "summary": "x",
            }
        }
    )
    await http.post(
        f"{API}/issue/WL-1/worklog",
        json={"timeSpentSeconds": 3600, "started": "2026-01-05T08:00:00.000+0000"},
    )

    early = await http.get(f"{API}/worklog/updated", params={"since": 0})
    clock.advance(61)
    settled = await http.get(f"{API}/worklog/updated", params={"since": 0})
    ids = [v["worklogId"] for v in settled.json()["values"]]
    listed = await http.post(f"{API}/worklog/list", json={"ids": ids})

    assert early.json()["values"] == []
    assert [w["timeSpentSeconds"] for w in listed.json()] == [3600]


async def test_fake_worklog_and_error_answers_match_the_description(
    fake: JiraFake, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    spec = load_spec()
    fake.site.create_project({"key": "SP", "name": "Spec", "leadAccountId": lead(fake)})
    await http.post(
        f"{API}/issue/bulk",
        json={
            "issueUpdates": [
                {
                    "fields": {
                        "project": {"key": "SP"},
                        "issuetype": {"name": "Task"},
                        "summary": "a",
                    }
                },
                {"fields": {"project": {"key": "SP"}, "issuetype": {"name": "Task"}}},
            ]
        },
    )
    await http.post(f"{API}/issue/SP-1/worklog", json={"timeSpentSeconds": 60})
    await http.get(f"{API}/issue/SP-1/worklog")
    await http.get(f"{API}/issue/SP-1")
    await http.get(f"{API}/issue/SP-404")
    await http.get(f"{API}/field")
    await http.get(f"{API}/project/SP/versions")
    clock.advance(61)
    await http.get(f"{API}/worklog/updated", params={"since": 0})
    await http.get(f"{API}/worklog/deleted", params={"since": 0})
    await http.get(f"{API}/search/jql", params={"jql": "project = SP", "maxResults": 1})
    recorder = http._transport

    assert isinstance(recorder, Recorder)
    assert [p for e in recorder.exchanges for p in check(spec, e)] == []


async def test_fake_created_user_is_found_by_email(http: httpx.AsyncClient) -> None:
    spec = load_spec()
    body = {"emailAddress": "new.hire@acme.test", "products": ["jira-software"]}

    created = await http.post(f"{API}/user", json=body)
    again = await http.post(f"{API}/user", json=body)
    found = await http.get(f"{API}/user/search", params={"query": "new.hire@"})

    assert created.status_code == 201, created.text
    assert again.json()["accountId"] == created.json()["accountId"]
    assert [u["accountId"] for u in found.json()] == [created.json()["accountId"]]
    recorder = http._transport
    assert isinstance(recorder, Recorder)
    assert [p for e in recorder.exchanges for p in check(spec, e)] == []


async def test_fake_create_user_without_products_answers_400(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post(f"{API}/user", json={"emailAddress": "x@acme.test"})

    assert response.status_code == 400, response.text
    assert "products" in response.json()["errors"]
