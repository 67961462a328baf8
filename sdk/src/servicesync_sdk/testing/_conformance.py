"""The conformance suite: what every connector must do against its own fake.

Enable it with one class in the plugin's tests::

    class TestTaskletConformance(ConnectorConformance):
        harness = TaskletHarness()
"""

from __future__ import annotations

import contextlib
import logging
import traceback
from typing import Any, ClassVar

import pytest
from servicesync.contract import StreamState, payload_hash
from servicesync.errors import ConnectorError, MalformedResponse, WebhookRejected

from servicesync_sdk.fakes import LoggedRequest
from servicesync_sdk.testing._harness import ConformanceHarness, ConformanceKit
from servicesync_sdk.testing._recorder import Recorder
from servicesync_sdk.testing._transports import ScriptedSlowDowns

__all__ = ["ConnectorConformance"]

_FAR_AHEAD = 86_400.0


class ConnectorConformance:
    """Base class of a connector's conformance tests; set :attr:`harness`.

    Every test builds a fresh :class:`ConformanceKit` (a virtual clock, the
    fake, connectors), so the tests run in any order and in parallel.
    """

    harness: ClassVar[ConformanceHarness]

    def kit(self, part: str) -> ConformanceKit:
        """Return a kit for ``part``, or skip it with the harness's reason."""
        reason = self.harness.skip.get(part)
        if reason:
            pytest.skip(f"{part}: {reason}")
        return ConformanceKit(self.harness)

    def expected(self, kit: ConformanceKit) -> dict[str, str]:
        """Return the payload hash of every record the fake holds, by external id."""
        snapshot = self.harness.snapshot(kit.fake)
        return {str(k): payload_hash(v) for k, v in snapshot.items()}

    @staticmethod
    def kept(recorder: Recorder) -> dict[str, str]:
        """Return the payload hash of every record the recorder kept, by external id.

        The payload's, not the record's own: a record read as JSON text is
        hashed by its text.
        """
        return {k: payload_hash(v) for k, v in recorder.payloads.items()}

    @pytest.mark.asyncio
    async def test_stream_sees_every_change_once(self) -> None:
        async with self.kit("stream") as kit:
            ids = await kit.seed_pages()
            recorder = Recorder()
            inserted: list[str] = []

            async def change(page: int) -> None:
                if page == 1:
                    inserted.extend(await self.harness.insert(kit.fake, 2))
                    await self.harness.update(kit.fake, ids[0])
                    await self.harness.update(kit.fake, ids[-1])

            first = await recorder.run(kit.stream(), between=change)
            kit.let_settle()
            await recorder.run(kit.stream())

        assert first.pages >= 4, "three full pages and a partial one were seeded"
        assert self.kept(recorder) == self.expected(kit)
        # Every seeded record once, the two inserts once, and the record read
        # before its update once more; the update made before its page was
        # read shows only its new version.
        assert sum(recorder.changes.values()) == len(ids) + 3
        assert max(recorder.changes.values()) == 1

    @pytest.mark.asyncio
    async def test_stream_reads_only_changes_from_saved_state(self) -> None:
        async with self.kit("stream") as kit:
            ids = await kit.seed_pages()
            # A day passes before the first run, so the next window's overlap
            # reaches back to nothing seeded.
            kit.clock.advance(_FAR_AHEAD)
            recorder = Recorder()
            await recorder.run(kit.stream())
            await self.harness.update(kit.fake, ids[1])
            inserted = await self.harness.insert(kit.fake, 1)
            kit.let_settle()

            second = await recorder.run(kit.stream())

        assert {r.external_id for r in second.read} == {ids[1], *inserted}
        assert self.kept(recorder) == self.expected(kit)

    @pytest.mark.asyncio
    async def test_stream_resumes_inside_window_after_interruption(self) -> None:
        async with self.kit("resume") as kit:
            ids = await kit.seed_pages()
            recorder = Recorder()
            first = await recorder.run(kit.stream(), stop_after=2)
            saved = recorder.state

            second = await recorder.run(kit.stream())

        assert saved.in_window, "the checkpoint after page 2 keeps the window open"
        read = [r.external_id for r in first.read + second.read]
        assert sorted(read) == sorted(ids), "resumed without a gap or a re-read"
        assert self.kept(recorder) == self.expected(kit)

    @pytest.mark.asyncio
    async def test_stream_result_unchanged_by_faults(self) -> None:
        async with self.kit("faults") as kit:
            ids = await kit.seed_pages()
            faults = kit.fake.faults
            faults.add("error", status=429, probability=0.3, times=2)
            faults.add("error", status=503, probability=0.3, times=2)
            kit.add_read_fault("timeout", probability=0.3, times=2)
            kit.lose_read_answer(probability=0.3, times=2)
            recorder = Recorder()

            await recorder.run_to_end(kit.stream, restarts=5)

        assert sum(faults.injected.values()) > 0, "the faults hit some requests"
        assert self.kept(recorder) == self.expected(kit)
        assert sum(recorder.changes.values()) == len(ids)

    @pytest.mark.asyncio
    async def test_action_repeated_after_lost_answer_leaves_one_object(self) -> None:
        name = self._action_name()
        async with self.kit("action") as kit:
            params = self.harness.action_params(kit.fake)
            lost = self.harness.lose_create_answer(kit.fake)
            key = "conformance:action:1"
            # The answer is lost, so this attempt may fail; the engine would
            # try again later with the same key.
            with contextlib.suppress(ConnectorError):
                await kit.connector().actions()[name].execute(key, params)
            action = kit.connector().actions()[name]

            result = await action.find(key, params) or await action.execute(key, params)

        assert lost.fired == 1, "the fake applied the write and lost its answer"
        assert result.external_id
        assert self.harness.count_objects(kit.fake, params) == 1

    @pytest.mark.asyncio
    async def test_rate_limit_kept_at_published_throughput(self) -> None:
        limit = self.harness.limit
        if limit is None:
            pytest.skip("rate_limit: the service publishes no rate limit")
        requests = max(20, 2 * limit.burst + 10)
        async with self.kit("rate_limit") as kit:
            seen, elapsed = await self._keep_busy(kit, requests)

        refused = [e for e in seen if e.status == limit.refusal_status]
        assert refused == []
        assert len(seen) >= requests, "the workload sent more than a burst"
        assert elapsed > 0, "the workload was large enough to meet the limit"
        assert len(seen) / elapsed >= 0.9 * limit.rate

    @pytest.mark.asyncio
    async def test_retry_after_honoured_without_storm(self) -> None:
        async with self.kit("retry_after") as kit:
            ids = await kit.seed_pages()
            script = ["7", None, "0", None]
            transport = ScriptedSlowDowns(kit.fake.transport(), kit.clock, script)
            recorder = Recorder()

            await recorder.run(kit.stream(kit.connector(transport)))

        seen = transport.seen
        assert len(seen) > len(script)
        assert seen[1].at - seen[0].at >= 7, "Retry-After: 7 was waited out"
        assert seen[3].at - seen[2].at > 0, "Retry-After: 0 still backs off"
        assert sorted(recorder.hashes) == sorted(ids)

    @pytest.mark.asyncio
    async def test_secrets_stay_out_of_logs_errors_and_requests(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        async with self.kit("secrets") as kit:
            await kit.seed_pages()
            await Recorder().run(kit.stream())
            kit.fake.faults.add("error", status=503)
            with pytest.raises(ConnectorError) as failure:
                await Recorder().run(kit.stream())
            secrets = [s for s in self.harness.secrets(kit.fake) if s]

        error = "".join(traceback.format_exception(failure.value))
        logged = [repr(entry) for entry in kit.fake.log]
        assert secrets, "the harness names the secrets to look for"
        for secret in secrets:
            assert secret not in caplog.text
            assert secret not in error
            assert not any(secret in entry for entry in logged)

    @pytest.mark.asyncio
    async def test_webhook_forged_delivery_rejected(self) -> None:
        async with self.kit("webhooks") as kit:
            connector = kit.connector()
            handler = connector.webhook_handler()
            assert handler is not None, "the connector offers a webhook handler"
            forged = await self.harness.forged_webhook(kit.fake, connector)

            with pytest.raises(WebhookRejected) as rejected:
                await handler.handle(forged)

        assert rejected.value.status == 401

    @pytest.mark.asyncio
    async def test_webhook_replay_yields_same_delivery_key(self) -> None:
        async with self.kit("webhooks") as kit:
            connector = kit.connector()
            valid = await self.harness.valid_webhook(kit.fake, connector)
            first = await self._handle(connector, valid)

            again = await self._handle(kit.connector(), valid)

        assert first.delivery_key is not None
        assert again.delivery_key == first.delivery_key

    @pytest.mark.asyncio
    @pytest.mark.parametrize("kind", ["malform", "truncate"])
    async def test_malformed_answer_raises_and_writes_nothing(self, kind: str) -> None:
        async with self.kit("malformed") as kit:
            await kit.seed_pages()
            kit.add_read_fault(kind)
            recorder = Recorder()

            with pytest.raises(MalformedResponse) as failure:
                await recorder.run(kit.stream())

        assert str(failure.value)
        assert recorder.hashes == {}
        assert recorder.state == StreamState()

    async def _keep_busy(
        self, kit: ConformanceKit, requests: int
    ) -> tuple[list[LoggedRequest], float]:
        """Make one connector send ``requests`` requests or more; return them.

        The records are inserted before the count starts, so requests a
        harness sends to seed the fake are neither counted nor timed.
        """
        repeated = self.harness.limit_workload == "repeated_reads"
        count = 1 if repeated else requests * self.harness.page_size
        await self.harness.insert(kit.fake, count)
        kit.let_settle()
        mark, start = len(kit.fake.log), kit.clock.monotonic()
        connector, recorder = kit.connector(), Recorder()

        await recorder.run(kit.stream(connector))
        while repeated and len(kit.fake.log) - mark < requests:
            before = len(kit.fake.log)
            await recorder.run(kit.stream(connector))
            assert len(kit.fake.log) > before, "each read sends a request"

        seen = list(kit.fake.log)[mark:]
        return seen, kit.clock.monotonic() - start

    def _action_name(self) -> str:
        name = self.harness.action
        if name is None and "action" not in self.harness.skip:
            pytest.fail(
                "The harness names no action; set `action` or give a reason "
                "in `skip = {'action': ...}`."
            )
        return name or ""

    async def _handle(self, connector: Any, request: Any) -> Any:
        handler = connector.webhook_handler()
        assert handler is not None, "the connector offers a webhook handler"
        return await handler.handle(request)
