"""The rules of two-way consistency, field by field, and how the config states them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from servicesync.config import parse_config
from servicesync.domain import ProjectStatus
from servicesync.engine import DeliveryItem, MilestoneView, ProjectView, project_view
from servicesync.engine._bases import FieldState, decide
from servicesync.engine._milestone_watch import Slip, watch_milestones
from servicesync.errors import ConfigError
from servicesync.store._bases import BaseValues

BASE = BaseValues("old", "old", revision=3)


def state(
    crm: str | None,
    delivery: str | None,
    *,
    owner: str = "crm",
    base: BaseValues | None = BASE,
    crm_writable: bool = True,
    delivery_writable: bool = True,
) -> FieldState:
    return FieldState(
        field="title",
        owner=owner,  # type: ignore[arg-type]
        base=base,
        crm=crm,
        delivery=delivery,
        crm_writable=crm_writable,
        delivery_writable=delivery_writable,
    )


def test_decide_echo_of_own_write_does_nothing() -> None:
    decision = decide(state("old", "old"), "carry")

    assert not decision.writes and not decision.conflict
    assert decision.base == BASE


def test_decide_owner_change_is_carried_over() -> None:
    decision = decide(state("new", "old"), "revert")

    assert decision.to_delivery == "new" and decision.to_crm is None
    assert decision.base == BaseValues("new", "new", revision=4)


def test_decide_non_owner_change_carried_with_carry() -> None:
    decision = decide(state("old", "new"), "carry")

    assert decision.to_crm == "new"
    assert decision.reverted is None


def test_decide_non_owner_change_set_back_with_revert() -> None:
    decision = decide(state("old", "new"), "revert")

    assert decision.to_delivery == "old"
    assert decision.reverted == "delivery"
    assert "set back to 'old'" in decision.note


def test_decide_non_owner_change_set_back_when_owner_cannot_take_it() -> None:
    decision = decide(state("old", "new", crm_writable=False), "carry")

    assert decision.to_delivery == "old" and decision.reverted == "delivery"


def test_decide_both_sides_apart_is_a_conflict_the_owner_wins() -> None:
    decision = decide(state("ours", "theirs", owner="delivery"), "carry")

    assert decision.conflict
    assert decision.to_crm == "theirs" and decision.to_delivery is None
    assert "'ours'" in decision.note and "'theirs'" in decision.note


def test_decide_both_sides_to_the_same_value_agree() -> None:
    decision = decide(state("same", "same"), "carry")

    assert not decision.writes and not decision.conflict
    assert decision.base == BaseValues("same", "same", revision=3)


def test_decide_first_look_without_owner_value_writes_nothing() -> None:
    decision = decide(state("12/40", None, owner="delivery", base=None), "carry")

    assert decision.to_delivery is None and decision.to_crm is None
    assert decision.base == BaseValues("12/40", None)


def test_decide_first_look_fills_the_other_side() -> None:
    decision = decide(state(None, "12/40", owner="delivery", base=None), "carry")

    assert decision.to_crm == "12/40"


def test_decide_emptied_value_is_not_carried() -> None:
    decision = decide(state(None, "old"), "carry")

    assert not decision.writes
    assert decision.base == BaseValues(None, "old", revision=3)


def test_decide_side_that_cannot_be_written_keeps_its_value() -> None:
    decision = decide(state("new", "old", delivery_writable=False), "carry")

    assert not decision.writes
    assert decision.base == BaseValues("new", "old", revision=3)


def test_project_view_sums_tasks_per_milestone() -> None:
    items = [
        DeliveryItem("project", "1", "ACME", values={"title": "Portal"}),
        DeliveryItem("milestone", "m1", "ACME", name="Beta", due=date(2026, 3, 1)),
        DeliveryItem("milestone", "m2", "ACME", name="Launch", due=date(2026, 4, 1)),
        DeliveryItem("task", "t1", "ACME", done=True, milestones=("m1",)),
        DeliveryItem("task", "t2", "ACME", started=True, milestones=("m2",)),
    ]

    view = project_view("ACME", items)

    assert view is not None
    assert (view.done, view.total, view.percent) == (1, 2, 50)
    assert view.state is ProjectStatus.ACTIVE
    assert [m.reached for m in view.milestones] == [True, False]
    assert view.delivery_date == date(2026, 4, 1)


def test_project_view_takes_the_counts_of_a_tool_that_sums_up() -> None:
    items = [
        DeliveryItem("project", "9", "9"),
        DeliveryItem(
            "milestone", "s1", "9", name="Design", done_count=2, total_count=2
        ),
        DeliveryItem("milestone", "s2", "9", name="Build", done_count=0, total_count=3),
    ]

    view = project_view("9", items)

    assert view is not None and (view.done, view.total) == (2, 5)
    assert view.next_milestone() is not None
    assert view.next_milestone().name == "Build"  # type: ignore[union-attr]


def test_project_view_milestone_without_a_date_is_due_with_its_last_task() -> None:
    items = [
        DeliveryItem("project", "b1", "b1"),
        DeliveryItem("milestone", "l1", "b1", name="Build"),
        DeliveryItem("milestone", "l2", "b1", name="Later"),
        DeliveryItem("task", "c1", "b1", due=date(2026, 3, 2), milestones=("l1",)),
        DeliveryItem("task", "c2", "b1", due=date(2026, 3, 9), milestones=("l1",)),
        DeliveryItem("task", "c3", "b1", milestones=("l2",)),
    ]

    view = project_view("b1", items)

    assert view is not None
    assert {m.name: m.due for m in view.milestones} == {
        "Build": date(2026, 3, 9),
        "Later": None,
    }
    assert view.delivery_date == date(2026, 3, 9)


def test_project_view_needs_the_project_read() -> None:
    assert project_view("ACME", [DeliveryItem("task", "t1", "ACME")]) is None


FLOW = """
[connections.crm]
plugin = "bitrix24"
[connections.delivery]
plugin = "jira"
[flows.won_deal]
type = "won_deal"
source = "crm"
target = "delivery"
two_way = true
{extra}
"""


def test_config_ownership_fields_are_keys_of_the_table() -> None:
    extra = """
[flows.won_deal.ownership]
non_owner = "revert"
delivery_date = "crm"
"""
    flow = parse_config(FLOW.format(extra=extra)).flows["won_deal"]

    assert flow.ownership.non_owner == "revert"
    assert flow.ownership.owner("delivery_date") == "crm"
    assert flow.ownership.owner("amount") == "crm"
    assert flow.ownership.owner("progress") == "delivery"


def test_config_ownership_default_owns_the_fields_not_listed() -> None:
    extra = '[flows.won_deal.ownership]\ndefault = "delivery"\ntitle = "crm"\n'
    flow = parse_config(FLOW.format(extra=extra)).flows["won_deal"]

    assert flow.ownership.owner("amount") == "delivery"
    assert flow.ownership.owner("title") == "crm"


@pytest.mark.parametrize(
    "extra",
    [
        '[flows.won_deal.ownership]\nbudget = "crm"',
        '[flows.won_deal.deal_fields]\nbudget = "UF_CRM_BUDGET"',
        '[flows.won_deal.ownership]\ntitle = "finance"',
    ],
    ids=["unknown-owned-field", "unknown-deal-field", "unknown-side"],
)
def test_config_two_way_refuses_what_it_does_not_know(extra: str) -> None:
    with pytest.raises(ConfigError, match="won_deal"):
        parse_config(FLOW.format(extra=extra))


def milestone_view(due: date, *, reached: bool = False) -> ProjectView:
    done = 1 if reached else 0
    milestone = MilestoneView("m1", "Beta", due, done, 1, reached)
    return ProjectView("ACME", ProjectStatus.ACTIVE, done, 1, (milestone,), {}, None)


def test_watch_milestones_reports_a_due_date_moved_later() -> None:
    bases = {"milestone:m1:due": BaseValues(None, "2026-03-01")}

    watch = watch_milestones(milestone_view(date(2026, 3, 9)), bases, {})

    assert watch.slips == [Slip("Beta", "2026-03-01", "2026-03-09")]
    assert watch.bases["milestone:m1:due"] == BaseValues(None, "2026-03-09")


def test_watch_milestones_ignores_earlier_dates_and_its_own_moves() -> None:
    bases = {"milestone:m1:due": BaseValues(None, "2026-03-01")}
    ours = {"m1": date(2026, 4, 1)}

    earlier = watch_milestones(milestone_view(date(2026, 2, 1)), bases, {})
    moved = watch_milestones(milestone_view(date(2026, 3, 1)), bases, ours)

    assert earlier.slips == [] and moved.slips == []
    assert moved.bases["milestone:m1:due"] == BaseValues(None, "2026-04-01")


def test_watch_milestones_tells_a_reached_milestone_once() -> None:
    view = milestone_view(date(2026, 3, 1), reached=True)

    first = watch_milestones(view, {}, {})
    again = watch_milestones(view, first.bases, {})

    assert [m.name for m in first.reached] == ["Beta"]
    assert again.reached == []


def test_config_two_way_example_of_the_guide_is_valid() -> None:
    guide = (Path(__file__).parents[2] / "docs" / "flows.md").read_text()
    section = guide[guide.index("## Two-way consistency") :]
    example = section[section.index("```toml") + 7 : section.index("```\n", 10)]
    connections = '[connections.crm]\nplugin = "bitrix24"\n'
    connections += '[connections.delivery]\nplugin = "jira"\n'

    flow = parse_config(connections + example).flows["won_deal"]

    assert flow.two_way and flow.ownership.non_owner == "carry"
    assert flow.deal_values["status"]["active"] == "In progress"
    assert set(flow.deal_fields) == {
        "status",
        "progress",
        "percent",
        "milestone",
        "delivery_date",
    }
