"""Plan storage and versioning (plans are ``plan`` documents, guarded by their document
version) and the "teachers decide" rule that picks what a learner or class currently follows.

Teachers decide: a plan a teacher approved, edited or started (``approved``, ``edited``,
``active``) is never replaced by a generation the teacher did not ask for. A new proposal (an
LMS generating a playlist, a class-plan refresh) is stored beside it as ``proposed``; the
current plan stays the teacher's, and the proposal waits until the teacher approves or rejects
it. Only an explicit review step on a plan (edit, regenerate, approve, ...) changes that plan.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.review import ReviewedPlan

PLAN_KIND = "plan"
DECIDED = frozenset({"approved", "edited", "active"})
CLOSED = frozenset({"rejected", "done"})


def current_and_pending(plans: Sequence[ReviewedPlan]) -> tuple[ReviewedPlan | None, ReviewedPlan | None]:
    """``(current, pending)`` among one subject's plans given newest first.

    current: the newest plan a teacher decided on (approved/edited/active), else the newest
    open proposal; pending: the newest ``proposed`` plan waiting beside a decided current
    plan (None when the current plan is itself the proposal, or nothing waits).
    """
    decided = next((p for p in plans if p.status in DECIDED), None)
    proposal = next((p for p in plans if p.status == "proposed"), None)
    if decided is None:
        return proposal, None
    return decided, proposal


class PlanStore:
    """Plan documents of one tenant (mixed into ``SchoolApp``)."""

    def _save_plan(self, plan: ReviewedPlan, *, new: bool = False,
                   expected_version: int | None = None) -> None:
        """Store a plan; ``expected_version`` (the document version read) guards against lost
        updates: a concurrent change makes this a ConflictError."""
        rec = plan.to_record()
        rec["learner_id"] = plan.subject if plan.kind == "playlist" else None
        rec["class_id"] = plan.subject if plan.kind == "class" else plan.body.get("class_id")
        self.store.put_document(PLAN_KIND, plan.plan_id, rec, expected_version=0 if new else expected_version)

    def _plan_versioned(self, plan_id: str) -> tuple[ReviewedPlan, int]:
        """(plan, stored document version); NotFoundError naming the plan."""
        doc = self.store.get_document(PLAN_KIND, plan_id)
        return ReviewedPlan.from_record(doc.payload), doc.version

    def _plans(self, *, learner_id=None, class_id=None, status=None, kind=None) -> list[ReviewedPlan]:
        """Plans filtered by learner, class, status and kind, newest first."""
        filters = {k: v for k, v in (("learner_id", learner_id), ("class_id", class_id),
                                     ("status", status)) if v is not None}
        plans = [ReviewedPlan.from_record(d.payload)
                 for d in self.store.list_documents(PLAN_KIND, newest_first=True, **filters)]
        return [p for p in plans if kind is None or p.kind == kind]

    def _pair(self, plans: list[ReviewedPlan]) -> tuple[ReviewedPlan | None, ReviewedPlan | None]:
        """:func:`current_and_pending` of open plans; with none open, the newest closed one is
        shown as current (so a page can say "rejected" or "done")."""
        current, pending = current_and_pending([p for p in plans if p.status not in CLOSED])
        if current is None and plans:
            current = plans[0]
        return current, pending

    def _playlist_pair(self, learner_id: str) -> tuple[ReviewedPlan | None, ReviewedPlan | None]:
        return self._pair(self._plans(learner_id=learner_id, kind="playlist"))

    def _class_plan_pair(self, class_id: str) -> tuple[ReviewedPlan | None, ReviewedPlan | None]:
        return self._pair(self._plans(class_id=class_id, kind="class"))

    def _open_playlists(self, learner_id: str) -> tuple[ReviewedPlan | None, ReviewedPlan | None]:
        """(current, pending) of the learner's open playlists (None, None when none is open)."""
        plans = [p for p in self._plans(learner_id=learner_id, kind="playlist") if p.status not in CLOSED]
        return current_and_pending(plans)
