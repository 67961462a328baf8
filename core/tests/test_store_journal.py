from __future__ import annotations

from datetime import timedelta

from servicesync.store import QuarantineRow, RunCounts, RunRow, Store
from sqlmodel import select


def test_journal_begin_records_a_pending_attempt(store: Store) -> None:
    entry = store.journal_begin("k1", "jira", "create_project", {"name": "X"})

    assert (entry.status, entry.attempts, dict(entry.params)) == (
        "pending",
        1,
        {"name": "X"},
    )


def test_journal_begin_after_confirm_returns_the_result(store: Store) -> None:
    store.journal_begin("k1", "jira", "create_project", {})
    store.journal_confirm("k1", {"external_id": "PRJ-1"})

    again = store.journal_begin("k1", "jira", "create_project", {})

    assert again.status == "confirmed"
    assert again.result == {"external_id": "PRJ-1"}
    assert again.attempts == 1


def test_journal_begin_again_counts_the_attempt(store: Store) -> None:
    store.journal_begin("k1", "jira", "create_project", {})
    store.journal_fail("k1", "refused")

    entry = store.journal_begin("k1", "jira", "create_project", {})

    assert (entry.status, entry.attempts) == ("pending", 2)


def test_journal_find_unknown_key_is_none(store: Store) -> None:
    assert store.journal_find("nope") is None


def test_runs_record_counts(store: Store) -> None:
    run_id = store.start_run("crm", "deals")
    store.finish_run(run_id, "ok", RunCounts(read=5, written=3, skipped_unchanged=2))

    with store.session() as session:
        run = session.exec(select(RunRow)).one()
    assert (run.status, run.read, run.written, run.skipped_unchanged) == ("ok", 5, 3, 2)
    assert run.finished_at is not None


def test_quarantine_counts_retries_of_the_same_record(store: Store) -> None:
    for reason in ("bad stage", "still bad"):
        with store.transaction() as tx:
            store.put_quarantine(tx, "crm", "deals", "9", {"STAGE_ID": "X"}, reason)
        store.clock.advance(60)  # type: ignore[attr-defined]

    with store.session() as session:
        row = session.exec(select(QuarantineRow)).one()
    assert (row.reason, row.retried) == ("still bad", 1)
    assert row.last_seen - row.first_seen == timedelta(seconds=60)


def test_record_receipt_recognises_a_replay(store: Store) -> None:
    first = store.record_receipt("crm", "delivery-1")
    second = store.record_receipt("crm", "delivery-1")

    assert (first, second) == (True, False)
