"""The SDK's conformance suite, run against the Asana connector and its fake."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from asana_helpers import HOOK_TARGET, TOKEN, receiver
from pydantic import BaseModel
from servicesync import Clock
from servicesync.contract import Connector, ConnectorContext, WebhookRequest
from servicesync_asana import (
    TASK_FIELDS,
    AsanaConfig,
    AsanaConnector,
    CreateProjectParams,
    hook_key,
)
from servicesync_asana.fake import AsanaFake
from servicesync_asana.fake._fields import select
from servicesync_sdk.fakes import FakeService, FaultRule
from servicesync_sdk.testing import (
    ConformanceHarness,
    ConnectorConformance,
    PublishedLimit,
)


def _asana(fake: FakeService) -> AsanaFake:
    assert isinstance(fake, AsanaFake)
    return fake


def _project(fake: AsanaFake) -> str:
    """The one project the harness reads: the first one made."""
    return min(fake.space.projects, key=int)


class AsanaHarness(ConformanceHarness):
    """Tasks of one project; projects as the action; webhooks on that project."""

    stream = "tasks"
    page_size = 10
    action = "create_project"
    # The free plan: 150 requests a minute per token, all at once if need be.
    limit = PublishedLimit(rate=150 / 60, burst=150)

    def make_fake(self, clock: Clock, seed: int) -> FakeService:
        fake = AsanaFake(clock=clock, seed=seed)
        admin = fake.add_user("admin@acme.test", "Workspace Admin")
        fake.add_token(admin.gid, TOKEN)
        fake.space.create_project(
            {"name": "Conformance", "team": fake.space.team}, admin.gid
        )
        return fake

    def make_connector(
        self, fake: FakeService, context: ConnectorContext
    ) -> Connector[Any]:
        asana = _asana(fake)
        # The store's vault outlives a connector; the memory one does not, so
        # the secrets a handshake stored are put back as the store would.
        for hook in asana.hooks.values():
            key = f"webhook_secret:{hook_key(hook.target)}"
            context.credentials.put(key, hook.secret)
        config = AsanaConfig(
            workspace=asana.space.gid,
            team=asana.space.team,
            access_token=TOKEN,
            page_size=self.page_size,
            projects=[_project(asana)],
        )
        return AsanaConnector(config, context)

    async def insert(self, fake: FakeService, count: int) -> list[str]:
        asana = _asana(fake)
        project = _project(asana)
        start = len(asana.space.tasks)
        return [
            asana.space.create_task(
                {"name": f"Task {start + n}", "projects": [project]}, None
            ).gid
            for n in range(count)
        ]

    async def update(self, fake: FakeService, external_id: str) -> None:
        space = _asana(fake).space
        task = space.task(external_id)
        space.update_task(external_id, {"name": f"{task.name} (revised)"}, None)

    def snapshot(self, fake: FakeService) -> Mapping[str, Mapping[str, Any]]:
        space = _asana(fake).space
        project = space.projects[_project(_asana(fake))]
        return {
            gid: select(space.views.full_task(space.tasks[gid]), TASK_FIELDS)
            for gid in project.tasks
        }

    def action_params(self, fake: FakeService) -> BaseModel:
        return CreateProjectParams(name="Conformance deal", client="Acme")

    def count_objects(self, fake: FakeService, params: BaseModel) -> int:
        assert isinstance(params, CreateProjectParams)
        projects = _asana(fake).space.projects.values()
        return sum(1 for p in projects if p.name == params.name)

    def lose_create_answer(self, fake: FakeService) -> FaultRule:
        return fake.faults.answer_lost(method="POST", path="/api/1.0/projects")

    async def valid_webhook(
        self, fake: FakeService, connector: Connector[Any]
    ) -> WebhookRequest:
        asana = _asana(fake)
        assert isinstance(connector, AsanaConnector)
        asana.hook_receiver = receiver(connector)
        project = _project(asana)
        await connector.webhooks.subscribe(project, HOOK_TARGET)
        await self.insert(fake, 1)
        delivered = await asana.webhooks.flush()
        assert delivered and delivered[-1].status == 200, "the handler took it"
        return WebhookRequest(
            method="POST",
            url=HOOK_TARGET,
            headers=delivered[-1].headers,
            body=delivered[-1].body,
        )


class TestAsanaConformance(ConnectorConformance):
    harness = AsanaHarness()
