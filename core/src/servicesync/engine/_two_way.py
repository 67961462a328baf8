"""Two-way consistency between a won deal and its project, after every sync.

For each flow with ``two_way = true``, once the sync's streams are read and
before the events are handed out, every deal that has a project in the
flow's delivery connection is compared with it, field by field, against the
base values kept in the store (see :mod:`servicesync.engine._bases` for the
rules, :mod:`servicesync.engine._sides` for the fields). What that decides
is written through the action journal:

* to the CRM, with ``set_deal_fields``: the project's state, progress,
  next milestone and delivery date, into the deal fields ``deal_fields``
  names (and a commercial field, when a change is carried back);
* to the delivery tool, with ``update_project``: the title and the budget
  (amount, currency, scope in hours, client); with ``update_milestone``:
  the milestones' due dates, all moved by as much as the deal's delivery
  date moved;
* to the deal's timeline, with ``add_deal_comment``: why a change was set
  back, how a conflict was settled, and each milestone reached.

A milestone due later than before, as read from the delivery tool, becomes a
``delivery_date_slipped`` event for the plugins implementing
``on_delivery_date_slipped``, so that the deal's owner hears of it.

A deal that is lost is left to the flow's ``on_lost`` policy. A project not
read from its delivery tool yet is left until it is. A pair whose writes
fail keeps its old bases, so the next sync decides again; the journal makes
sure that what did get written is not written twice.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from servicesync.config import SYNCED_FIELDS, FlowConfig
from servicesync.contract import Connector
from servicesync.domain import Client, Deal, Project, Stage, StageSemantics
from servicesync.engine._bases import Decision, FieldState, decide
from servicesync.engine._delivery_view import (
    MilestoneView,
    ProjectView,
    item_from_data,
    project_view,
)
from servicesync.engine._leftovers import (
    TWO_WAY_MARK,
    Intents,
    Leftovers,
    stopped_writes,
)
from servicesync.engine._milestone_moves import (
    MOVE_PLAN,
    MilestoneMover,
    MovePlan,
    plans_in,
    with_dues,
)
from servicesync.engine._milestone_watch import Slip, reached_key, watch_milestones
from servicesync.engine._mirror import mirror_in_store
from servicesync.engine._pending_writes import settle_pending
from servicesync.engine._sides import (
    COMMERCIAL_FIELDS,
    crm_text,
    crm_values,
    delivery_values,
)
from servicesync.engine._watch import Watcher, two_way_flows
from servicesync.engine._won_deal import WonDealFlow
from servicesync.errors import RecordError, ServiceSyncError
from servicesync.store import Store
from servicesync.store._bases import (
    BaseValues,
    TwoWayConflict,
    bases_of,
    intents_of,
    record_conflict,
    records_of,
    save_bases,
)
from servicesync.store._dialect import table_of
from servicesync.store._processes import is_gone, this_process
from servicesync.store._tables import ExternalLink

if TYPE_CHECKING:
    from servicesync.engine._engine import Engine

__all__ = ["DELIVERY_DATE_SLIPPED", "Pair", "TwoWay", "linked_pairs"]

logger = logging.getLogger(__name__)

#: Seconds a process holds a flow's two-way lock without renewing it.
FLOW_LOCK_SECONDS = 120.0

#: The event a milestone due later than before becomes.
DELIVERY_DATE_SLIPPED = "delivery_date_slipped"

LINKS = table_of(ExternalLink)

#: Ids per ``IN (...)``, well under every database's limit on parameters.
_CHUNK = 500
PROJECTS = table_of(Project)


class TwoWay:
    """Keeps the deals and projects of an engine's two-way flows consistent.

    Attributes:
        watcher: what keeps the records the sync reads; the engine's stream
            runners show it every page.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.watcher = Watcher(engine.store, engine.config, engine.connector)

    async def keep_consistent(self, connections: Collection[str]) -> int:
        """Bring in line the pairs of the flows that read or write ``connections``.

        A flow one of whose connections is read-only waits: its fields are
        compared again once both are writable. Returns the writes made.
        """
        writes = 0
        for name, flow in two_way_flows(self.engine.config).items():
            if flow.source not in connections and flow.target not in connections:
                continue
            if not (
                self.engine.writable(flow.source) and self.engine.writable(flow.target)
            ):
                logger.info(
                    "Flow %s: a connection is read-only; two-way consistency waits.",
                    name,
                )
                continue
            writes += await self._run_alone(name, flow)
        return writes

    async def _run_alone(self, name: str, flow: FlowConfig) -> int:
        """Bring the flow's pairs in line, unless another process is doing so.

        Daemons sharing a store sync different connections at once, and two
        of them could otherwise decide the same pair together and both make
        its writes. The lock is renewed after each pair. A holder that died
        on this host is taken over at once; one on another host frees it
        within :data:`FLOW_LOCK_SECONDS`. A sync that finds it taken leaves
        the flow to the holder: its next sync decides again.
        """
        locks, lock = self.engine.store.locks(), f"two-way:{name}"
        me = f"{this_process()}#{secrets.token_hex(4)}"  # this call, not the process
        if not locks.try_acquire(lock, me, FLOW_LOCK_SECONDS):
            # A holder killed on this host is seen to be gone at once.
            holder = locks.holder(lock)
            if holder is not None and is_gone(holder.partition("#")[0]):
                locks.release(lock, holder)
        if not locks.try_acquire(lock, me, FLOW_LOCK_SECONDS):
            logger.info(
                "Flow %s: another process is bringing it in line; left to it.", name
            )
            return 0

        def renew() -> None:
            locks.try_acquire(lock, me, FLOW_LOCK_SECONDS)

        try:
            return await _FlowPairs(self.engine, name, flow).run(after_pair=renew)
        finally:
            locks.release(lock, me)


@dataclass(frozen=True)
class Pair:
    """A deal and its project, by their ids in the store and in each service."""

    deal_id: str
    deal_key: str
    project_id: str
    project_key: str


def linked_pairs(store: Store, flow: FlowConfig) -> list[Pair]:
    """Return every deal of ``flow.source`` with a project in ``flow.target``."""
    deal_links = LINKS.alias("deal_links")
    query = (
        sa.select(
            PROJECTS.c.deal_id,
            deal_links.c.external_id,
            PROJECTS.c.id,
            LINKS.c.external_id,
        )
        .join(
            LINKS,
            sa.and_(
                LINKS.c.internal_id == PROJECTS.c.id,
                LINKS.c.connection == flow.target,
                LINKS.c.record_type == "project",
            ),
        )
        .join(
            deal_links,
            sa.and_(
                deal_links.c.internal_id == PROJECTS.c.deal_id,
                deal_links.c.connection == flow.source,
                deal_links.c.record_type == "deal",
            ),
        )
        .order_by(PROJECTS.c.deal_id)
    )
    with store.transaction() as tx:
        return [Pair(*row) for row in tx.execute(query)]


def _open_deals(
    store: Store, deal_ids: Sequence[str]
) -> dict[str, tuple[Deal, str | None]]:
    """Return the deals that are not lost, with their client's name, by id."""
    found: dict[str, tuple[Deal, str | None]] = {}
    with store.session() as session:
        lost = set(
            session.exec(
                select(Stage.id).where(Stage.semantics == StageSemantics.FAILURE)
            )
        )
        for start in range(0, len(deal_ids), _CHUNK):
            chunk = deal_ids[start : start + _CHUNK]
            deals = session.exec(select(Deal).where(col(Deal.id).in_(chunk))).all()
            names = _client_names(session, {d.client_id for d in deals if d.client_id})
            found.update(
                (d.id, (d, names.get(d.client_id or "")))
                for d in deals
                if d.stage_id not in lost
            )
    return found


def _client_names(session: Session, client_ids: set[str]) -> dict[str, str]:
    if not client_ids:
        return {}
    rows = session.exec(select(Client).where(col(Client.id).in_(client_ids)))
    return {client.id: client.name for client in rows}


@dataclass
class _Outcome:
    """What one pair's turn decided and managed to do."""

    states: dict[str, FieldState]
    decisions: list[Decision]
    failed: set[str] = field(default_factory=set)
    milestone_bases: dict[str, BaseValues] = field(default_factory=dict)
    slips: list[Slip] = field(default_factory=list)
    writes: int = 0


class _FlowPairs:
    """One flow's turn: every pair read, decided, written and recorded."""

    def __init__(self, engine: Engine, name: str, flow: FlowConfig) -> None:
        self.store = engine.store
        self.name = name
        self.flow = flow
        self.crm = engine.connector(flow.source)
        self.delivery = engine.connector(flow.target)
        self.actor = WonDealFlow(self.store, name, flow, self.crm, self.delivery)
        self.mover = MilestoneMover(self.store, flow.target)
        self.intents = Intents(self.store, name)
        self.delivery_actions = self.delivery.actions()
        self.consumers = [
            c
            for c in engine.consumers(DELIVERY_DATE_SLIPPED)
            if c.startswith("plugin:")
        ]

    async def run(self, after_pair: Callable[[], None] = lambda: None) -> int:
        """Bring every pair of the flow in line; return the writes made.

        What every pair needs is read at once (bases, kept records, deals);
        then each pair is decided and written on its own, so that one whose
        writes fail does not hold up the others.
        """
        pairs = linked_pairs(self.store, self.flow)
        if not pairs:
            return 0
        deal_ids = [p.deal_id for p in pairs]
        with self.store.transaction() as tx:
            bases = bases_of(tx, self.name, deal_ids)
            intents = intents_of(tx, self.name)
            deal_fields = records_of(tx, self.flow.source, deal_ids)
            items = records_of(tx, self.flow.target, [p.project_key for p in pairs])
        deals = _open_deals(self.store, deal_ids)
        stopped = stopped_writes(self.store, self.name)
        writes = 0
        for pair in pairs:
            if pair.deal_id not in deals:
                continue  # lost: the flow's on_lost policy looks after it
            deal, client = deals[pair.deal_id]
            view = project_view(
                pair.project_key,
                (item_from_data(data) for data in items[pair.project_key]),
            )
            if view is None:
                continue  # the project was not read from its tool yet
            fields: dict[str, Any] = {}
            for data in deal_fields[pair.deal_id]:
                fields.update(data)
            try:
                left = Leftovers(
                    stopped.get(pair.deal_id, []), intents.get(pair.deal_id, {})
                )
                writes += await self._pair(
                    pair, deal, client, view, fields, bases[pair.deal_id], left
                )
            except ServiceSyncError as exc:
                logger.warning(
                    "Flow %s: deal %s and project %s could not be brought in "
                    "line: %s",
                    self.name, pair.deal_id, pair.project_key, exc,
                )  # fmt: skip
            after_pair()
        return writes

    async def _pair(
        self,
        pair: Pair,
        deal: Deal,
        client: str | None,
        view: ProjectView,
        fields: dict[str, Any],
        bases: dict[str, BaseValues],
        left: Leftovers,
    ) -> int:
        finished: dict[str, date] = {}
        if left.writes:
            done = await self._finish_moves(pair, plans_in(left.writes))
            if done is None:
                return 0  # a stopped move is still unfinished; the next sync goes on
            finished = done
            await settle_pending(
                self.store,
                left.writes,
                {self.flow.source: self.crm, self.flow.target: self.delivery},
                leave={MOVE_PLAN},
            )
        if left.intents:
            bases = {**bases, **self.intents.settle(pair.deal_id, left.intents)}
        view = with_dues(view, finished)
        crm = crm_values(self.flow, deal, client, fields)
        delivery = delivery_values(view)
        policy = self.flow.ownership.non_owner
        states = {
            name: self._state(name, bases, crm, delivery, view)
            for name in SYNCED_FIELDS
        }
        outcome = _Outcome(states, [decide(s, policy) for s in states.values()])
        moved = {**finished, **await self._write(pair, view, outcome)}
        await self._watch_milestones(pair, view, bases, moved, outcome)
        self._save(pair, deal, view, bases, moved, outcome)
        return outcome.writes

    # -- reading ---------------------------------------------------------

    def _state(
        self,
        name: str,
        bases: dict[str, BaseValues],
        crm: dict[str, str | None],
        delivery: dict[str, str | None],
        view: ProjectView,
    ) -> FieldState:
        return FieldState(
            field=name,
            owner=self.flow.ownership.owner(name),
            base=bases.get(name),
            crm=crm.get(name),
            delivery=delivery.get(name),
            crm_writable=name in self.flow.deal_fields,
            delivery_writable=self._delivery_writable(name, view),
        )

    def _delivery_writable(self, name: str, view: ProjectView) -> bool:
        actions = self.delivery_actions
        if name in COMMERCIAL_FIELDS:
            action = actions.get("update_project")
            return action is not None and name in action.params_model.model_fields
        if name == "delivery_date":
            dated = any(m.due for m in view.milestones)
            return "update_milestone" in actions and dated
        return False

    # -- writing ---------------------------------------------------------

    async def _write(
        self, pair: Pair, view: ProjectView, outcome: _Outcome
    ) -> dict[str, date]:
        """Make the decided writes; return the milestones moved, by id."""
        for decision in outcome.decisions:
            if decision.note and (decision.writes or decision.conflict):
                await self._note(pair, decision, outcome)
        await self._write_crm(pair, outcome)
        await self._write_project(pair, outcome)
        return await self._move_milestones(pair, view, outcome)

    async def _note(self, pair: Pair, decision: Decision, outcome: _Outcome) -> None:
        # Told before the write it explains: should the write fail, the next
        # attempt finds the comment under the same key and adds no other.
        state = outcome.states[decision.field]
        key = self._key(
            pair,
            "note",
            decision.field,
            decision.base.revision,
            state.crm,
            state.delivery,
        )
        try:
            await self.actor.tell_deal(key, pair.deal_key, decision.note)
        except ServiceSyncError as exc:
            self._failed(outcome, [decision], "comment on the deal", exc)

    async def _write_crm(self, pair: Pair, outcome: _Outcome) -> None:
        chosen = [
            d
            for d in outcome.decisions
            if d.to_crm is not None and d.field not in outcome.failed
        ]
        if not chosen:
            return
        values = {
            self.flow.deal_fields[d.field]: crm_text(self.flow, d.field, str(d.to_crm))
            for d in chosen
        }
        key = self._key(pair, "crm", *_written(chosen, "crm"))
        params = {"deal_id": pair.deal_key, "fields": values}
        bases = self.intents.intend(pair.deal_id, key, chosen)
        if await self._act(
            self.crm, self.flow.source, "set_deal_fields", key, params, chosen, outcome
        ):
            self.intents.made(pair.deal_id, key, bases)

    async def _write_project(self, pair: Pair, outcome: _Outcome) -> None:
        chosen = [
            d
            for d in outcome.decisions
            if d.to_delivery is not None
            and d.field in COMMERCIAL_FIELDS
            and d.field not in outcome.failed
        ]
        if not chosen:
            return
        params: dict[str, Any] = {"project_key": pair.project_key}
        params.update({d.field: d.to_delivery for d in chosen})
        key = self._key(pair, "project", *_written(chosen, "delivery"))
        bases = self.intents.intend(pair.deal_id, key, chosen)
        if await self._act(
            self.delivery,
            self.flow.target,
            "update_project",
            key,
            params,
            chosen,
            outcome,
        ):
            self.intents.made(pair.deal_id, key, bases)

    async def _move_milestones(
        self, pair: Pair, view: ProjectView, outcome: _Outcome
    ) -> dict[str, date]:
        """Move every milestone by as much as the delivery date moved."""
        decision = next(
            (
                d
                for d in outcome.decisions
                if d.field == "delivery_date"
                and d.to_delivery is not None
                and d.field not in outcome.failed
            ),
            None,
        )
        current = view.delivery_date
        if decision is None or current is None:
            return {}
        shift = date.fromisoformat(str(decision.to_delivery)) - current
        targets = {m.external_id: m.due + shift for m in view.milestones if m.due}
        revision = decision.base.revision
        plan = self.mover.plan(
            self._key(pair, "moves", revision, *sorted(targets.items())),
            pair.project_key,
            revision,
            targets,
        )

        async def send(milestone_id: str, key: str, due: date) -> bool:
            params = {
                "project_key": pair.project_key,
                "milestone_id": milestone_id,
                "due": due,
            }
            return await self._act(
                self.delivery, self.flow.target, "update_milestone", key, params,
                [decision], outcome,
            )  # fmt: skip

        bases = self.intents.intend(pair.deal_id, plan.key, [decision])
        moved, done = await self.mover.carry_out(plan, self._move_key(pair, plan), send)
        if done:
            self.intents.made(pair.deal_id, plan.key, bases)
        return moved

    async def _finish_moves(
        self, pair: Pair, plans: list[MovePlan]
    ) -> dict[str, date] | None:
        """Finish the milestone moves a stopped sync left half made.

        A plan whose milestone the tool refuses for good (a
        :class:`~servicesync.errors.RecordError`: it is gone, say) is given
        up and marked failed; any other failure leaves it for the next sync.

        Returns:
            The milestones moved, to their new dates; ``None`` when a plan
            is still unfinished, so that nothing else is decided for the
            pair on a project that is half moved.
        """
        refused: list[RecordError] = []

        async def send(milestone_id: str, key: str, due: date) -> bool:
            params = {
                "project_key": pair.project_key,
                "milestone_id": milestone_id,
                "due": due,
            }
            try:
                await self.actor.act(
                    self.delivery, self.flow.target, "update_milestone", key, params
                )
            except RecordError as exc:
                refused.append(exc)
                return False
            except ServiceSyncError as exc:
                logger.warning(
                    "Flow %s: finishing the milestone moves of deal %s failed; "
                    "the next sync goes on: %s",
                    self.name, pair.deal_id, exc,
                )  # fmt: skip
                return False
            return True

        finished: dict[str, date] = {}
        for plan in plans:
            moved, done = await self.mover.carry_out(
                plan, self._move_key(pair, plan), send
            )
            finished.update(moved)
            if done:
                logger.info(
                    "Flow %s: finished moving %d milestones of deal %s.",
                    self.name, len(plan.targets), pair.deal_id,
                )  # fmt: skip
            elif refused:
                self.store.journal_fail(plan.key, f"given up: {refused.pop()}")
                logger.warning(
                    "Flow %s: gave up moving the milestones of deal %s: a "
                    "milestone was refused for good.",
                    self.name, pair.deal_id,
                )  # fmt: skip
            else:
                return None
        return finished

    def _move_key(self, pair: Pair, plan: MovePlan) -> Callable[[str, date], str]:
        """How each move of ``plan`` is keyed: the same for a repeat of the plan."""
        return lambda milestone_id, due: self._key(
            pair, "milestone", milestone_id, due, plan.revision
        )

    async def _act(
        self,
        connector: Connector[Any],
        connection: str,
        action: str,
        key: str,
        params: dict[str, Any],
        decisions: list[Decision],
        outcome: _Outcome,
    ) -> bool:
        """Perform one action for ``decisions``; a failure marks them failed."""
        try:
            await self.actor.act(connector, connection, action, key, params)
        except ServiceSyncError as exc:
            self._failed(outcome, decisions, action, exc)
            return False
        outcome.writes += 1
        return True

    def _failed(
        self,
        outcome: _Outcome,
        decisions: Iterable[Decision],
        what: str,
        exc: Exception,
    ) -> None:
        names = [d.field for d in decisions]
        outcome.failed.update(names)
        logger.warning(
            "Flow %s: %s failed for %s; the next sync decides again: %s",
            self.name, what, ", ".join(names), exc,
        )  # fmt: skip

    def _key(self, pair: Pair, what: str, *parts: object) -> str:
        digest = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:16]
        return f"{self._prefix(pair)}{what}:{digest}"

    def _prefix(self, pair: Pair) -> str:
        """What the deduplication keys of the pair's two-way writes start with."""
        return f"{self.name}:{pair.deal_id}{TWO_WAY_MARK}"

    # -- milestones ------------------------------------------------------

    async def _watch_milestones(
        self,
        pair: Pair,
        view: ProjectView,
        bases: dict[str, BaseValues],
        moved: dict[str, date],
        outcome: _Outcome,
    ) -> None:
        """Tell the deal of milestones reached; note those due later than before."""
        watch = watch_milestones(view, bases, moved)
        outcome.milestone_bases.update(watch.bases)
        outcome.slips.extend(watch.slips)
        for milestone in watch.reached:
            if not await self._tell_reached(pair, milestone, outcome):
                # Not told: its base stays, so the next sync tries again.
                outcome.milestone_bases.pop(reached_key(milestone))

    async def _tell_reached(
        self, pair: Pair, milestone: MilestoneView, outcome: _Outcome
    ) -> bool:
        key = f"{self.name}:{pair.deal_id}:milestone:{milestone.external_id}:reached"
        text = (
            f"Milestone {milestone.name!r} of {pair.project_key} was reached: "
            f"{milestone.done}/{milestone.total} tasks done."
        )
        try:
            await self.actor.tell_deal(key, pair.deal_key, text)
        except ServiceSyncError as exc:
            logger.warning(
                "Flow %s: telling deal %s of milestone %r failed; the next sync "
                "tries again: %s",
                self.name, pair.deal_id, milestone.name, exc,
            )  # fmt: skip
            return False
        outcome.writes += 1
        return True

    # -- recording -------------------------------------------------------

    def _save(
        self,
        pair: Pair,
        deal: Deal,
        view: ProjectView,
        before: dict[str, BaseValues],
        moved: dict[str, date],
        outcome: _Outcome,
    ) -> None:
        """Store the bases, conflicts and events of what was done, at once."""
        done = [d for d in outcome.decisions if d.field not in outcome.failed]
        bases = {d.field: d.base for d in done}
        bases.update(outcome.milestone_bases)
        changed = {k: v for k, v in bases.items() if before.get(k) != v}
        if not changed and not outcome.slips:
            return
        now = self.store.now()
        conflicts = [d for d in done if d.conflict]
        agreed = {d.field: d.base.delivery for d in done}
        with self.store.transaction() as tx:
            save_bases(tx, self.name, pair.deal_id, changed, now)
            for decision in conflicts:
                record_conflict(tx, self._conflict(pair, decision, outcome, now))
            for slip in outcome.slips:
                self._tell_slip(tx, pair, deal, slip)
            mirror_in_store(tx, pair.project_id, view, agreed, moved, now)
        for decision in conflicts:
            logger.warning(
                "Flow %s, deal %s: %s", self.name, pair.deal_id, decision.note
            )

    def _tell_slip(self, tx: sa.Connection, pair: Pair, deal: Deal, slip: Slip) -> None:
        """Write the event of a slipped date for the plugins that take it."""
        logger.info(
            "Flow %s: %s of deal %s slipped from %s to %s.",
            self.name, slip.milestone or "the delivery date", pair.deal_id,
            slip.previous, slip.new,
        )  # fmt: skip
        if not self.consumers:
            return
        payload = {
            "flow": self.name,
            "deal_id": pair.deal_id,
            "project_id": pair.project_id,
            "project_key": pair.project_key,
            "milestone": slip.milestone,
            "previous_date": slip.previous,
            "new_date": slip.new,
            "owner": deal.owner,
        }
        self.store.outbox_append(tx, DELIVERY_DATE_SLIPPED, payload, self.consumers)

    def _conflict(
        self, pair: Pair, decision: Decision, outcome: _Outcome, now: datetime
    ) -> TwoWayConflict:
        state = outcome.states[decision.field]
        base = state.base
        return TwoWayConflict(
            flow=self.name,
            deal_id=pair.deal_id,
            project_key=pair.project_key,
            field=decision.field,
            owner=state.owner,
            base_crm=base.crm if base else None,
            base_delivery=base.delivery if base else None,
            crm_value=state.crm,
            delivery_value=state.delivery,
            kept=state.value(state.owner),
            decision=decision.note,
            created_at=now,
        )


def _written(decisions: Iterable[Decision], side: str) -> list[object]:
    """Return what identifies a group of writes: field, revision and value."""
    parts: list[object] = []
    for d in sorted(decisions, key=lambda d: d.field):
        value = d.to_crm if side == "crm" else d.to_delivery
        parts += [d.field, d.base.revision, value]
    return parts
