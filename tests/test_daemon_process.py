"""``servicesync daemon`` as a process, against the Bitrix24 fake served on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from daemon_process import DaemonProcess
from servicesync import SystemClock
from servicesync_bitrix24.fake import FakePortal
from servicesync_bitrix24.fake import factory as bitrix24_fake
from servicesync_sdk.fakes import serve_in_thread

pytestmark = [pytest.mark.xdist_group("daemon-process"), pytest.mark.timeout(300)]

TOKEN = "event-token-of-the-portal"

CONFIG = """
[store]
url = "sqlite:///store.db"

[connections.crm]
plugin = "bitrix24"
[connections.crm.settings]
portal_url = "{crm_url}"
webhook_url = "${{TEST_B24_WEBHOOK_URL}}"
application_token = "${{TEST_B24_APP_TOKEN}}"
[connections.crm.mapping.values.stage]
NEW = "acquaintance"
[connections.crm.schedule]
cron = "0 0 1 1 *"

[daemon]
heartbeat_seconds = 1
stall_seconds = 5
shutdown_grace_seconds = 20
"""


@pytest.fixture
def portal() -> Iterator[tuple[FakePortal, str]]:
    fake = bitrix24_fake(clock=SystemClock(), seed=3)
    with serve_in_thread(fake) as url:
        yield fake, url


@pytest.fixture
def daemon(tmp_path: Path, portal: tuple[FakePortal, str]) -> Iterator[DaemonProcess]:
    fake, url = portal
    config = tmp_path / "servicesync.toml"
    config.write_text(CONFIG.format(crm_url=url))
    env = {
        "TEST_B24_WEBHOOK_URL": fake.credentials()["webhook_url"],
        "TEST_B24_APP_TOKEN": TOKEN,
    }
    process = DaemonProcess(config, env)
    yield process
    if process.process.poll() is None:
        process.kill()


def _call(fake: FakePortal, method: str, body: dict[str, Any]) -> Any:
    url = f"{fake.credentials()['webhook_url']}{method}.json"
    response = httpx.post(url, json=body, timeout=10)
    response.raise_for_status()
    return response.json()["result"]


def _runs(tmp_path: Path) -> list[dict[str, Any]]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT stream, trigger, status FROM runs ORDER BY started_at")
            )
            return [dict(row._mapping) for row in rows]
    finally:
        engine.dispose()


def _wait_for_runs(tmp_path: Path, trigger_prefix: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        runs = [
            r
            for r in _runs(tmp_path)
            if (r["trigger"] or "").startswith(trigger_prefix)
        ]
        if runs and all(r["status"] != "running" for r in runs):
            return runs
        time.sleep(0.1)
    raise AssertionError(
        f"no finished run triggered by {trigger_prefix!r}: {_runs(tmp_path)}"
    )


def test_webhook_from_the_fake_leads_to_a_run_before_any_schedule(
    tmp_path: Path, portal: tuple[FakePortal, str], daemon: DaemonProcess
) -> None:
    fake, _ = portal
    fake.events.add_outgoing_webhook(
        "ONCRMDEALUPDATE", f"http://127.0.0.1:{daemon.port}/webhooks/crm", TOKEN
    )
    deal = _call(fake, "crm.deal.add", {"fields": {"TITLE": "Northwind"}})

    _call(fake, "crm.deal.update", {"id": deal, "fields": {"TITLE": "Northwind 2"}})
    runs = _wait_for_runs(tmp_path, "webhook:")

    assert all(r["status"] == "ok" for r in runs)
    assert not [r for r in _runs(tmp_path) if r["trigger"] == "schedule"]
    assert [d.status for d in fake.webhooks.deliveries] == [200]
    assert daemon.terminate() == 0


def test_sigterm_mid_run_exits_cleanly_with_nothing_lost(
    tmp_path: Path, portal: tuple[FakePortal, str], daemon: DaemonProcess
) -> None:
    fake, _ = portal
    fake.events.add_outgoing_webhook(
        "ONCRMDEALUPDATE", f"http://127.0.0.1:{daemon.port}/webhooks/crm", TOKEN
    )
    for n in range(300):
        fake.data.add_deal({"TITLE": f"Deal {n}", "STAGE_ID": "NEW"})
    _call(fake, "crm.deal.update", {"id": 1, "fields": {"TITLE": "Deal zero, renamed"}})

    daemon.wait_for(r"Sync of 'crm' starts")
    code = daemon.terminate()

    assert code == 0
    log = "".join(daemon.lines)
    assert "Stopping" in log and "stopped." in log
    runs = _runs(tmp_path)
    assert runs and all(r["status"] == "ok" for r in runs)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'store.db'}")
    with engine.connect() as connection:
        titles = connection.execute(sa.text("SELECT title FROM deals")).scalars().all()
    engine.dispose()
    assert len(titles) == 300
    assert "Deal zero, renamed" in titles
