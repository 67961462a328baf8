"""The conformance suite passes the template's connector and catches faulty ones."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterator
from datetime import timedelta
from types import ModuleType
from typing import Any

import pytest
from servicesync import VirtualClock
from servicesync.contract import ActionResult, WebhookRequest
from servicesync_sdk._scaffold import render_plugin
from servicesync_sdk.http import Throttle
from servicesync_sdk.testing import (
    ConformanceKit,
    ConnectorConformance,
    MemoryBudgets,
    MemoryLocks,
)

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


def without_limiter(harness: Any) -> Any:
    """Return ``harness`` with its connectors' limiters taken away."""

    class Unpaced(type(harness)):  # type: ignore[misc]
        def make_connector(self, fake: Any, context: Any) -> Any:
            connector = super().make_connector(fake, context)
            connector.client.throttle = Throttle([])
            return connector

    return Unpaced()


@pytest.mark.parametrize("workload", ["one_read", "repeated_reads"])
async def test_suite_passes_template_rate_limit(
    template: ModuleType, workload: str
) -> None:
    class Paced(template.SuitecheckHarness):  # type: ignore[name-defined,misc]
        limit_workload = workload

    await suite_for(Paced()).test_rate_limit_kept_at_published_throughput()


@pytest.mark.parametrize("workload", ["one_read", "repeated_reads"])
async def test_suite_catches_client_without_limiter(
    template: ModuleType, workload: str
) -> None:
    class Paced(template.SuitecheckHarness):  # type: ignore[name-defined,misc]
        limit_workload = workload

    suite = suite_for(without_limiter(Paced()))

    with pytest.raises(Failure):
        await suite.test_rate_limit_kept_at_published_throughput()


def trailing_harness(template: ModuleType, settle: float) -> Any:
    """A harness whose stream's windows end a minute before the service's now."""
    streams = importlib.import_module("servicesync_suitecheck.connector")

    class TrailingStream(streams.TasksStream):  # type: ignore[misc]
        settle = timedelta(minutes=1)

    class Trailing(template.SuitecheckHarness):  # type: ignore[name-defined,misc]
        def make_connector(self, fake: Any, context: Any) -> Any:
            connector = super().make_connector(fake, context)
            connector.streams = lambda: [TrailingStream(connector)]
            return connector

    Trailing.settle = settle
    return Trailing()


async def test_suite_waits_out_a_declared_settle(template: ModuleType) -> None:
    suite = suite_for(trailing_harness(template, settle=60.0))

    await suite.test_stream_sees_every_change_once()
    await suite.test_stream_reads_only_changes_from_saved_state()


async def test_suite_fails_a_trailing_stream_without_settle(
    template: ModuleType,
) -> None:
    suite = suite_for(trailing_harness(template, settle=0.0))

    with pytest.raises(Failure):
        await suite.test_stream_sees_every_change_once()


async def test_kit_aims_read_faults_at_declared_reads(template: ModuleType) -> None:
    class PostReads(template.SuitecheckHarness):  # type: ignore[name-defined,misc]
        read_method = "POST"
        read_path = "/v1/search"

    async with ConformanceKit(PostReads()) as kit:
        timeout = kit.add_read_fault("timeout")
        lost = kit.lose_read_answer()

    assert (timeout.methods, timeout.path) == (frozenset({"POST"}), "/v1/search")
    assert (lost.methods, lost.path, lost.after_processing) == (
        frozenset({"POST"}),
        "/v1/search",
        True,
    )


async def test_suite_fails_malformed_part_aimed_past_the_reads(
    template: ModuleType,
) -> None:
    class WrongReads(template.SuitecheckHarness):  # type: ignore[name-defined,misc]
        read_method = "POST"

    with pytest.raises(Failure):
        await suite_for(WrongReads()).test_malformed_answer_raises_and_writes_nothing(
            "malform"
        )


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
