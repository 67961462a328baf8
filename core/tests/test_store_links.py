from __future__ import annotations

import threading
from decimal import Decimal

import sqlalchemy as sa
from servicesync.contract import Record, StreamState
from servicesync.domain import Deal
from servicesync.store import ExternalLink, Store
from sqlmodel import select


def test_link_ids_concurrent_inserts_agree_on_one_link(store: Store) -> None:
    barrier = threading.Barrier(6)
    results: list[str] = []
    errors: list[BaseException] = []

    def link() -> None:
        try:
            barrier.wait()
            with store.transaction() as tx:
                results.append(store.link_ids(tx, "crm", "deal", ["42"])["42"])
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=link) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    with store.session() as session:
        links = session.exec(select(ExternalLink)).all()
    assert errors == []
    assert len(links) == 1
    assert results == [links[0].internal_id] * 6


def test_upsert_linked_updates_the_row_made_by_the_first_read(store: Store) -> None:
    with store.transaction() as tx:
        store.upsert_linked(tx, "crm", "deal", [("7", Deal(title="Audit"))])
    with store.transaction() as tx:
        store.upsert_linked(
            tx, "crm", "deal", [("7", Deal(title="Audit v2", amount=Decimal("900.00")))]
        )

    with store.session() as session:
        deals = session.exec(select(Deal)).all()
    assert [(d.title, str(d.amount)) for d in deals] == [("Audit v2", "900.00")]


def test_upsert_linked_keeps_external_ids_apart_per_connection(store: Store) -> None:
    with store.transaction() as tx:
        first = store.upsert_linked(tx, "crm", "deal", [("7", Deal(title="A"))])
        second = store.upsert_linked(tx, "other", "deal", [("7", Deal(title="B"))])

    assert first["7"] != second["7"]


def test_changed_records_skips_payloads_seen_before(store: Store) -> None:
    old = [Record.of(1, {"a": 1}), Record.of(2, {"a": 2})]
    with store.transaction() as tx:
        store.remember_hashes(tx, "crm", "deals", old)

    fresh = [Record.of(1, {"a": 1}), Record.of(2, {"a": 3}), Record.of(3, {"a": 1})]
    with store.transaction() as tx:
        changed = store.changed_records(tx, "crm", "deals", fresh)

    assert [r.external_id for r in changed] == ["2", "3"]


def test_stream_state_is_rolled_back_with_the_data(store: Store) -> None:
    state = StreamState(resume_after="page-2")
    try:
        with store.transaction() as tx:
            store.upsert_linked(tx, "crm", "deal", [("1", Deal(title="A"))])
            store.set_stream_state(tx, "crm", "deals", state)
            raise RuntimeError("the page failed")
    except RuntimeError:
        pass

    with store.transaction() as tx:
        stored = store.get_stream_state(tx, "crm", "deals")
        deals = tx.execute(sa.select(sa.func.count()).select_from(Deal)).scalar()
    assert stored == StreamState()
    assert deals == 0


def test_stream_state_round_trips(store: Store) -> None:
    state = StreamState(resume_after="p3", tokens={"next": "abc"})
    with store.transaction() as tx:
        store.set_stream_state(tx, "crm", "deals", state)

    with store.transaction() as tx:
        assert store.get_stream_state(tx, "crm", "deals") == state
