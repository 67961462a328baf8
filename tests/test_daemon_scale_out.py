"""Three daemons on one PostgreSQL share the syncs and take over a dead one's work.

The daemons are real processes sharing the machine's PostgreSQL (a schema of
their own) and the Bitrix24 fake served on loopback with its limits on. One
daemon is killed in the middle of a sync (its call to the portal held there
until it is dead); the others' sweep finds its job and runs it again.
Heartbeats and the stall bound are shortened so the test takes seconds; the
assertions are about what happened, not how fast.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from daemon_process import DaemonProcess
from servicesync import SystemClock
from servicesync.store import make_engine, upgrade
from servicesync.store.testing import postgres_schema, postgres_url
from servicesync_bitrix24.fake import FakePortal
from servicesync_bitrix24.fake import factory as bitrix24_fake
from servicesync_sdk.fakes import serve_in_thread

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.xdist_group("daemon-process"),
    # Three interpreters start on a shared machine; the run itself is short.
    pytest.mark.timeout(300),
]

#: Seconds the daemons run before one is killed, and after.
RUN_BEFORE_KILL = float(os.environ.get("SERVICESYNC_SCALE_OUT_SECONDS", "6"))
RUN_AFTER_KILL = RUN_BEFORE_KILL + 10

CONFIG = """
[store]
url = "{store_url}"

[connections.crm]
plugin = "bitrix24"
[connections.crm.settings]
portal_url = "{crm_url}"
webhook_url = "${{TEST_B24_WEBHOOK_URL}}"
[connections.crm.mapping.values.stage]
NEW = "acquaintance"
[connections.crm.schedule]
every = 2

[daemon]
heartbeat_seconds = 1
stall_seconds = 5
shutdown_grace_seconds = 10
"""


@pytest.fixture
def schema_url() -> Iterator[str]:
    with postgres_schema() as connect_args:
        url = sa.make_url(postgres_url()).update_query_dict(connect_args)
        text = url.render_as_string(hide_password=False)
        engine = make_engine(text)
        upgrade(engine)
        engine.dispose()
        yield text


@pytest.fixture
def portal() -> Iterator[tuple[FakePortal, str]]:
    fake = bitrix24_fake(clock=SystemClock(), seed=5)
    for n in range(40):
        fake.data.add_deal({"TITLE": f"Deal {n}", "STAGE_ID": "NEW"})
    with serve_in_thread(fake) as url:
        yield fake, url


def _query(url: str, sql: str) -> list[dict[str, Any]]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(sa.text(sql))]
    finally:
        engine.dispose()


def test_three_daemons_share_the_work_and_take_over_a_dead_one(
    tmp_path: Path, schema_url: str, portal: tuple[FakePortal, str]
) -> None:
    fake, crm_url = portal
    config = tmp_path / "servicesync.toml"
    config.write_text(CONFIG.format(store_url=schema_url, crm_url=crm_url))
    env = {
        "TEST_B24_WEBHOOK_URL": fake.credentials()["webhook_url"],
        "SERVICESYNC_SECRET_KEY": Fernet.generate_key().decode(),
    }
    daemons = [DaemonProcess(config, env) for _ in range(3)]
    try:
        time.sleep(RUN_BEFORE_KILL)
        with fake.hold() as hold:
            # The next call to the portal waits there, so the daemon that
            # made it is in the middle of a sync when it dies.
            hold.wait_held()
            victim = _busy_daemon(daemons)
            victim.kill()
        time.sleep(RUN_AFTER_KILL)
        survivors = [d for d in daemons if d is not victim]
        work = survivors[0].health()["work"]
        codes = [d.terminate() for d in survivors]
    finally:
        for daemon in daemons:
            if daemon.process.poll() is None:
                daemon.kill()

    assert codes == [0, 0]
    # Health reads the shared queue: syncs of every 2 s wait at most one each.
    assert set(work) == {"running", "waiting"} and work["waiting"] in (0, 1), work
    jobs = _query(
        schema_url,
        "SELECT id, task_name, status, attempts FROM procrastinate_jobs "
        "WHERE task_name = 'servicesync.scheduled_sync' ORDER BY id",
    )
    assert jobs, "the schedule deferred jobs"
    takeovers = _query(
        schema_url, "SELECT trigger, message FROM runs WHERE status = 'requeued'"
    )
    assert len(takeovers) == 1, takeovers
    taken_job = int(takeovers[0]["trigger"].removeprefix("takeover:job "))
    for job in jobs:
        if job["id"] == taken_job:
            assert job["status"] in ("succeeded", "failed"), job
        else:
            assert job["status"] in ("succeeded", "todo"), job
    runs = _query(
        schema_url,
        "SELECT trigger, status, worker, started_at, finished_at FROM runs "
        "WHERE stream = 'deals' ORDER BY started_at",
    )
    ok = [r for r in runs if r["status"] == "ok"]
    every_stream = _query(schema_url, "SELECT status FROM runs")
    for earlier, later in itertools.pairwise(runs):
        assert earlier["finished_at"] <= later["started_at"], (earlier, later)
    assert len({r["worker"] for r in ok}) >= 2, "the work was shared"
    assert [r for r in every_stream if r["status"] == "interrupted"]
    assert not [r for r in every_stream if r["status"] == "running"]
    assert fake.log.count(status=503) == 0


def _busy_daemon(daemons: list[DaemonProcess]) -> DaemonProcess:
    """Return the first daemon seen starting a sync, once it has started one."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for daemon in daemons:
            started = sum("Sync of 'crm' starts" in line for line in daemon.lines)
            done = sum("Sync of 'crm' done" in line for line in daemon.lines)
            if started > done:
                return daemon
        time.sleep(0.01)
    logs = "\n---\n".join("".join(d.lines[-30:]) for d in daemons)
    raise AssertionError(f"no daemon started a sync; they logged:\n{logs}")
