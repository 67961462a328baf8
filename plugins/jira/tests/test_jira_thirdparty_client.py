"""The independent ``jira`` client package works against the fake on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from jira import JIRA
from servicesync import SystemClock
from servicesync_jira.fake import JiraFake
from servicesync_jira.fake._kit import serve_in_thread


@pytest.fixture
def served() -> Iterator[tuple[JiraFake, JIRA]]:
    site = JiraFake(clock=SystemClock(), seed=3)
    email, token = site.add_api_user(
        "py@acme.test", "Py Client", token="py-token-0123456789"
    )
    site.site.create_project(
        {"key": "PYJ", "name": "Py", "leadAccountId": next(iter(site.site.users))}
    )
    with serve_in_thread(site) as url:
        site.site.base_url = url
        client = JIRA(
            server=url,
            basic_auth=(email, token),
            get_server_info=True,
            options={"rest_api_version": "3"},
        )
        yield site, client
        client.close()


def test_jira_client_creates_issues_in_bulk(served: tuple[JiraFake, JIRA]) -> None:
    site, client = served
    fields = [
        {
            "project": {"key": "PYJ"},
            "issuetype": {"name": "Task"},
            "summary": f"Bulk {n}",
        }
        for n in range(5)
    ]

    created = client.create_issues(fields)

    assert [c["status"] for c in created] == ["Success"] * 5
    assert len(site.issues.issues) == 5
    assert site.log.count(method="POST", route="/rest/api/3/issue/bulk") == 1


def test_jira_client_enhanced_search_pages_with_tokens(
    served: tuple[JiraFake, JIRA],
) -> None:
    site, client = served
    client.create_issues(
        [
            {
                "project": {"key": "PYJ"},
                "issuetype": {"name": "Task"},
                "summary": f"S {n}",
            }
            for n in range(30)
        ]
    )

    found = client.enhanced_search_issues(
        "project = PYJ ORDER BY id", maxResults=0, fields=["summary"]
    )

    assert len(found) == 30
    assert site.log.count(route="/rest/api/3/search/jql") >= 1


def test_jira_client_adds_a_worklog(served: tuple[JiraFake, JIRA]) -> None:
    site, client = served
    key = client.create_issues(
        [
            {
                "project": {"key": "PYJ"},
                "issuetype": {"name": "Task"},
                "summary": "Logged",
            }
        ]
    )[0]["issue"].key

    client.add_worklog(key, timeSpentSeconds=5400, comment="Pairing")

    assert [w["timeSpentSeconds"] for w in site.worklogs.worklogs.values()] == [5400]
