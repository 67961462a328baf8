from __future__ import annotations

from typing import Any

from servicesync.engine import Dispatcher, replay
from servicesync.store import Store


def add_event(store: Store, consumers: list[str]) -> str:
    with store.transaction() as tx:
        return store.outbox_append(tx, "deal_stage_changed", {"deal": "D1"}, consumers)


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls: list[str] = []

    async def __call__(
        self, _type: str, event_id: str, _payload: dict[str, Any]
    ) -> None:
        self.calls.append(event_id)
        if self.fail:
            raise RuntimeError("mail server down")


async def test_dispatcher_failing_consumer_does_not_delay_another(store: Store) -> None:
    good, bad = Recorder(), Recorder(fail=True)
    event = add_event(store, ["good", "bad"])
    dispatcher = Dispatcher(store, {"good": good, "bad": bad}, max_attempts=3)

    delivered = await dispatcher.run_once()

    assert delivered == 1
    assert good.calls == [event]
    assert bad.calls == [event]


async def test_dispatcher_retries_with_backoff_then_dead_letters(store: Store) -> None:
    bad = Recorder(fail=True)
    add_event(store, ["bad"])
    dispatcher = Dispatcher(store, {"bad": bad}, max_attempts=3, base_delay=10)

    for _ in range(3):
        await dispatcher.run_once()
        store.clock.advance(3600)  # type: ignore[attr-defined]

    assert len(bad.calls) == 3
    dead = store.dead_letters()
    assert [(d.plugin, d.attempts) for d in dead] == [("bad", 3)]


async def test_dispatcher_waits_for_backoff_before_retrying(store: Store) -> None:
    bad = Recorder(fail=True)
    add_event(store, ["bad"])
    dispatcher = Dispatcher(store, {"bad": bad}, max_attempts=5, base_delay=60)

    await dispatcher.run_once()
    await dispatcher.run_once()
    store.clock.advance(61)  # type: ignore[attr-defined]
    await dispatcher.run_once()

    assert len(bad.calls) == 2


async def test_replay_delivers_dead_letter_once_and_spares_the_succeeded(
    store: Store,
) -> None:
    good, bad = Recorder(), Recorder(fail=True)
    event = add_event(store, ["good", "bad"])
    dispatcher = Dispatcher(store, {"good": good, "bad": bad}, max_attempts=1)
    await dispatcher.drain()
    bad.fail = False

    replayed = replay(store)
    delivered = await dispatcher.drain()

    assert replayed == 1
    assert delivered == 1
    assert good.calls == [event]
    assert bad.calls == [event, event]
    assert store.dead_letters() == []
