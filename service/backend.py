"""The service's only door to the engine: opens the store, caches each tenant's school, and
offers the operations routes need. Everything version-sensitive about the engine's API sits
in the small ``_engine_*`` adapters at the bottom of this module.
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from engine import planning, review
from engine.access import Principal, TeacherScope, hash_key, new_api_key, pseudonymize
from engine.errors import ConflictError, NotFoundError, ValidationError

STATEMENT_KIND = "xapi_statement"
PLAN_KIND = "plan"
SECRET_KIND = "tenant_secret"
LOGIN_KIND = "teacher_login"
KEY_CACHE_TTL = 30.0
VIEW_TTL = 60.0  # seconds a tenant's cached school may lag writes made by another process


@dataclasses.dataclass
class SchoolView:
    """One tenant's graph, catalog, learners and classes, cached in memory."""

    graph: Any
    skills: dict[str, Any]
    activities: dict[str, Any]
    learners: dict[str, Any]
    classes: dict[str, Any]
    model_params: dict[str, dict[str, float]]
    planning: Any = None  # planning.PlanningInput, built lazily
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    loaded_at: float = dataclasses.field(default_factory=time.monotonic)

    def planning_input(self):
        with self.lock:
            if self.planning is None and self.graph is not None:
                self.planning = planning.planning_input(self.graph, self.activities.values(),
                                                        self.model_params)
            return self.planning


class Backend:
    """Open store + per-tenant caches. Thread-safe (the store serialises its connection)."""

    def __init__(self, store, *, url: str = "") -> None:
        self.store = store
        self.url = url
        self.kind = getattr(store, "dialect", "sqlite")
        self._views: dict[str, SchoolView] = {}
        self._keys: dict[str, tuple[float, Principal]] = {}
        self._engines: dict[str, Any] = {}
        self._lock = threading.RLock()

    @classmethod
    def open(cls, url: str) -> Backend:
        from engine.store import open_store

        return cls(open_store(url), url=url)

    def close(self) -> None:
        self.store.close()

    # ---------------------------------------------------------------- credentials
    def authenticate(self, key: str) -> Principal | None:
        """Principal of a live key (cached 30 s by hash), else None."""
        if not key or len(key) > 512:
            return None
        h = hash_key(key)
        now = time.monotonic()
        hit = self._keys.get(h)
        if hit is not None and now - hit[0] < KEY_CACHE_TTL:
            return hit[1]
        rec = self.store.find_api_key(h)
        if rec is None:
            self._keys.pop(h, None)
            return None
        principal = Principal(tenant=rec.tenant_id, role=rec.role, key_id=key_id_of(h),
                              name=rec.label or "", teacher_id=rec.subject if rec.role == "teacher" else None)
        self._keys[h] = (now, principal)
        return principal

    def forget_cached_keys(self) -> None:
        self._keys.clear()

    def for_tenant(self, tenant: str) -> TenantBackend:
        return TenantBackend(self, tenant)

    def engine(self, tenant: str):
        """The tenant's :class:`engine.engine.Engine` over the shared store (cached)."""
        with self._lock:
            eng = self._engines.get(tenant)
            if eng is None:
                from engine.engine import Engine

                eng = Engine(self.store, tenant)
                self._engines[tenant] = eng
            return eng

    def view(self, tenant: str) -> SchoolView:
        with self._lock:
            v = self._views.get(tenant)
            if v is None or time.monotonic() - v.loaded_at > VIEW_TTL:
                v = self._load_view(tenant)
                self._views[tenant] = v
            return v

    def invalidate(self, tenant: str) -> None:
        with self._lock:
            self._views.pop(tenant, None)

    def _load_view(self, tenant: str) -> SchoolView:
        ts = self.store.for_tenant(tenant)
        try:
            graph = ts.get_graph()
        except NotFoundError:
            graph = None
        skills = {s.id: s for s in ts.list_skills()}
        model = ts.get_model()
        return SchoolView(
            graph=graph,
            skills=skills,
            activities={a.id: a for a in ts.list_activities()},
            learners={learner.id: learner for learner in ts.list_learners()},
            classes={c.id: c for c in ts.list_classes()},
            model_params=dict(model.params) if model is not None else {},
        )


def key_id_of(key_hash: str) -> str:
    """Public id of a key: the first 12 hex chars of its hash (safe to log and audit)."""
    return "key_" + key_hash[:12]


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


class TenantBackend:
    """The operations of one tenant. Every store call goes through ``store.for_tenant``."""

    def __init__(self, backend: Backend, tenant: str) -> None:
        self.backend = backend
        self.tenant = tenant
        self.ts = backend.store.for_tenant(tenant)

    @property
    def view(self) -> SchoolView:
        return self.backend.view(self.tenant)

    @property
    def engine(self):
        return self.backend.engine(self.tenant)

    def _invalidate(self) -> None:
        self.backend.invalidate(self.tenant)

    # ---------------------------------------------------------------- scope / audit
    def teacher_scope(self, teacher_id: str | None) -> TeacherScope:
        rosters = {c.id: c.roster for c in self.view.classes.values() if teacher_id in c.teachers}
        return TeacherScope.from_rosters(rosters)

    def audit(self, entry) -> None:
        rec = entry.to_record()
        resource = rec["resource"]
        if rec.get("learner_id"):
            resource = f"{resource}:{rec['learner_id']}"
        detail = {k: rec[k] for k in ("role", "resource_id", "request_id") if rec.get(k)}
        detail.update(rec.get("detail") or {})
        self.ts.append_audit(rec["actor"], rec["action"], resource, detail)

    def list_audit(self, *, limit: int, after: int) -> list[dict]:
        return [
            {"seq": e.seq, "at": _iso(e.at), "actor": e.actor, "action": e.action,
             "resource": e.resource, "detail": e.detail}
            for e in self.ts.list_audit(after_seq=after or None, limit=limit)
        ]

    # ---------------------------------------------------------------- keys & logins
    def create_key(self, role: str, *, name: str = "", teacher_id: str | None = None,
                   created_by: str = "system", key: str | None = None) -> tuple[str, str]:
        """A new key in this tenant; returns (key_id, key). Only the hash is stored."""
        if role == "teacher" and teacher_id is None:
            raise ValidationError("a teacher key needs teacher_id")
        key = key or new_api_key(role)
        h = hash_key(key)
        self.backend.store.put_api_key(h, self.tenant, role, subject=teacher_id, label=name or None)
        return key_id_of(h), key

    def revoke_key(self, key_id: str) -> None:
        for k in self.ts.list_api_keys():
            if key_id_of(k.key_hash) == key_id and k.revoked_at is None:
                self.backend.store.revoke_api_key(k.key_hash)
                return
        raise NotFoundError(f"no live API key {key_id!r} in tenant {self.tenant!r}")

    def put_login(self, username: str, password_hash: str, key: str) -> None:
        """A teacher login: the password hash and the login's session key (hashed)."""
        self.ts.put_document(LOGIN_KIND, username, {"password": password_hash, "key_hash": hash_key(key)})

    def get_login(self, username: str) -> dict | None:
        try:
            return self.ts.get_document(LOGIN_KIND, username).payload
        except NotFoundError:
            return None

    def tenant_secret(self) -> str:
        try:
            return self.ts.get_document(SECRET_KIND, "pseudonym").payload["secret"]
        except NotFoundError:
            secret = secrets.token_hex(32)
            try:
                self.ts.put_document(SECRET_KIND, "pseudonym", {"secret": secret}, expected_version=0)
            except ConflictError:
                return self.ts.get_document(SECRET_KIND, "pseudonym").payload["secret"]
            return secret

    # ---------------------------------------------------------------- evidence
    def _activity(self, activity_id: str):
        act = self.view.activities.get(activity_id)
        if act is None:
            raise NotFoundError(f"activity {activity_id!r} is not in the catalog; add it first")
        return act

    def build_observations(self, rows: list[dict]) -> list:
        """Validated Observation objects from API rows (skills default to the activity's)."""
        from engine.domain.evidence import Observation, score_from_rubric

        learners = self.view.learners
        out = []
        for i, r in enumerate(rows):
            where = f"observations[{i}]"
            if r["learner_id"] not in learners:
                raise NotFoundError(f"{where}.learner_id: learner {r['learner_id']!r} is unknown; register the learner first")
            act = self._activity(r["activity_id"])
            outcomes = [r.get("score") is not None, r.get("correct") is not None, r.get("rubric_level") is not None]
            if sum(outcomes) != 1:
                raise ValidationError(f"{where}: give exactly one of score, correct, rubric_level")
            if r.get("score") is not None:
                score = float(r["score"])
            elif r.get("correct") is not None:
                score = 1.0 if r["correct"] else 0.0
            else:
                if r.get("rubric_min") is None or r.get("rubric_max") is None:
                    raise ValidationError(f"{where}: rubric_level needs rubric_min and rubric_max")
                score = score_from_rubric(r["rubric_level"], r["rubric_min"], r["rubric_max"])
            skills = tuple(r.get("skill_ids") or act.skill_ids)
            unknown = [s for s in skills if s not in self.view.skills]
            if unknown:
                raise NotFoundError(f"{where}.skill_ids: unknown skill(s) {unknown}")
            try:
                out.append(Observation(
                    observation_id=r["id"], learner_id=r["learner_id"], activity_id=act.id,
                    skill_ids=skills, score=score, observed_at=r["observed_at"],
                    source=r.get("source", "lms"), item_id=r.get("item_id"),
                ))
            except ValidationError as exc:
                raise ValidationError(f"{where}: {exc}") from None
        return out

    def ingest(self, observations: list) -> tuple[int, int, int]:
        """(accepted, duplicates, mastery updates); all-or-nothing."""
        return _engine_ingest(self, observations)

    def resolve_learner(self, keys: list[str]) -> str | None:
        learners = self.view.learners
        for k in keys:
            if k in learners:
                return k
        return None

    def resolve_activity(self, keys: list[str]) -> str | None:
        acts = self.view.activities
        for k in keys:
            if k in acts:
                return k
        return None

    def get_statement(self, statement_id: str) -> dict | None:
        try:
            return self.ts.get_document(STATEMENT_KIND, statement_id).payload
        except NotFoundError:
            return None

    def store_statements(self, mapped: list) -> None:
        """Ingest evidence statements, retract voided ones, record every statement."""
        from engine.domain.evidence import Observation

        evidence = [m for m in mapped if m.voids is None]
        observations = []
        for m in evidence:
            act = self._activity(m.activity_id)
            observations.append(Observation(
                observation_id=m.observation_id, learner_id=m.learner_id, activity_id=act.id,
                skill_ids=act.skill_ids, score=m.outcome,
                observed_at=datetime.fromtimestamp(m.timestamp, UTC), source="lms"))
        if observations:
            self.ingest(observations)
        for m in mapped:
            if m.voids is not None:
                target = self.get_statement(m.voids) or {}
                if target.get("observation_id") and not target.get("voided"):
                    _engine_retract(self, [target["observation_id"]])
                    self.ts.put_document(STATEMENT_KIND, m.voids, {**target, "voided": True, "voided_by": m.statement_id})
            payload = {"digest": m.digest, "verb": m.verb, "learner_id": m.learner_id,
                       "activity_id": m.activity_id, "voids": m.voids,
                       "observation_id": m.observation_id if m.voids is None else None,
                       "voided": False}
            self.ts.put_document(STATEMENT_KIND, m.statement_id, payload)

    # ---------------------------------------------------------------- learners
    def _learner(self, learner_id: str):
        learner = self.view.learners.get(learner_id)
        if learner is None:
            raise NotFoundError(f"learner {learner_id!r} is not in tenant {self.tenant!r}")
        return learner

    def mastery(self, learner_id: str) -> list[dict]:
        self._learner(learner_id)
        titles = self.view.skills
        return [
            {"skill_id": sid, "title": getattr(titles.get(sid), "title", ""), "p_mastered": st.p_mastered,
             "n_observations": st.n_observations, "updated_at": _iso(st.updated_at)}
            for sid, st in sorted(self.ts.get_mastery(learner_id).items())
        ]

    def mastery_map(self, learner_id: str) -> dict[str, Any]:
        return self.ts.get_mastery(learner_id)

    def history(self, learner_id: str, skill_id: str | None, limit: int) -> list[dict]:
        self._learner(learner_id)
        if skill_id is not None and skill_id not in self.view.skills:
            raise NotFoundError(f"skill {skill_id!r} is not in the competency graph")
        rows = self.ts.list_history(learner_id, skill_id)[-limit:]
        return [{"skill_id": c.skill_id, "observation_id": c.observation_id, "before": c.before,
                 "after": c.after, "at": _iso(c.at)} for c in rows]

    def profile(self, learner_id: str) -> dict:
        from engine.domain.serialize import to_record

        learner = self._learner(learner_id)
        prof = learner.profile
        fields = {}
        for name in prof.FIELDS:
            p = getattr(prof, name)
            fields[name] = {"value": to_record(p.value), "set_by": _value(p.set_by), "set_at": _iso(p.set_at)}
        history = [{"field": ch.field, "value": to_record(ch.previous.value),
                    "set_by": _value(ch.previous.set_by), "set_at": _iso(ch.previous.set_at)}
                   for ch in prof.history]
        return {"learner_id": learner.id, "name": learner.name, "grade": learner.grade,
                "fields": fields, "history": history}

    def update_profile(self, learner_id: str, fields: Mapping[str, Any], set_by: str) -> dict:
        learner = self._learner(learner_id)
        now = datetime.now(UTC)
        prof = learner.profile
        for name, value in fields.items():
            if name not in prof.FIELDS:
                raise ValidationError(f"fields.{name}: unknown profile field; use one of {', '.join(prof.FIELDS)}")
            try:
                prof = prof.with_field(name, value, set_by, max(now, getattr(prof, name).set_at))
            except ValidationError as exc:
                raise ValidationError(f"fields.{name}: {exc}") from None
        self.ts.put_profile(learner_id, prof)
        self._invalidate()
        return self.profile(learner_id)

    def _graph(self):
        g = self.view.graph
        if g is None:
            raise NotFoundError(f"tenant {self.tenant!r} has no competency graph; import one first")
        return g

    def _mastery_probs(self, learner_id: str) -> dict[str, float]:
        g = self._graph()
        return {k: st.p_mastered for k, st in self.ts.get_mastery(learner_id).items() if k in g}

    def ready_to_learn(self, learner_id: str, threshold: float) -> list[dict]:
        self._learner(learner_id)
        g = self._graph()
        m = self._mastery_probs(learner_id)
        return [{"skill_id": s, "title": g.skill(s).title, "p_mastered": m.get(s, 0.0)}
                for s in g.ready_to_learn(m, mastered=threshold)]

    def gaps(self, learner_id: str, skill_id: str, threshold: float) -> list[dict]:
        self._learner(learner_id)
        g = self._graph()
        if skill_id not in g:
            raise NotFoundError(f"skill {skill_id!r} is not in the competency graph")
        m = self._mastery_probs(learner_id)
        return [{"skill_id": gap.skill_id, "title": g.skill(gap.skill_id).title,
                 "p_mastered": gap.mastery, "distance": gap.distance}
                for gap in g.gaps(skill_id, m, mastered=threshold)]

    def export_learner(self, learner_id: str) -> dict:
        return self.ts.export_learner(learner_id)

    def delete_learner(self, learner_id: str) -> dict[str, int]:
        counts = self.ts.delete_learner(learner_id, actor="service")
        # xAPI statement documents carry learner_id and are erased with the rest.
        self._invalidate()
        return counts

    def pseudonymized_observations(self, limit: int) -> list[dict]:
        secret = self.tenant_secret()
        out = []
        for o in self.ts.list_observations(limit=limit):
            rec = o.to_record()
            rec["learner_id"] = pseudonymize(o.learner_id, secret)
            rec["observation_id"] = pseudonymize(o.observation_id, secret)
            out.append(rec)
        return out

    # ---------------------------------------------------------------- graph & catalog
    def import_case(self, package: dict) -> dict:
        from engine.graph import CompetencyGraph
        from engine.imports.case import load_case_package

        result = load_case_package(package)
        imported = result.graph
        current = self.view.graph
        if current is not None:
            new_ids = {s.id for s in imported.skills}
            skills = [s for s in current.skills if s.id not in new_ids] + list(imported.skills)
            edges = list(current.edges) + list(imported.edges)
            merged = CompetencyGraph(tuple(skills), tuple(edges), current.name)
        else:
            merged = imported
        self.ts.put_graph(merged)
        self._invalidate()
        n_pre = sum(1 for e in imported.edges if _value(e.kind) == "prerequisite")
        return {"skills": len(imported.skills), "prerequisites": n_pre, "document": result.document_id}

    def _skill_out(self, s) -> dict:
        g = self.view.graph
        pre = list(g.prerequisites(s.id)) if g is not None and s.id in g else []
        return {"id": s.id, "code": s.code, "title": s.title, "grade": s.grade, "domain": s.domain,
                "case_id": s.case_id, "prerequisites": pre}

    def skills(self, grade: str | None = None) -> list[dict]:
        return [self._skill_out(s) for s in self.view.skills.values() if grade is None or s.grade == grade]

    def skill(self, skill_id: str) -> dict:
        s = self.view.skills.get(skill_id)
        if s is None:
            raise NotFoundError(f"skill {skill_id!r} is not in the competency graph")
        return self._skill_out(s)

    def activities(self, skill_id: str | None = None) -> list[dict]:
        from engine.domain.serialize import to_record

        acts = self.view.activities.values()
        if skill_id is not None:
            acts = [a for a in acts if skill_id in a.skill_ids]
        return [to_record(a) for a in acts]

    def activity(self, activity_id: str) -> dict:
        from engine.domain.serialize import to_record

        return to_record(self._activity(activity_id))

    def _to_activity(self, rec: dict):
        from engine.domain.catalog import Activity
        from engine.domain.serialize import from_record

        rec = dict(rec)
        rec["skills"] = [list(p) for p in rec["skills"]]
        act = from_record(Activity, rec)
        unknown = [k for k in act.skill_ids if k not in self.view.skills]
        if unknown:
            raise ValidationError(f"activity {act.id!r} names unknown skill(s) {unknown}; import them first")
        return act

    def put_activity(self, rec: dict, *, create: bool) -> dict:
        act = self._to_activity(rec)
        if create and act.id in self.view.activities:
            raise ConflictError(f"activity {act.id!r} already exists; PUT it to replace")
        self.ts.put_activities([act])
        self._invalidate()
        return self.activity(act.id)

    def delete_activity(self, activity_id: str) -> None:
        self._activity(activity_id)
        self.ts.delete_activity(activity_id)
        self._invalidate()

    def import_activities(self, recs: list[dict], *, replace: bool) -> dict:
        acts = [self._to_activity(r) for r in recs]
        ids = [a.id for a in acts]
        if len(set(ids)) != len(ids):
            dup = sorted({i for i in ids if ids.count(i) > 1})
            raise ValidationError(f"activities {dup} appear more than once in the import")
        existing = set(self.view.activities)
        removed = sorted(existing - set(ids)) if replace else []
        with self.ts.transaction():
            self.ts.put_activities(acts)
            for aid in removed:
                self.ts.delete_activity(aid)
        self._invalidate()
        created = sum(1 for i in ids if i not in existing)
        return {"created": created, "updated": len(ids) - created, "removed": len(removed)}

    # ---------------------------------------------------------------- classes
    def classes(self) -> list[dict]:
        return [{"id": c.id, "name": c.name, "grade": c.grade, "model": type(c.model).tag,
                 "teachers": list(c.teachers), "size": len(c.roster)}
                for c in sorted(self.view.classes.values(), key=lambda c: c.name)]

    def get_class(self, class_id: str):
        c = self.view.classes.get(class_id)
        if c is None:
            raise NotFoundError(f"class {class_id!r} is not in tenant {self.tenant!r}")
        return c

    def class_detail(self, class_id: str) -> dict:
        from engine.domain.serialize import to_record

        c = self.get_class(class_id)
        learners = self.view.learners
        roster = [{"id": lid, "name": learners[lid].name if lid in learners else lid,
                   "grade": learners[lid].grade if lid in learners else ""} for lid in c.roster]
        return {"id": c.id, "name": c.name, "grade": c.grade, "model": type(c.model).tag,
                "teachers": list(c.teachers), "size": len(c.roster), "roster": roster,
                "settings": to_record(c.model)}

    def class_of(self, learner_id: str):
        for c in self.view.classes.values():
            if learner_id in c.roster:
                return c
        return None

    # ---------------------------------------------------------------- plans
    def _planning_input(self):
        inp = self.view.planning_input()
        if inp is None:
            raise NotFoundError(f"tenant {self.tenant!r} has no competency graph; import one first")
        return inp

    def _playlist(self, learner_id: str, *, class_id=None, budget_min=None, pins=(), removes=(),
                  validate: bool = True):
        """Plan one learner's playlist. ``validate``: unknown pins/removes are 404 (API input);
        otherwise (regeneration) ids no longer in the catalog, e.g. mini-lessons, are skipped."""
        learner = self._learner(learner_id)
        cls = self.get_class(class_id) if class_id else self.class_of(learner_id)
        if cls is not None and learner_id not in cls.roster:
            raise ValidationError(f"learner {learner_id!r} is not on class {cls.id!r}'s roster")
        if validate:
            for aid in list(pins) + list(removes):
                self._activity(aid)
        else:
            known = self.view.activities
            pins = [a for a in pins if a in known]
            removes = [a for a in removes if a in known]
        inp = self._planning_input()
        items, conflicts, meta = planning.plan_playlist_for(
            inp, learner, self.ts.get_mastery(learner_id), cls, budget_min=budget_min,
            pins=pins, removes=removes)
        body = {"planner": meta, "class_id": cls.id if cls else None}
        return items, conflicts, body

    def generate_playlist(self, learner_id: str, *, budget_min=None, pins=(), removes=(), class_id=None,
                          audit=None):
        """Plan (outside any transaction), then store the plan and ``audit(plan)`` together."""
        items, conflicts, body = self._playlist(learner_id, class_id=class_id, budget_min=budget_min,
                                                pins=pins, removes=removes)
        plan = review.new_plan("playlist", learner_id, items=items, body=body, conflicts=conflicts,
                               pins=pins, removes=removes)
        with self.ts.transaction():
            self.save_plan(plan, new=True)
            if audit is not None:
                audit(plan)
        return plan

    def generate_class_plan(self, class_id: str, *, keep_apart=(), keep_together=(), session=None,
                            audit=None):
        """A class plan; learners without an open playlist also get one (same planner run).
        Plans outside any transaction; stores everything and ``audit(plan)`` in one."""
        cls = self.get_class(class_id)
        body, conflicts, playlists = _engine_class_plan(self, cls, keep_apart=keep_apart,
                                                        keep_together=keep_together, session=session)
        plan = review.new_plan("class", class_id, body=body, conflicts=conflicts)
        new_playlists = []
        for lid, (items, confl, meta) in playlists.items():
            if self.latest_plan(learner_id=lid, kind="playlist", open_only=True) is None:
                new_playlists.append(review.new_plan("playlist", lid, items=items, conflicts=confl,
                                                     body={"planner": meta, "class_id": class_id}))
        with self.ts.transaction():
            self.save_plan(plan, new=True)
            for pl in new_playlists:
                self.save_plan(pl, new=True)
            if audit is not None:
                audit(plan)
        return plan

    def regenerate_plan(self, plan, actor: str, *, expected_version: int | None = None, audit=None):
        """Re-plan (outside any transaction), then store and ``audit(event)`` together."""
        if plan.kind == "playlist":
            items, conflicts, body = self._playlist(plan.subject, class_id=plan.body.get("class_id"),
                                                    pins=plan.pins, removes=plan.removes, validate=False)
            updated, event = review.regenerate(plan, actor, items=items, body=body, conflicts=conflicts)
        else:
            cls = self.get_class(plan.subject)
            body, conflicts, _playlists = _engine_class_plan(self, cls)
            updated, event = review.regenerate(plan, actor, body=body, conflicts=conflicts)
        with self.ts.transaction():
            self.save_plan(updated, expected_version=expected_version)
            if audit is not None:
                audit(event)
        return updated, event

    def why_not(self, learner_id: str, activity_id: str, *, budget_min=None) -> dict:
        learner = self._learner(learner_id)
        self._activity(activity_id)
        cls = self.class_of(learner_id)
        latest = self.latest_plan(learner_id=learner_id, kind="playlist", open_only=True)
        known = self.view.activities
        pins = [a for a in (latest.pins if latest else ()) if a in known and a != activity_id]
        removes = [a for a in (latest.removes if latest else ()) if a in known and a != activity_id]
        return planning.why_not_for(self._planning_input(), learner, self.ts.get_mastery(learner_id), cls,
                                    activity_id, budget_min=budget_min, pins=pins, removes=removes)

    def plan_item_for(self, activity_id: str):
        act = self._activity(activity_id)
        return review.PlanItem(activity_id=act.id, title=act.title, minutes=float(act.duration_min),
                               skills=tuple(act.skill_ids), reason="Added by your teacher.",
                               details={"basis": "teacher", "modality": _value(act.modality)},
                               added_by="teacher")

    def save_plan(self, plan, *, new: bool = False, expected_version: int | None = None) -> None:
        """Store a plan; ``expected_version`` (the document version read) guards against
        lost updates: a concurrent change makes this a ConflictError (409)."""
        rec = plan.to_record()
        rec["learner_id"] = plan.subject if plan.kind == "playlist" else None
        rec["class_id"] = plan.subject if plan.kind == "class" else plan.body.get("class_id")
        self.ts.put_document(PLAN_KIND, plan.plan_id, rec,
                             expected_version=0 if new else expected_version)

    def get_plan(self, plan_id: str):
        return self.get_plan_versioned(plan_id)[0]

    def get_plan_versioned(self, plan_id: str):
        """(plan, stored document version)."""
        doc = self.ts.get_document(PLAN_KIND, plan_id)
        return review.ReviewedPlan.from_record(doc.payload), doc.version

    def list_plans(self, *, learner_id=None, class_id=None, status=None, kind=None) -> list:
        filters = {}
        if learner_id is not None:
            filters["learner_id"] = learner_id
        if class_id is not None:
            filters["class_id"] = class_id
        if status is not None:
            filters["status"] = status
        plans = [review.ReviewedPlan.from_record(d.payload)
                 for d in self.ts.list_documents(PLAN_KIND, newest_first=True, **filters)]
        if kind is not None:
            plans = [p for p in plans if p.kind == kind]
        return plans

    def latest_plan(self, *, learner_id=None, class_id=None, kind=None, open_only=False):
        """Newest plan that is still open (not rejected/done), else the newest at all."""
        plans = self.list_plans(learner_id=learner_id, class_id=class_id, kind=kind)
        open_plans = [p for p in plans if p.status not in ("rejected", "done")]
        if open_only:
            return open_plans[0] if open_plans else None
        plans = open_plans or plans
        return plans[0] if plans else None

    # ---------------------------------------------------------------- models
    def model_versions(self) -> list[dict]:
        out = []
        for version, _created, _meta in self.ts.list_models():
            out.append(self.model_version(version))
        return out

    def model_version(self, version: int) -> dict:
        mv = self.ts.get_model(version)
        if mv is None:
            raise NotFoundError(f"model version {version} is not stored")
        return {"version": mv.version, "created_at": _iso(mv.created_at), "params": mv.params, "meta": mv.meta}

    def save_model(self, params: Mapping[str, Mapping[str, float]], meta: Mapping) -> int:
        mv = self.ts.put_model(params, meta)
        self._invalidate()
        return mv.version


def _value(x):
    return getattr(x, "value", x)


# ==================================================================== engine adapters
# The engine's ingest/retract/class-plan entry points are called only here.


def _engine_ingest(tb: TenantBackend, observations: list) -> tuple[int, int, int]:
    result = tb.engine.ingest(observations)
    return result.accepted, result.duplicates, len(result.changes)


def _engine_retract(tb: TenantBackend, observation_ids: list[str]) -> None:
    tb.engine.retract(observation_ids)


def _engine_class_plan(tb: TenantBackend, cls, *, keep_apart=(), keep_together=(), session=None):
    """(body, conflicts, playlists) from planner.classplan for the class's blended model."""
    inp = tb._planning_input()
    learners = [tb.view.learners[lid] for lid in cls.roster if lid in tb.view.learners]
    mastery = tb.ts.get_mastery_many([lr.id for lr in learners])
    return planning.plan_class_session(inp, cls, learners, mastery, keep_apart=keep_apart,
                                       keep_together=keep_together, session=session)
