"""The engine with an Asana connection: progress in one sync, forged hooks ignored."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from asana_helpers import HOOK_TARGET, TEAM, TOKEN
from servicesync.config import parse_config
from servicesync.contract import Record, WebhookRequest
from servicesync.engine import Engine
from servicesync.errors import WebhookRejected
from servicesync.plugins import load_plugins
from servicesync.store import Store
from servicesync.store.testing import (
    _postgres_engine,
    _sqlite_engine,
    every_row,
    store,
    store_backend,
)
from servicesync_asana import TASK_FIELDS, AsanaConnector, section_progress
from servicesync_asana.fake import AsanaFake, FakeProject
from servicesync_asana.fake._fields import select
from servicesync_sdk.signatures import sign_hmac_sha256_hex

__all__ = ["_postgres_engine", "_sqlite_engine", "store", "store_backend"]

CONFIG = """
[connections.delivery]
plugin = "asana"
[connections.delivery.settings]
workspace = "{workspace}"
team = "{team}"
access_token = "{token}"
"""


class World:
    """A fake workspace with one project, and an engine with its connection."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.fake = AsanaFake(clock=store.clock, seed=5)
        admin = self.fake.add_user("admin@acme.test", "Admin")
        self.fake.add_token(admin.gid, TOKEN)
        for n, email in enumerate(TEAM):
            self.fake.add_user(email, f"Dev {n}")
        self.project = self._project()
        text = CONFIG.format(
            workspace=self.fake.space.gid, team=self.fake.space.team, token=TOKEN
        )
        self.engine = Engine(
            parse_config(text),
            store,
            load_plugins(),
            transports={"delivery": self.fake.transport()},
        )

    def _project(self) -> FakeProject:
        space = self.fake.space
        made = space.create_project({"name": "Delivery", "team": space.team}, None)
        section = space.create_section(made.gid, "Build", None)
        for n in range(4):
            membership = {"project": made.gid, "section": section.gid}
            space.create_task({"name": f"T{n}", "memberships": [membership]}, None)
        return made

    def unchanged(self, stream: str, record: Record) -> bool:
        """Whether the store already holds ``record`` as it is now."""
        with self.store.transaction() as tx:
            return not self.store.changed_records(tx, "delivery", stream, [record])

    def task_record(self, gid: str) -> Record:
        space = self.fake.space
        return Record.of(
            gid, select(space.views.full_task(space.tasks[gid]), TASK_FIELDS)
        )

    def progress_record(self) -> Record:
        space = self.fake.space
        fields = ["completed", "due_on", "assignee", "assignee.name", "memberships"]
        nested = [
            "memberships.project",
            "memberships.project.name",
            "memberships.section",
            "memberships.section.name",
        ]
        tasks = [
            select(space.views.full_task(space.tasks[t]), [*fields[:-1], *nested])
            for t in self.project.tasks
        ]
        (rollup,) = section_progress(self.project.gid, tasks)
        return Record.of(rollup["gid"], rollup)


@pytest.fixture
async def world(store: Store) -> AsyncIterator[World]:
    world = World(store)
    yield world
    await world.engine.aclose()


async def test_progress_changed_in_asana_is_in_the_store_after_one_sync(
    world: World,
) -> None:
    await world.engine.sync("delivery")
    done = world.project.tasks[2]
    world.fake.space.update_task(done, {"completed": True}, None)
    world.store.clock.advance(1)  # type: ignore[attr-defined]

    report = await world.engine.sync("delivery")

    assert report.streams["delivery.tasks"].written == 1
    assert report.streams["delivery.progress"].written == 1
    assert world.unchanged("tasks", world.task_record(done))
    progress = world.progress_record()
    assert progress.payload["done"] == 1
    assert world.unchanged("progress", progress)


async def receive_through(engine: Engine, request: httpx.Request) -> httpx.Response:
    """What servicesync's webhook endpoint does with a post: the engine takes it."""
    incoming = WebhookRequest(
        request.method, str(request.url), dict(request.headers), await request.aread()
    )
    try:
        answer = await engine.handle_webhook("delivery", incoming)
    except WebhookRejected as exc:
        return httpx.Response(exc.status)
    return httpx.Response(
        answer.status, headers=dict(answer.headers), content=answer.body
    )


async def test_webhook_with_a_wrong_signature_changes_nothing(world: World) -> None:
    engine = world.engine
    await engine.sync("delivery")

    async def receive(request: httpx.Request) -> httpx.Response:
        return await receive_through(engine, request)

    world.fake.hook_receiver = receive
    connector = engine.connector("delivery")
    assert isinstance(connector, AsanaConnector)
    await connector.webhooks.subscribe(world.project.gid, HOOK_TARGET)
    changed = world.project.tasks[0]
    world.fake.space.update_task(changed, {"name": "Renamed"}, None)
    renamed = world.task_record(changed)
    (valid,) = await world.fake.webhooks.flush()
    taken_in = world.unchanged("tasks", renamed)
    world.fake.space.update_task(changed, {"name": "Renamed again"}, None)
    (queued,) = world.fake.webhooks.pending
    world.fake.webhooks.pending.clear()
    body = json.dumps(queued[2]).encode()
    forged = WebhookRequest(
        "POST",
        HOOK_TARGET,
        {"X-Hook-Signature": sign_hmac_sha256_hex("not-the-secret", body)},
        body,
    )
    before = every_row(world.store.engine)

    with pytest.raises(WebhookRejected) as rejected:
        await engine.handle_webhook("delivery", forged)

    assert valid.status == 200
    assert taken_in, "a delivery signed with the secret is taken in"
    assert rejected.value.status == 401
    assert every_row(world.store.engine) == before
    assert not world.unchanged("tasks", world.task_record(changed))
