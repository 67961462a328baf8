"""The plain-SQL helpers of a sync's page: rows as the ORM stores them, ids, lookups."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import sqlalchemy as sa
from servicesync.domain import Deal, PricingModel, new_id
from servicesync.store import Store
from servicesync.store._dialect import table_of
from servicesync.store._links import fresh_ids, select_pairs, write_rows

DEALS = table_of(Deal)
_ID = re.compile(r"^[0-9ABCDEFGHJKMNPQRSTVWXYZ]{26}$")


def stored(store: Store, deal_id: str) -> tuple[object, ...]:
    """Return a deal's row as the database keeps it, without type conversion."""
    with store.transaction() as tx:
        row = tx.exec_driver_sql(
            "SELECT amount, currency, pricing_model, expected_close, created_at, "
            f"closed_at FROM deals WHERE id = '{deal_id}'"
        ).one()
    return tuple(row)


def test_write_rows_stores_values_as_sqlalchemy_does(store: Store) -> None:
    values = {
        "title": "Audit",
        "amount": Decimal("1200.50"),
        "currency": "EUR",
        "expected_close": date(2026, 6, 30),
        "created_at": datetime(2026, 1, 5, 12, 0, tzinfo=timezone(timedelta(hours=3))),
        "closed_at": None,
    }
    with store.transaction() as tx:
        tx.execute(sa.insert(DEALS), [{"id": "A" * 26, **values}])
        write_rows(tx, DEALS, [{"id": "B" * 26, **values}], ["id"])

    assert stored(store, "B" * 26) == stored(store, "A" * 26)
    assert stored(store, "B" * 26)[2] == PricingModel.FIXED.value


def test_write_rows_overwrites_only_the_columns_it_names(store: Store) -> None:
    deal_id = new_id()
    created = datetime(2026, 1, 5, tzinfo=UTC)
    first = {
        "id": deal_id,
        "title": "Audit",
        "amount": Decimal("1"),
        "currency": "EUR",
        "created_at": created,
    }
    with store.transaction() as tx:
        write_rows(tx, DEALS, [first], ["id"])
        tx.execute(sa.update(DEALS).values(pricing_model=PricingModel.HOURLY))
        write_rows(tx, DEALS, [{**first, "title": "Audit v2"}], ["id"])

    with store.transaction() as tx:
        row = tx.execute(sa.select(DEALS.c.title, DEALS.c.pricing_model)).one()
    assert tuple(row) == ("Audit v2", PricingModel.HOURLY)


def test_fresh_ids_look_like_new_ids_and_sort_after_older_ones() -> None:
    older = new_id()

    ids = fresh_ids(1000)

    assert len(set(ids)) == 1000
    assert all(_ID.match(i) for i in ids)
    assert min(ids) >= older[:10]


def test_select_pairs_finds_keys_beyond_one_in_list(store: Store) -> None:
    ids = sorted(fresh_ids(1203))
    rows = [
        {
            "id": i,
            "title": f"Deal {n}",
            "amount": Decimal(n),
            "currency": "EUR",
            "created_at": datetime(2026, 1, 5, tzinfo=UTC),
        }
        for n, i in enumerate(ids)
    ]
    with store.transaction() as tx:
        write_rows(tx, DEALS, rows, ["id"])

    with store.transaction() as tx:
        found = select_pairs(tx, DEALS, ("id", "title"), {"currency": "EUR"}, ids)

    assert found == {i: f"Deal {n}" for n, i in enumerate(ids)}
