"""What the won-deal flow does to a project whose deal is lost or reopened.

The flow's ``on_lost`` setting chooses, and nothing is ever deleted:

* ``leave``: the delivery tool is not touched;
* ``mark``: the delivery connection's ``mark_project`` action puts a visible
  note on the project;
* ``archive``: its ``archive_project`` action archives the project, which
  the delivery tool can restore.

Either way the event is logged and told on the deal's timeline
(``add_deal_comment``), and the store's project status follows: ``on_hold``
when marked, ``cancelled`` when archived. A deal without a project changes
nothing.

A deal reopened (moved from a lost stage to any other) after its project was
marked has the mark removed (``unmark_project``) and its project is
``planned`` again. An archived project stays archived, and the comment says
how to restore it: bringing it back is a person's decision.

Stage moves reach the flow through the outbox, where a failed delivery is
retried later, possibly after the next move of the same deal. So each
handler first checks that the deal still stands where the event says, and
does nothing otherwise. Every write is journaled under a key made from the
event, so a delivery repeated after a crash writes once.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

from servicesync.domain import Deal, ProjectStatus, StageSemantics
from servicesync.engine._deals import current_semantics, stage_semantics
from servicesync.engine._project_links import (
    LinkedProject,
    deal_project,
    set_project_status,
)

if TYPE_CHECKING:
    from servicesync.engine._won_deal import WonDealFlow

__all__ = ["LostDealPolicy", "Turn"]

logger = logging.getLogger(__name__)

#: A stage move that matters to a project: into a lost stage, or out of one.
Turn = Literal["lost", "reopened"]

_LOST_COMMENT = {
    "leave": "The deal was lost. Its delivery project {project} was left as it "
    "is (the flow's on_lost policy is 'leave').",
    "mark": "The deal was lost. Its delivery project {project} was marked as "
    "lost; nothing in it was deleted.",
    "archive": "The deal was lost. Its delivery project {project} was archived; "
    "nothing in it was deleted, and it can be restored in the delivery tool.",
}
_LOST_ACTION = {"mark": "mark_project", "archive": "archive_project"}
_LOST_STATUS = {"mark": ProjectStatus.ON_HOLD, "archive": ProjectStatus.CANCELLED}
_LOST_DONE = {"leave": "left as it is", "mark": "marked", "archive": "archived"}


class LostDealPolicy:
    """Applies a won-deal flow's ``on_lost`` policy to its deals' projects."""

    def __init__(self, flow: WonDealFlow) -> None:
        self.flow = flow
        self.store = flow.store

    def turn(self, previous: str | None, stage: str | None) -> Turn | None:
        """Say whether a move from ``previous`` to ``stage`` loses or reopens a deal."""
        with self.store.transaction() as tx:
            meaning = stage_semantics(tx)
        before = meaning.get(previous) if previous else None
        after = meaning.get(stage) if stage else None
        failure = StageSemantics.FAILURE
        if after is failure and before is not failure:
            return "lost"
        if before is failure and after is not None and after is not failure:
            return "reopened"
        return None

    async def deal_lost(
        self, event_id: str, deal_id: str, deal_external_id: str
    ) -> None:
        """Leave, mark or archive the project of a deal that was just lost."""
        project = self._project_of(deal_id, lost=True)
        if project is None:
            return
        flow, policy = self.flow, self.flow.flow.on_lost
        key = f"{flow.name}:{deal_id}:lost:{event_id}"
        action = _LOST_ACTION.get(policy)
        if action is not None:
            params = {"project_key": project.external_id}
            if policy == "mark":
                params["note"] = self._note(deal_id)
            target = flow.flow.target
            await flow.act(flow.delivery, target, action, f"{key}:{policy}", params)

        text = _LOST_COMMENT[policy].format(project=project.external_id)
        await flow.tell_deal(f"{key}:comment", deal_external_id, text)
        status = _LOST_STATUS.get(policy)
        if status is not None:
            set_project_status(self.store, project.project_id, status)
        logger.info(
            "Flow %s: deal %s was lost; its project %s was %s.",
            flow.name, deal_id, project.external_id, _LOST_DONE[policy],
        )  # fmt: skip

    async def deal_reopened(
        self, event_id: str, deal_id: str, deal_external_id: str
    ) -> None:
        """Take the lost mark off the project of a deal that is open again."""
        project = self._project_of(deal_id, lost=False)
        if project is None:
            return
        flow, name = self.flow, project.external_id
        key = f"{flow.name}:{deal_id}:reopened:{event_id}"
        status: ProjectStatus | None = None
        if project.status is ProjectStatus.ON_HOLD:
            await flow.act(
                flow.delivery,
                flow.flow.target,
                "unmark_project",
                f"{key}:unmark",
                {"project_key": name},
            )
            text = f"The deal was reopened. The lost mark was removed from {name}."
            status = ProjectStatus.PLANNED
        elif project.status is ProjectStatus.CANCELLED:
            text = (
                f"The deal was reopened. Its delivery project {name} stays "
                "archived; restore it in the delivery tool if the work resumes."
            )
        else:
            text = f"The deal was reopened. Its delivery project {name} is unchanged."

        await flow.tell_deal(f"{key}:comment", deal_external_id, text)
        if status is not None:
            set_project_status(self.store, project.project_id, status)
        logger.info("Flow %s: deal %s was reopened; %s", flow.name, deal_id, text)

    def _project_of(self, deal_id: str, *, lost: bool) -> LinkedProject | None:
        """Return the deal's project, when the deal still stands as the event says."""
        with self.store.transaction() as tx:
            now = current_semantics(tx, deal_id)
        if (now is StageSemantics.FAILURE) != lost:
            logger.info(
                "Flow %s: deal %s has moved on since; this change is out of date.",
                self.flow.name, deal_id,
            )  # fmt: skip
            return None
        project = deal_project(self.store, deal_id, self.flow.flow.target)
        if project is None:
            logger.info(
                "Flow %s: deal %s has no project in %r; nothing to do.",
                self.flow.name, deal_id, self.flow.flow.target,
            )  # fmt: skip
        return project

    def _note(self, deal_id: str) -> str:
        with self.store.session() as session:
            deal = session.get(Deal, deal_id)
        title = deal.title if deal else deal_id
        day = self.store.now().date().isoformat()
        return (
            f"The deal {title!r} was lost on {day}. This project is kept as it "
            "was; the mark goes away if the deal is reopened."
        )
