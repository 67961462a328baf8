from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from servicesync.domain import Client, Deal, Payment
from servicesync.store import Store
from sqlmodel import select


@pytest.mark.parametrize(
    "amount",
    ["0.10", "10.50", "12345678901234567890.123456789", "-3.000"],
    ids=["cents", "trailing-zero", "long", "negative-scale"],
)
def test_money_column_round_trips_exactly(store: Store, amount: str) -> None:
    deal = Deal(title="Audit", amount=Decimal(amount), currency="EUR")
    with store.session() as session:
        session.add(deal)

    with store.session() as session:
        loaded = session.exec(select(Deal)).one()

    assert isinstance(loaded.amount, Decimal)
    assert str(loaded.amount) == amount


def test_datetime_column_round_trips_exactly(store: Store) -> None:
    moment = datetime(
        2026, 3, 29, 1, 30, 15, 123456, tzinfo=timezone(timedelta(hours=3))
    )
    with store.session() as session:
        session.add(Client(name="Acme", created_at=moment))

    with store.session() as session:
        loaded = session.exec(select(Client)).one().created_at

    assert loaded == moment
    assert loaded.utcoffset() == timedelta(0)
    assert loaded.microsecond == 123456


def test_datetime_column_refuses_naive_values(store: Store) -> None:
    with (
        pytest.raises(sa.exc.StatementError, match="no time zone"),
        store.session() as session,
    ):
        session.add(Client(name="Acme", created_at=datetime(2026, 1, 1)))
        session.flush()


def test_money_column_refuses_floats(store: Store) -> None:
    payment = Payment(invoice_id="x", amount=0.1, paid_at=datetime.now(UTC))  # type: ignore[arg-type]

    with (
        pytest.raises(sa.exc.StatementError, match="float"),
        store.session() as session,
    ):
        session.add(payment)
        session.flush()


def test_datetime_columns_sort_in_time_order(store: Store) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    offsets = [timedelta(hours=h) for h in (5, -2, 30, 0)]
    with store.session() as session:
        for index, offset in enumerate(offsets):
            session.add(Client(name=f"c{index}", created_at=base + offset))

    with store.session() as session:
        ordered = session.exec(select(Client).order_by(Client.created_at)).all()  # type: ignore[arg-type]

    assert [c.created_at - base for c in ordered] == sorted(offsets)


def test_datetime_columns_sort_in_time_order_across_centuries(store: Store) -> None:
    moments = [
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(999, 12, 31, 23, tzinfo=UTC),
        datetime(1, 1, 2, tzinfo=UTC),
    ]
    with store.session() as session:
        for index, moment in enumerate(moments):
            session.add(Client(name=f"c{index}", created_at=moment))

    with store.session() as session:
        ordered = session.exec(select(Client).order_by(Client.created_at)).all()  # type: ignore[arg-type]

    assert [c.created_at for c in ordered] == sorted(moments)
