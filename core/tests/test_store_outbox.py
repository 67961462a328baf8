from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import timedelta

from servicesync.store import Store
from servicesync.store._processes import this_process

LEASE = timedelta(minutes=5)


def _append(store: Store, plugins: list[str]) -> str:
    with store.transaction() as tx:
        return store.outbox_append(tx, "deal.won", {"deal": "D1"}, plugins)


def test_outbox_claim_returns_events_for_each_plugin(store: Store) -> None:
    event_id = _append(store, ["jira", "slack"])

    jira = store.outbox_claim("jira", LEASE)
    slack = store.outbox_claim("slack", LEASE)

    assert [(e.event_id, e.type) for e in jira] == [(event_id, "deal.won")]
    assert [e.event_id for e in slack] == [event_id]
    assert jira[0].payload == {"deal": "D1"}


def test_outbox_claimed_event_is_hidden_until_the_lease_ends(store: Store) -> None:
    _append(store, ["jira"])
    store.outbox_claim("jira", LEASE)

    during = store.outbox_claim("jira", LEASE)
    store.clock.advance(LEASE.total_seconds())  # type: ignore[attr-defined]
    after = store.outbox_claim("jira", LEASE)

    assert (len(during), len(after)) == (0, 1)


def test_outbox_completed_event_is_not_claimed_again(store: Store) -> None:
    event_id = _append(store, ["jira"])
    store.outbox_claim("jira", LEASE)
    store.outbox_complete(event_id, "jira")
    store.clock.advance(LEASE.total_seconds())  # type: ignore[attr-defined]

    assert store.outbox_claim("jira", LEASE) == []


def test_outbox_failed_event_waits_then_is_retried(store: Store) -> None:
    event_id = _append(store, ["jira"])
    store.outbox_claim("jira", LEASE)
    store.outbox_fail(event_id, "jira", "timeout", retry_in=timedelta(seconds=30))

    early = store.outbox_claim("jira", LEASE)
    store.clock.advance(30)  # type: ignore[attr-defined]
    later = store.outbox_claim("jira", LEASE)

    assert early == []
    assert [e.attempts for e in later] == [1]


def test_outbox_event_becomes_a_dead_letter_after_max_attempts(store: Store) -> None:
    event_id = _append(store, ["jira"])
    dead = [
        store.outbox_fail(event_id, "jira", f"fail {n}", timedelta(0), max_attempts=3)
        for n in range(3)
    ]

    assert dead == [False, False, True]
    assert [e.event_id for e in store.dead_letters("jira")] == [event_id]
    assert store.outbox_claim("jira", LEASE) == []


def _ended_process() -> str:
    """Name a process of this host that has run and ended, as claims name it."""
    with subprocess.Popen([sys.executable, "-c", "pass"]) as child:
        child.wait()
    return f"{socket.gethostname()}/{child.pid}/0"


def test_outbox_claim_of_a_killed_process_is_taken_at_once(store: Store) -> None:
    event_id = _append(store, ["jira"])
    store.outbox_claim("jira", LEASE, owner=_ended_process())

    again = store.outbox_claim("jira", LEASE)

    assert [e.event_id for e in again] == [event_id]


def test_outbox_claim_of_a_running_process_waits_for_the_lease(store: Store) -> None:
    _append(store, ["jira"])
    parent = f"{socket.gethostname()}/{os.getppid()}/0"
    store.outbox_claim("jira", LEASE, owner=parent)

    assert store.outbox_claim("jira", LEASE) == []


def test_outbox_claim_of_another_host_waits_for_the_lease(store: Store) -> None:
    _append(store, ["jira"])
    elsewhere = this_process().replace(socket.gethostname(), "elsewhere", 1)
    store.outbox_claim("jira", LEASE, owner=elsewhere)

    assert store.outbox_claim("jira", LEASE) == []


def test_outbox_completed_delivery_gives_its_claim_back(store: Store) -> None:
    event_id = _append(store, ["jira"])
    store.outbox_claim("jira", LEASE)

    store.outbox_complete(event_id, "jira")

    assert store.locks().try_acquire(f"outbox:jira:{event_id}", "another", 60)
