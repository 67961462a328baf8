"""The conformance suite passes the template's connector and catches faulty ones."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from servicesync import VirtualClock
from servicesync.contract import ActionResult, WebhookRequest
from servicesync_sdk._scaffold import render_plugin
from servicesync_sdk.testing import ConnectorConformance, MemoryBudgets, MemoryLocks

Failure = (AssertionError, pytest.fail.Exception)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    root = render_plugin("suitecheck", tmp_path_factory.mktemp("plugin"))
    sys.path.insert(0, str(root / "src"))
    path = root / "tests" / "test_conformance.py"
    spec = importlib.util.spec_from_file_location("suitecheck_conformance", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    sys.path.remove(str(root / "src"))


def suite_for(harness: Any) -> ConnectorConformance:
    class Suite(ConnectorConformance):
        pass

    Suite.harness = harness
    return Suite()


async def test_suite_passes_template_stream(template: ModuleType) -> None:
    suite = suite_for(template.SuitecheckHarness())

    await suite.test_stream_sees_every_change_once()
    await suite.test_stream_result_unchanged_by_faults()


async def test_suite_catches_action_that_leaves_no_mark(template: ModuleType) -> None:
    class Forgetful(template.SuitecheckHarness):  # type: ignore[name-defined,misc]
        def make_connector(self, fake: Any, context: Any) -> Any:
            connector = super().make_connector(fake, context)
            action = connector.actions()["create_task"]

            async def find_nothing(token: str, params: Any) -> ActionResult | None:
                return None

            action.find_marked = find_nothing
            connector.actions = lambda: {"create_task": action}
            return connector

    with pytest.raises(Failure):
        await suite_for(
            Forgetful()
        ).test_action_repeated_after_lost_answer_leaves_one_object()


async def test_suite_catches_handler_that_trusts_everything(
    template: ModuleType,
) -> None:
    class Trusting(template.SuitecheckHarness):  # type: ignore[name-defined,misc]
        async def forged_webhook(self, fake: Any, connector: Any) -> WebhookRequest:
            valid = await self.valid_webhook(fake, connector)
            return WebhookRequest("POST", valid.url, dict(valid.headers), valid.body)

        def make_connector(self, fake: Any, context: Any) -> Any:
            connector = super().make_connector(fake, context)
            handler = connector.webhook_handler()
            handler.scheme = type("Open", (), {"verify": lambda *a, **k: None})()
            connector.webhook_handler = lambda: handler
            return connector

    with pytest.raises(Failure):
        await suite_for(Trusting()).test_webhook_forged_delivery_rejected()


async def test_suite_skips_part_with_reason(template: ModuleType) -> None:
    class NoHooks(template.SuitecheckHarness):  # type: ignore[name-defined,misc]
        skip = {"webhooks": "the service sends no webhooks"}

    with pytest.raises(pytest.skip.Exception, match="sends no webhooks"):
        await suite_for(NoHooks()).test_webhook_forged_delivery_rejected()


def test_memory_budgets_make_caller_wait_past_burst() -> None:
    budgets = MemoryBudgets()

    waits = [budgets.take("k", 1, rate=2, burst=2, now=0.0) for _ in range(4)]

    assert waits == [0.0, 0.0, 0.5, 1.0]


def test_memory_locks_refuse_second_owner_until_expiry() -> None:
    clock = VirtualClock()
    locks = MemoryLocks(clock)
    locks.try_acquire("sync", "a", ttl=10)

    refused = locks.try_acquire("sync", "b", ttl=10)
    clock.advance(11)

    assert refused is False
    assert locks.try_acquire("sync", "b", ttl=10)


def test_memory_context_fixture_holds_state(memory_context: Any) -> None:
    memory_context.state.put("k", "v")

    assert memory_context.state.get("k") == "v"
