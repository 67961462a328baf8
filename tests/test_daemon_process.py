"""``servicesync daemon`` as a process, on ``make demo``'s config and its fakes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from daemon_process import DaemonProcess
from servicesync import SystemClock
from servicesync.catalog import import_catalog, load_catalog_file
from servicesync.domain import Expert
from servicesync.store import open_store
from servicesync_bitrix24.fake import FakePortal
from servicesync_bitrix24.fake import factory as bitrix24_fake
from servicesync_jira.fake import factory as jira_fake
from servicesync_sdk.fakes import serve_in_thread
from sqlmodel import select

pytestmark = [pytest.mark.xdist_group("daemon-process"), pytest.mark.timeout(300)]

DEMO_CONFIG = Path(__file__).parents[1] / "demo" / "servicesync.toml"
CATALOG = Path(str(files("servicesync").joinpath("samples/catalog.yaml")))
APP_TOKEN = "event-token-of-the-portal"


@dataclass
class Demo:
    """The demo's two fakes on loopback, its config, and a daemon running it."""

    crm: FakePortal
    jira: Any
    folder: Path
    daemon: DaemonProcess

    def call(self, method: str, body: dict[str, Any]) -> Any:
        url = f"{self.crm.credentials()['webhook_url']}{method}.json"
        response = httpx.post(url, json=body, timeout=10)
        response.raise_for_status()
        return response.json()["result"]

    def runs(self) -> list[dict[str, Any]]:
        return self.query(
            "SELECT stream, trigger, status FROM runs ORDER BY started_at"
        )

    def query(self, sql: str) -> list[dict[str, Any]]:
        engine = sa.create_engine(f"sqlite:///{self.folder / 'servicesync.db'}")
        try:
            with engine.connect() as connection:
                return [dict(row._mapping) for row in connection.execute(sa.text(sql))]
        finally:
            engine.dispose()


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    clock = SystemClock()
    crm, jira = bitrix24_fake(clock=clock, seed=1), jira_fake(clock=clock, seed=2)
    with serve_in_thread(crm) as crm_url, serve_in_thread(jira) as jira_url:
        text = DEMO_CONFIG.read_text(encoding="utf-8").format(
            crm_url=crm_url, jira_url=jira_url, store_url="sqlite:///servicesync.db"
        )
        config = tmp_path / "servicesync.toml"
        config.write_text(text)
        store = open_store(f"sqlite:///{tmp_path / 'servicesync.db'}")
        import_catalog(store, load_catalog_file(CATALOG))
        with store.session() as session:
            for expert in session.exec(select(Expert)):
                jira.add_user(expert.email, expert.name)
        store.close()
        env = {
            "DEMO_BITRIX24_WEBHOOK_URL": crm.credentials()["webhook_url"],
            "DEMO_BITRIX24_APP_TOKEN": APP_TOKEN,
            "DEMO_JIRA_API_TOKEN": jira.credentials()["token:admin@example.com"],
        }
        daemon = DaemonProcess(config, env)
        crm.events.add_outgoing_webhook(
            "ONCRMDEALUPDATE", f"http://127.0.0.1:{daemon.port}/webhooks/crm", APP_TOKEN
        )
        try:
            yield Demo(crm, jira, tmp_path, daemon)
        finally:
            if daemon.process.poll() is None:
                daemon.kill()


def test_a_won_deal_reaches_jira_through_a_webhook_before_any_schedule(
    demo: Demo,
) -> None:
    deal = demo.call(
        "crm.deal.add",
        {"fields": {"TITLE": "Northwind", "STAGE_ID": "NEW", "OPPORTUNITY": "48000",
                    "CURRENCY_ID": "EUR", "UF_CRM_SERVICE": "data-audit"}},
    )  # fmt: skip
    demo.call("crm.deal.update", {"id": deal, "fields": {"TITLE": "Northwind"}})
    demo.daemon.wait_for(r"Sync of 'crm' done \(webhook:")

    # Bitrix24 stamps events to the second and names no event id, so this
    # event may share its delivery key with the one before: it must still
    # lead to a sync. The flow then writes the project's link to the deal,
    # whose own event starts one more run: wait until all of that is over.
    demo.call("crm.deal.update", {"id": deal, "fields": {"STAGE_ID": "EXECUTING"}})
    demo.daemon.wait_until_idle(lambda: demo.crm.webhooks.settled)

    webhook_runs = [r for r in demo.runs() if r["trigger"].startswith("webhook:")]
    assert webhook_runs and all(r["status"] == "ok" for r in webhook_runs)
    assert not [r for r in demo.runs() if r["trigger"] == "schedule"]
    log = "".join(demo.daemon.lines[-60:])
    assert len(demo.query("SELECT id FROM projects")) == 1, log
    assert (
        demo.jira.log.count(method="POST", route="/rest/api/3/project", status=201) == 1
    )
    assert {d.status for d in demo.crm.webhooks.deliveries} == {200}
    assert demo.daemon.terminate() == 0


def test_sigterm_mid_run_exits_cleanly_with_nothing_lost(demo: Demo) -> None:
    for n in range(300):
        demo.crm.data.add_deal({"TITLE": f"Deal {n}", "STAGE_ID": "NEW"})
    demo.call("crm.deal.update", {"id": 1, "fields": {"TITLE": "Deal zero, renamed"}})

    demo.daemon.wait_for(r"Sync of 'crm' starts")
    code = demo.daemon.terminate()

    assert code == 0
    log = "".join(demo.daemon.lines)
    assert "Stopping" in log and "stopped." in log
    runs = demo.runs()
    assert runs and all(r["status"] == "ok" for r in runs)
    titles = [row["title"] for row in demo.query("SELECT title FROM deals")]
    assert len(titles) == 300
    assert "Deal zero, renamed" in titles
