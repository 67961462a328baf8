from __future__ import annotations

import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from servicesync.domain import (
    Feedback,
    Service,
    StageSemantics,
    default_pipeline,
    new_id,
)
from servicesync.store import Store


def test_new_id_sorts_by_creation_time(monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = iter(range(1_700_000_000_000_000_000, 1_700_000_100_000_000_000, 10**9))
    monkeypatch.setattr("servicesync.domain._base.time.time_ns", lambda: next(ticks))

    ids = [new_id() for _ in range(20)]

    assert ids == sorted(ids)
    assert len(set(ids)) == 20


def test_new_id_uses_26_crockford_characters() -> None:
    value = new_id()

    assert len(value) == 26
    assert set(value) <= set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


@pytest.mark.parametrize("score", [-1, 11], ids=["below", "above"])
def test_feedback_score_outside_nps_scale_is_refused(score: int) -> None:
    with pytest.raises(ValidationError):
        Feedback.model_validate({"score": score})


def test_service_currency_must_be_an_iso_code() -> None:
    with pytest.raises(ValidationError, match="currency"):
        Service.model_validate({"code": "x", "name": "X", "currency": "euro"})


def test_feedback_score_outside_scale_is_refused_by_the_database(store: Store) -> None:
    table = Feedback.__table__  # type: ignore[attr-defined]

    with pytest.raises(sa.exc.IntegrityError), store.transaction() as tx:
        tx.execute(sa.insert(table).values(id=new_id(), score=11, comment=""))


def test_default_pipeline_has_six_stages_then_won_and_lost() -> None:
    pipeline, stages = default_pipeline()

    semantics = [stage.semantics for stage in stages]
    assert pipeline.is_default
    assert semantics == [StageSemantics.PROCESS] * 6 + [
        StageSemantics.SUCCESS,
        StageSemantics.FAILURE,
    ]
    assert [s.name for s in stages][:6] == [
        "Acquaintance",
        "Diagnostics",
        "Proposal",
        "Statement of work",
        "Commercial negotiation",
        "Contract signed",
    ]
