"""Teacher review of plans: the status lifecycle and the edits, as pure functions.

A :class:`ReviewedPlan` is one learner's playlist (``kind="playlist"``) or one
class's session plan (``kind="class"``). Every change returns a *new* plan plus
a :class:`ReviewEvent` (what the caller appends to the audit log); nothing is
mutated.

Lifecycle::

    proposed ──approve──▶ approved ──activate──▶ active ──complete──▶ done
        │  └──edit──▶ edited ──approve/activate──┘
        └──reject(reason)──▶ rejected
    regenerate (any state but active/done) ──▶ proposed, version + 1

Teacher pins and removals are remembered on the plan (``pins``/``removes``) so
that regeneration passes them to the planner as hard constraints.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from engine.errors import ConflictError, NotFoundError, ValidationError

STATUSES = ("proposed", "approved", "edited", "rejected", "active", "done")

TRANSITIONS: dict[str, frozenset[str]] = {
    "proposed": frozenset({"approved", "edited", "rejected"}),
    "edited": frozenset({"approved", "edited", "rejected", "active"}),
    "approved": frozenset({"edited", "rejected", "active"}),
    "rejected": frozenset(),
    "active": frozenset({"done"}),
    "done": frozenset(),
}
REGENERABLE = frozenset({"proposed", "edited", "approved", "rejected"})
EDIT_OPS = ("pin", "unpin", "remove", "add", "reorder")


@dataclass(frozen=True)
class PlanItem:
    """One planned activity.

    minutes: planned duration (> 0); skills: skill ids it targets;
    reason: one plain sentence; details: the reason's data (mastery now,
    expected gain, constraints...); pinned: fixed by the teacher;
    added_by: ``planner`` or ``teacher``.
    """

    activity_id: str
    title: str = ""
    minutes: float = 0.0
    skills: tuple[str, ...] = ()
    reason: str = ""
    details: Mapping = field(default_factory=dict)
    pinned: bool = False
    added_by: str = "planner"

    def to_record(self) -> dict:
        return {
            "activity_id": self.activity_id,
            "title": self.title,
            "minutes": self.minutes,
            "skills": list(self.skills),
            "reason": self.reason,
            "details": dict(self.details),
            "pinned": self.pinned,
            "added_by": self.added_by,
        }

    @classmethod
    def from_record(cls, rec: Mapping) -> PlanItem:
        return cls(
            activity_id=rec["activity_id"],
            title=rec.get("title", ""),
            minutes=float(rec.get("minutes", 0.0)),
            skills=tuple(rec.get("skills", ())),
            reason=rec.get("reason", ""),
            details=dict(rec.get("details", {})),
            pinned=bool(rec.get("pinned", False)),
            added_by=rec.get("added_by", "planner"),
        )


@dataclass(frozen=True)
class ReviewEvent:
    """What changed: op (approve/edit/reject/...), by whom, when, and details."""

    plan_id: str
    op: str
    actor: str
    status_before: str
    status_after: str
    at: float
    detail: Mapping = field(default_factory=dict)

    def to_record(self) -> dict:
        return {
            "plan_id": self.plan_id,
            "op": self.op,
            "actor": self.actor,
            "status_before": self.status_before,
            "status_after": self.status_after,
            "at": self.at,
            "detail": dict(self.detail),
        }


@dataclass(frozen=True)
class ReviewedPlan:
    """A plan under review.

    kind: ``playlist`` (subject = learner id) or ``class`` (subject = class id).
    items: the ordered playlist (playlists); body: the class plan's groups and
    schedule plus per-learner playlists (class plans), JSON-able.
    conflicts: constraints the planner could not all satisfy (may be empty).
    """

    plan_id: str
    kind: str
    subject: str
    status: str = "proposed"
    version: int = 1
    items: tuple[PlanItem, ...] = ()
    body: Mapping = field(default_factory=dict)
    conflicts: tuple[Mapping, ...] = ()
    pins: tuple[str, ...] = ()
    removes: tuple[str, ...] = ()
    reject_reason: str = ""
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    history: tuple[Mapping, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ("playlist", "class"):
            raise ValidationError(f"plan kind {self.kind!r} unknown; use 'playlist' or 'class'")
        if self.status not in STATUSES:
            raise ValidationError(f"plan status {self.status!r} unknown; use one of {STATUSES}")

    @property
    def total_minutes(self) -> float:
        return float(sum(item.minutes for item in self.items))

    def to_record(self) -> dict:
        return {
            "plan_id": self.plan_id,
            "kind": self.kind,
            "subject": self.subject,
            "status": self.status,
            "version": self.version,
            "items": [i.to_record() for i in self.items],
            "body": dict(self.body),
            "conflicts": [dict(c) for c in self.conflicts],
            "pins": list(self.pins),
            "removes": list(self.removes),
            "reject_reason": self.reject_reason,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "history": [dict(h) for h in self.history],
        }

    @classmethod
    def from_record(cls, rec: Mapping) -> ReviewedPlan:
        return cls(
            plan_id=rec["plan_id"],
            kind=rec["kind"],
            subject=rec["subject"],
            status=rec.get("status", "proposed"),
            version=int(rec.get("version", 1)),
            items=tuple(PlanItem.from_record(i) for i in rec.get("items", ())),
            body=dict(rec.get("body", {})),
            conflicts=tuple(dict(c) for c in rec.get("conflicts", ())),
            pins=tuple(rec.get("pins", ())),
            removes=tuple(rec.get("removes", ())),
            reject_reason=rec.get("reject_reason", ""),
            created_at=float(rec.get("created_at", 0.0)),
            updated_at=float(rec.get("updated_at", 0.0)),
            history=tuple(dict(h) for h in rec.get("history", ())),
        )


def new_plan(
    kind: str,
    subject: str,
    *,
    items: Sequence[PlanItem] = (),
    body: Mapping | None = None,
    conflicts: Sequence[Mapping] = (),
    pins: Sequence[str] = (),
    removes: Sequence[str] = (),
    plan_id: str | None = None,
) -> ReviewedPlan:
    """A freshly generated plan in status ``proposed``."""
    now = time.time()
    return ReviewedPlan(
        plan_id=plan_id or f"plan_{uuid.uuid4().hex[:12]}",
        kind=kind,
        subject=subject,
        items=tuple(items),
        body=dict(body or {}),
        conflicts=tuple(dict(c) for c in conflicts),
        pins=tuple(pins),
        removes=tuple(removes),
        created_at=now,
        updated_at=now,
    )


def _transition(
    plan: ReviewedPlan, target: str, op: str, actor: str, detail: Mapping, **changes
) -> tuple[ReviewedPlan, ReviewEvent]:
    if target not in TRANSITIONS[plan.status]:
        allowed = ", ".join(sorted(TRANSITIONS[plan.status])) or "none"
        raise ConflictError(
            f"cannot {op} plan {plan.plan_id!r}: it is {plan.status!r} "
            f"(from {plan.status!r} it may become: {allowed})"
        )
    now = time.time()
    event = ReviewEvent(plan.plan_id, op, actor, plan.status, target, now, dict(detail))
    updated = replace(
        plan, status=target, updated_at=now, history=plan.history + (event.to_record(),), **changes
    )
    return updated, event


def approve(plan: ReviewedPlan, actor: str) -> tuple[ReviewedPlan, ReviewEvent]:
    return _transition(plan, "approved", "approve", actor, {})


def reject(plan: ReviewedPlan, actor: str, reason: str) -> tuple[ReviewedPlan, ReviewEvent]:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("a rejection needs a reason: say what is wrong with the plan")
    return _transition(plan, "rejected", "reject", actor, {"reason": reason}, reject_reason=reason)


def activate(plan: ReviewedPlan, actor: str) -> tuple[ReviewedPlan, ReviewEvent]:
    return _transition(plan, "active", "activate", actor, {})


def complete(plan: ReviewedPlan, actor: str) -> tuple[ReviewedPlan, ReviewEvent]:
    return _transition(plan, "done", "complete", actor, {})


def _item_index(plan: ReviewedPlan, ids: list[str], op: str, aid: str | None) -> int:
    """Position of activity ``aid`` in the plan's items; clear error when absent."""
    if not aid:
        raise ValidationError(f"edit op {op!r} needs activity_id")
    if aid not in ids:
        raise NotFoundError(f"activity {aid!r} is not in plan {plan.plan_id!r}; items: {ids}")
    return ids.index(aid)


def _edit_add(
    items: list[PlanItem], ids: list[str], pins: list[str], removes: list[str],
    new_item: PlanItem | None, position: int | None,
) -> dict:
    """Insert ``new_item`` (pinned, added by the teacher) in place; return the event detail."""
    if new_item is None:
        raise ValidationError("edit op 'add' needs the activity to add")
    if new_item.activity_id in ids:
        raise ConflictError(f"activity {new_item.activity_id!r} is already in the plan")
    item = replace(new_item, added_by="teacher", pinned=True)
    pos = len(items) if position is None else position
    if not 0 <= pos <= len(items):
        raise ValidationError(f"position {pos} out of range 0..{len(items)}")
    items.insert(pos, item)
    if item.activity_id in removes:
        removes.remove(item.activity_id)
    if item.activity_id not in pins:
        pins.append(item.activity_id)
    return {"activity_id": item.activity_id, "position": pos}


def _reordered(items: list[PlanItem], ids: list[str], order: Sequence[str] | None) -> tuple[list[PlanItem], list[str]]:
    """Items in ``order`` (every item's activity id exactly once) and that order."""
    order = list(order or ())
    if sorted(order) != sorted(ids) or len(set(order)) != len(order):
        raise ValidationError(
            f"reorder needs every item's activity id exactly once; plan has {ids}, got {order}"
        )
    by_id = {i.activity_id: i for i in items}
    return [by_id[a] for a in order], order


def edit(
    plan: ReviewedPlan,
    actor: str,
    op: str,
    *,
    activity_id: str | None = None,
    order: Sequence[str] | None = None,
    new_item: PlanItem | None = None,
    position: int | None = None,
) -> tuple[ReviewedPlan, ReviewEvent]:
    """Apply one teacher edit to a playlist plan; status becomes ``edited``.

    op: ``pin`` / ``unpin`` / ``remove`` (activity_id), ``add`` (new_item,
    optional position), ``reorder`` (order = every item's activity id once).
    """
    if plan.kind != "playlist":
        raise ValidationError(
            f"plan {plan.plan_id!r} is a class plan; edit the learners' playlists instead"
        )
    if op not in EDIT_OPS:
        raise ValidationError(f"unknown edit op {op!r}; use one of {', '.join(EDIT_OPS)}")
    items = list(plan.items)
    ids = [i.activity_id for i in items]
    pins, removes = list(plan.pins), list(plan.removes)
    detail: dict = {"op": op}
    if op in ("pin", "unpin"):
        k = _item_index(plan, ids, op, activity_id)
        items[k] = replace(items[k], pinned=(op == "pin"))
        if op == "pin" and activity_id not in pins:
            pins.append(activity_id)
        if op == "unpin" and activity_id in pins:
            pins.remove(activity_id)
        detail["activity_id"] = activity_id
    elif op == "remove":
        k = _item_index(plan, ids, op, activity_id)
        if items[k].pinned:
            raise ConflictError(f"activity {activity_id!r} is pinned; unpin it before removing it")
        del items[k]
        if activity_id not in removes:
            removes.append(activity_id)
        detail["activity_id"] = activity_id
    elif op == "add":
        detail.update(_edit_add(items, ids, pins, removes, new_item, position))
    else:  # reorder
        items, detail["order"] = _reordered(items, ids, order)
    return _transition(
        plan, "edited", "edit", actor, detail, items=tuple(items), pins=tuple(pins), removes=tuple(removes)
    )


def regenerate(
    plan: ReviewedPlan,
    actor: str,
    *,
    items: Sequence[PlanItem] = (),
    body: Mapping | None = None,
    conflicts: Sequence[Mapping] = (),
) -> tuple[ReviewedPlan, ReviewEvent]:
    """Replace the content by a fresh planner result; status back to ``proposed``.

    The caller runs the planner with ``plan.pins``/``plan.removes`` as constraints.
    """
    if plan.status not in REGENERABLE:
        raise ConflictError(
            f"cannot regenerate plan {plan.plan_id!r}: it is {plan.status!r}; "
            "only proposed, edited, approved or rejected plans can be regenerated"
        )
    now = time.time()
    event = ReviewEvent(
        plan.plan_id, "regenerate", actor, plan.status, "proposed", now, {"version": plan.version + 1}
    )
    updated = replace(
        plan,
        status="proposed",
        version=plan.version + 1,
        items=tuple(items),
        body=dict(body or {}) if body is not None else plan.body,
        conflicts=tuple(dict(c) for c in conflicts),
        reject_reason="",
        updated_at=now,
        history=plan.history + (event.to_record(),),
    )
    return updated, event
