"""From a deal in a CRM to a staffed project in a delivery tool, on fake services.

The demo serves the Bitrix24 and Jira fakes on loopback ports, writes a config
that points at them, loads the sample catalog of services and experts, seeds
deals through the CRM's own API, and then shows three syncs: the baseline, the
one after a deal reached "Contract signed" (which makes the project), and one
that finds nothing to do.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from servicesync import SystemClock
from servicesync.catalog import import_catalog, load_catalog_file
from servicesync.config import load_config
from servicesync.domain import Deal, Expert, Project, ProjectMember
from servicesync.engine import Engine, SyncReport
from servicesync.plugins import load_plugins
from servicesync.store import open_store
from servicesync_bitrix24.fake import factory as bitrix24_fake
from servicesync_jira.fake import factory as jira_fake
from servicesync_sdk.fakes import serve_in_thread
from sqlmodel import select

OUT = Path("demo-output")
console = Console()

#: The demo's config, with the fakes' addresses and the store left to fill in.
CONFIG_TEMPLATE = Path(__file__).with_name("servicesync.toml")


def demo_config(crm_url: str, jira_url: str, store_url: str) -> str:
    """Return the demo's config, pointing at the fakes served at the given URLs."""
    return CONFIG_TEMPLATE.read_text(encoding="utf-8").format(
        crm_url=crm_url, jira_url=jira_url, store_url=store_url
    )


DEALS = [
    ("Northwind: data audit", "data-audit", "48000", "NEW"),
    ("Contoso: BI dashboards", "bi-dashboards", "36500", "PREPARATION"),
    ("Fabrikam: process redesign", "process-redesign", "72000", "PREPAYMENT_INVOICE"),
    ("Tailspin: analytics retainer", "analytics-retainer", "9000", "NEW"),
]


def _fresh_output() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir()


async def main() -> int:
    """Run the demo; return the exit code."""
    _fresh_output()
    clock = SystemClock()
    crm, jira = bitrix24_fake(clock=clock, seed=1), jira_fake(clock=clock, seed=2)
    with contextlib.ExitStack() as stack:
        crm_url = stack.enter_context(serve_in_thread(crm))
        jira_url = stack.enter_context(serve_in_thread(jira))
        webhook_url = crm.credentials()["webhook_url"]
        jira_token = jira.credentials()["token:admin@example.com"]
        console.rule("[bold]servicesync demo")
        console.print(
            f"Fake Bitrix24 portal at {crm_url}, fake Jira site at {jira_url}"
        )
        # Secrets travel through the environment, never through the file.
        os.environ["DEMO_BITRIX24_WEBHOOK_URL"] = webhook_url
        os.environ["DEMO_JIRA_API_TOKEN"] = jira_token
        os.environ["DEMO_BITRIX24_APP_TOKEN"] = secrets.token_urlsafe(16)
        (OUT / "servicesync.toml").write_text(
            demo_config(crm_url, jira_url, "sqlite:///servicesync.db")
        )
        config = load_config(OUT / "servicesync.toml")
        store = open_store(config.store_url(), clock=clock)
        catalog = files("servicesync").joinpath("samples/catalog.yaml")
        summary = import_catalog(store, load_catalog_file(Path(str(catalog))))
        console.print(
            f"Catalog loaded: {summary.services} services, {summary.templates} "
            f"templates, {summary.experts} experts."
        )
        _jira_users(jira, store)
        deal_ids = await _seed_deals(webhook_url)
        console.print(f"Seeded {len(deal_ids)} deals through crm.deal.add.")

        engine = Engine(config, store, load_plugins())
        try:
            _show_sync("Sync 1: the baseline", await engine.sync())
            await _call(webhook_url, "crm.deal.update", {
                "id": deal_ids[0], "fields": {"STAGE_ID": "EXECUTING"},
            })  # fmt: skip
            console.print(f"Deal {deal_ids[0]} moved to 'Contract signed' in the CRM.")
            _show_sync("Sync 2: the deal is won", await engine.sync())
            _show_project(store, jira)
            deal = await _call(webhook_url, "crm.deal.get", {"id": deal_ids[0]})
            link = deal["result"].get("UF_CRM_SERVICESYNC_PROJECT")
            console.print(f"The deal's project link in the CRM: [bold]{link}[/bold]")
            _show_sync(
                "Sync 3: the link on the deal, the new project", await engine.sync()
            )
            report = await engine.sync()
            written = sum(c.written for c in report.streams.values())
            console.print(
                f"Sync 4: nothing changed; it wrote {written} records and delivered "
                f"{report.delivered} events."
            )
        finally:
            await engine.aclose()
            store.close()
    return 0


def _jira_users(jira: Any, store: Any) -> None:
    with store.session() as session:
        for expert in session.exec(select(Expert)):
            jira.add_user(expert.email, expert.name)


async def _seed_deals(webhook_url: str) -> list[str]:
    company = await _call(
        webhook_url, "crm.company.add", {"fields": {"TITLE": "Northwind"}}
    )
    ids = []
    for title, service, amount, stage in DEALS:
        fields = {
            "TITLE": title,
            "STAGE_ID": stage,
            "OPPORTUNITY": amount,
            "CURRENCY_ID": "EUR",
            "COMPANY_ID": company["result"],
            "UF_CRM_SERVICE": service,
        }
        answer = await _call(webhook_url, "crm.deal.add", {"fields": fields})
        ids.append(str(answer["result"]))
    return ids


async def _call(webhook_url: str, method: str, body: dict[str, Any]) -> Any:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{webhook_url}{method}.json", json=body)
        response.raise_for_status()
        return response.json()


def _show_sync(title: str, report: SyncReport) -> None:
    table = Table("stream", "read", "written", "unchanged", "quarantined", "events")
    for name, counts in report.streams.items():
        if counts.read or counts.written:
            table.add_row(
                name,
                str(counts.read),
                str(counts.written),
                str(counts.skipped_unchanged),
                str(counts.quarantined),
                str(counts.events),
            )
    table.title = f"{title} ({report.delivered} events delivered)"
    console.print(table)


def _show_project(store: Any, jira: Any) -> None:
    with store.session() as session:
        project = session.exec(select(Project)).one()
        deal = session.get(Deal, project.deal_id)
        members = session.exec(
            select(ProjectMember).where(ProjectMember.project_id == project.id)
        ).all()
        experts = {e.id: e for e in session.exec(select(Expert))}
    console.print(
        f"Project [bold]{project.name}[/bold] for deal {deal.title if deal else '?'}: "
        f"budget {project.budget_hours} h, "
        f"{project.budget_amount.quantize(Decimal('1'))} "
        f"{project.currency}, {project.start_date} to {project.end_date}."
    )
    team = Table("role", "expert", "why", title="The team, chosen by competencies")
    for pick in project.team_explanation.get("members", []):
        team.add_row(pick["role"], pick["name"], pick["reason"])
    console.print(team)
    passed = project.team_explanation.get("passed_over", [])
    if passed:
        others = Table("role", "expert", "why not", title="Also considered")
        for pick in passed:
            others.add_row(pick["role"], pick["name"], pick["reason"])
        console.print(others)
    console.print(
        f"{len(members)} members saved; {len(experts)} experts in the catalog."
    )
    counts = jira.log.by_route()
    requests = Table("Jira route", "requests", title="What the Jira fake was asked")
    for route, count in sorted(counts.items()):
        label = " ".join(route) if isinstance(route, tuple) else str(route)
        requests.add_row(label, str(count))
    console.print(requests)
