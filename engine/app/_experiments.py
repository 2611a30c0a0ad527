"""Use cases of experiments (a part of ``SchoolApp``): an admin registers a comparison
(immutable from then on), starts it (every learner of its classes is assigned an arm, stored)
and stops it; teachers read the experiments that touch their classes, their learners' arms and
the report. The planner hook (:meth:`_experiment_arm`) gives the arm of a learner in a running
experiment, assigning a late joiner once, so :mod:`engine.app._plans` can apply it.

Stored as documents: ``experiment`` (id = experiment id; the registered design, status and
times, the class arms under class randomisation) and ``experiment_arm`` (id =
``EXPERIMENT/LEARNER``, ``parent_id`` = experiment, ``learner_id`` indexed, so erasing a
learner erases their assignment).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from engine.access import Caller
from engine.errors import ConflictError, NotFoundError, ValidationError
from engine.experiment import analysis, assignment, report, sequential
from engine.experiment.design import Arm, Design, design_from_dict
from engine.experiment.outcome import Outcome, learner_values

KIND, ARM_KIND = "experiment", "experiment_arm"
_SINGULAR = {"learners": "learner", "classes": "class"}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _reachable(design: Design, units: list) -> list[str]:
    """Warnings when the classes cannot supply the planned sample (the report would wait)."""
    if design.unit == "class":
        have, need, what = len({u.class_id for u in units}), 2 * design.sample.clusters_per_arm, "classes"
    else:
        have, need, what = len(units), 2 * design.sample.n_per_arm, "learners"
    if have >= need:
        return []
    return [f"the experiment's classes hold {have} {what} and the planned sample needs {need}: the report "
            "will be refused until late joiners make up the difference"]


class ExperimentUseCases:
    # ---------------------------------------------------------------- admin
    def create_experiment(self, by: Caller, body: dict) -> dict:
        """Register a design (see :func:`engine.experiment.design.design_from_dict`); the id
        must be new. Classes and target skills must exist. Returns the stored experiment."""
        self.allow(by, "policy:write")
        design = design_from_dict(body)
        for cid in design.class_ids:
            self._class(cid)
        graph = self._graph()
        unknown = [k for k in design.target_skills if k not in graph]
        if unknown:
            raise NotFoundError(f"target_skills: {unknown} are not skills of the competency graph")
        doc = {**design.to_dict(), "status": "registered", "registered_at": _now(),
               "registered_by": by.principal.key_id, "class_arms": {}}
        with self.store.transaction():
            try:
                self.store.put_document(KIND, design.id, doc, expected_version=0)
            except ConflictError:
                raise ConflictError(f"experiment {design.id!r} is already registered and registrations are "
                                    "immutable; register the new design under a new id") from None
            self._audit(by, "write", "experiment", resource_id=design.id, detail={"op": "register"})
        return self._public(doc)

    def start_experiment(self, by: Caller, experiment_id: str) -> dict:
        """Assign every learner of the experiment's classes (stratified, seeded; stored) and
        mark it running. A learner may be in one running experiment at a time."""
        self.allow(by, "policy:write")
        doc, version = self._experiment_doc(experiment_id)
        if doc["status"] != "registered":
            raise ConflictError(f"experiment {experiment_id!r} is {doc['status']}; only a registered one starts")
        design = design_from_dict(doc)
        units = self._units(design)
        if len(units) < 2:
            raise ConflictError(f"experiment {experiment_id!r} has {len(units)} learners in its classes; "
                                "it needs at least 2 (check class_ids)")
        taken = self._running_learners()
        clash = sorted({taken[u.learner_id] for u in units if u.learner_id in taken})
        if clash:
            raise ConflictError(f"learners of experiment {experiment_id!r} are already in running experiment(s) "
                                f"{clash}; stop those first or choose other classes")
        arms = assignment.assign(design, units)
        class_arms = {u.class_id: arms[u.learner_id] for u in units} if design.unit == "class" else {}
        now = _now()
        with self.store.transaction():
            for u in units:
                self.store.put_document(ARM_KIND, f"{design.id}/{u.learner_id}", {
                    "parent_id": design.id, "learner_id": u.learner_id, "class_id": u.class_id,
                    "arm": arms[u.learner_id], "assigned_at": now, "how": "start"})
            self.store.put_document(KIND, design.id, {**doc, "status": "running", "started_at": now,
                                                      "class_arms": class_arms}, expected_version=version)
            self._audit(by, "write", "experiment", resource_id=design.id,
                        detail={"op": "start", "learners": len(units)})
        return {**self._public(self.store.get_document(KIND, design.id).payload),
                "warnings": _reachable(design, units)}

    def stop_experiment(self, by: Caller, experiment_id: str) -> dict:
        """Stop a running experiment: the engine plans every learner as usual again."""
        self.allow(by, "policy:write")
        doc, version = self._experiment_doc(experiment_id)
        if doc["status"] != "running":
            raise ConflictError(f"experiment {experiment_id!r} is {doc['status']}; only a running one stops")
        doc = {**doc, "status": "stopped", "stopped_at": _now()}
        with self.store.transaction():
            self.store.put_document(KIND, experiment_id, doc, expected_version=version)
            self._audit(by, "write", "experiment", resource_id=experiment_id, detail={"op": "stop"})
        return self._public(doc)

    # ---------------------------------------------------------------- reading
    def list_experiments(self, by: Caller) -> list[dict]:
        """Every experiment (admin) or those touching the teacher's classes."""
        self.allow(by, "class:read")
        docs = [d.payload for d in self.store.list_documents(KIND)]
        out = [self._public(d) for d in docs if self._visible(by, d)]
        self._read(by, "experiment.list", detail={"n": len(out)})
        return out

    def get_experiment(self, by: Caller, experiment_id: str) -> dict:
        """The experiment with learners per arm (and the planned sample's shortfall, counted on
        learners with any arm; outcomes are counted by the report)."""
        doc = self._readable(by, experiment_id)
        arms = self._arm_docs(experiment_id)
        counts: dict[str, int] = {a["name"]: 0 for a in doc["arms"]}
        for a in arms:
            counts[a["arm"]] = counts.get(a["arm"], 0) + 1
        self._read(by, "experiment", resource_id=experiment_id)
        return {**self._public(doc), "learners_per_arm": counts}

    def experiment_assignment(self, by: Caller, experiment_id: str) -> list[dict]:
        """``[{learner_id, class_id, arm, how}]``: every assignment (admin) or those of the
        teacher's classes."""
        self._readable(by, experiment_id)
        scope = self.scope(by)
        rows = [{k: a[k] for k in ("learner_id", "class_id", "arm", "how")} for a in self._arm_docs(experiment_id)
                if scope is None or a["learner_id"] in scope.learner_ids]
        self._read(by, "experiment.assignment", resource_id=experiment_id, detail={"n": len(rows)})
        return rows

    def experiment_report(self, by: Caller, experiment_id: str, *, interim: bool = False,
                          today: datetime | None = None) -> dict:
        """The report (``engine.experiment.report.build`` + ``markdown``). Refused (conflict)
        before the start, while the registered window is still open and the experiment runs,
        and until the planned sample has an outcome — naming how many more are needed.
        ``interim`` (admin, running experiments): a flagged interim look instead, recorded, at
        its alpha-spending level (:mod:`engine.experiment.sequential`); the final analysis then
        uses the remaining alpha."""
        if interim:
            return self._interim_report(by, experiment_id)
        doc = self._readable(by, experiment_id)
        design = design_from_dict(doc)
        self._check_reportable(doc, design, today or datetime.now(UTC))
        outcomes, missing = self._outcomes(design)
        short = analysis.shortfall(design, outcomes)
        if short:
            need = "; ".join(f"arm {arm}: {n} more {what if n != 1 else _SINGULAR[what]}"
                             for arm, d in short.items() for what, n in d.items())
            raise ConflictError(f"experiment {experiment_id!r} has not reached its planned sample "
                                f"({need} with an outcome); the report is refused until then")
        looks = [lk["fraction"] for lk in doc.get("looks", [])]
        seq = None
        if looks:
            c = sequential.boundaries([*looks, 1.0], design.sample.alpha)[-1]
            seq = {"interim": False, "looks": len(looks), "fractions": looks, "boundary_z": round(c, 4),
                   "nominal_alpha": sequential.level(c)}
        out = report.build(design, outcomes, missing=missing, status=doc["status"], sequential=seq)
        out["markdown"] = report.markdown(out)
        self._read(by, "experiment.report", resource_id=experiment_id)
        return out

    def _interim_report(self, by: Caller, experiment_id: str) -> dict:
        self.allow(by, "policy:write")  # a look spends alpha: the admin decides to take one
        doc, version = self._experiment_doc(experiment_id)
        design = design_from_dict(doc)
        if doc["status"] != "running":
            raise ConflictError(f"experiment {experiment_id!r} is {doc['status']}; interim looks are taken "
                                "while it runs (a stopped experiment gets its final report)")
        outcomes, missing = self._outcomes(design)
        t = analysis.information_fraction(design, outcomes)
        if t >= 1.0:
            raise ConflictError(f"experiment {experiment_id!r} has its planned sample: the next report is the "
                                "final one (stop the experiment or wait for its end)")
        if analysis.too_few(design, outcomes):
            raise ConflictError(f"experiment {experiment_id!r}: an interim look needs at least 2 "
                                f"{'classes' if design.unit == 'class' else 'learners'} with an outcome per arm")
        looks = list(doc.get("looks", []))
        if not looks or t > looks[-1]["fraction"]:
            looks.append({"fraction": round(t, 4), "at": _now()})
            with self.store.transaction():
                self.store.put_document(KIND, experiment_id, {**doc, "looks": looks}, expected_version=version)
                self._audit(by, "write", "experiment", resource_id=experiment_id,
                            detail={"op": "interim_look", "look": len(looks), "fraction": round(t, 4)})
        c = sequential.boundaries([lk["fraction"] for lk in looks], design.sample.alpha)[-1]
        seq = {"interim": True, "look": len(looks), "fraction": looks[-1]["fraction"], "boundary_z": round(c, 4),
               "nominal_alpha": sequential.level(c)}
        out = report.build(design, outcomes, missing=missing, status=doc["status"], sequential=seq)
        out["markdown"] = report.markdown(out)
        return out

    # ---------------------------------------------------------------- the teacher's own sequence
    def teacher_playlist(self, by: Caller, learner_id: str, activity_ids: list[str]):
        """The teacher's own sequence for a learner (e.g. the teacher arm of an experiment,
        where the engine does not generate): a playlist of the given catalog activities in
        order, approved by the teacher at once, so it is what the learner follows."""
        from engine import review

        self.allow(by, "plan:review", learner_id=learner_id)
        self._learner(learner_id)
        if not activity_ids or len(set(activity_ids)) != len(activity_ids):
            raise ValidationError("activity_ids: give one or more different catalog activities, in order")
        items = []
        for aid in activity_ids:
            act = self._activity(aid)
            items.append(review.PlanItem(
                activity_id=act.id, title=act.title, minutes=float(act.duration_min), skills=tuple(act.skill_ids),
                reason="Chosen by your teacher.", added_by="teacher",
                details={"basis": "teacher", "modality": getattr(act.modality, "value", act.modality)}))
        arm = self._experiment_arm(learner_id)
        cls = self._class_of(learner_id)
        body = {"planner": {"solver": "teacher"}, "class_id": cls.id if cls else None}
        if arm is not None:
            body["experiment_arm"] = arm.name
        plan, _event = review.approve(review.new_plan("playlist", learner_id, items=items, body=body),
                                      by.principal.key_id)
        with self.store.transaction():
            self._save_plan(plan, new=True)
            self._audit(by, "write", "plan", learner_id=learner_id, resource_id=plan.plan_id,
                        detail={"op": "teacher_sequence", "items": len(items)})
        return plan

    # ---------------------------------------------------------------- the planner hook
    def _experiment_arm(self, learner_id: str) -> Arm | None:
        """The arm of ``learner_id`` in a running experiment whose classes they are in (a late
        joiner is assigned now, once, and stored), else None. Read by the playlist planning."""
        for d in self.store.list_documents(KIND, status="running"):
            doc = d.payload
            try:
                row = self.store.get_document(ARM_KIND, f"{doc['id']}/{learner_id}").payload
            except NotFoundError:
                row = self._assign_late(doc, learner_id)
            if row is not None:
                return design_from_dict(doc).arm(row["arm"])
        return None

    def _assign_late(self, doc: dict, learner_id: str) -> dict | None:
        design = design_from_dict(doc)
        units = [u for u in self._units(design) if u.learner_id == learner_id]
        if not units:
            return None
        cid = units[0].class_id
        row = {"parent_id": design.id, "learner_id": learner_id, "class_id": cid,
               "arm": assignment.late_arm(design, learner_id, doc.get("class_arms", {}).get(cid)),
               "assigned_at": _now(), "how": "late"}
        try:
            self.store.put_document(ARM_KIND, f"{design.id}/{learner_id}", row, expected_version=0)
        except ConflictError:  # assigned concurrently: the stored arm wins
            return self.store.get_document(ARM_KIND, f"{design.id}/{learner_id}").payload
        return row

    # ---------------------------------------------------------------- helpers
    def _experiment_doc(self, experiment_id: str) -> tuple[dict, int]:
        doc = self.store.get_document(KIND, experiment_id)
        return doc.payload, doc.version

    def _readable(self, by: Caller, experiment_id: str) -> dict:
        self.allow(by, "class:read")
        doc, _v = self._experiment_doc(experiment_id)
        if not self._visible(by, doc):
            raise NotFoundError(f"experiment {experiment_id!r} does not touch your classes")
        return doc

    def _visible(self, by: Caller, doc: dict) -> bool:
        scope = self.scope(by)
        if scope is None:
            return True
        classes = set(doc.get("class_ids") or self.view.classes)
        return bool(classes & scope.class_ids)

    def _units(self, design: Design) -> list[assignment.Unit]:
        """Learners of the experiment's classes (all classes when none are named), each once,
        in their first class by id."""
        ids = sorted(design.class_ids or self.view.classes)
        seen: dict[str, assignment.Unit] = {}
        for cid in ids:
            cls = self.view.classes.get(cid)
            if cls is None:
                continue
            for lid in cls.roster:
                learner = self.view.learners.get(lid)
                if learner is not None and lid not in seen:
                    seen[lid] = assignment.Unit(lid, cid, str(getattr(learner, "grade", "") or cls.grade))
        return list(seen.values())

    def _running_learners(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for d in self.store.list_documents(KIND, status="running"):
            for a in self._arm_docs(d.doc_id):
                out[a["learner_id"]] = d.doc_id
        return out

    def _arm_docs(self, experiment_id: str) -> list[dict]:
        return [d.payload for d in self.store.list_documents(ARM_KIND, parent_id=experiment_id)]

    @staticmethod
    def _check_reportable(doc: dict, design: Design, now: datetime) -> None:
        if doc["status"] == "registered":
            raise ConflictError(f"experiment {design.id!r} has not started; there is nothing to report")
        if doc["status"] == "running" and now.date() <= design.end:
            raise ConflictError(f"experiment {design.id!r} runs until {design.end.isoformat()} as registered; "
                                "stop it or wait for the end before reporting (no interim looks)")

    def _outcomes(self, design: Design) -> tuple[list[Outcome], dict[str, int]]:
        """Each assigned learner's outcome from their history; ``missing``: learners per arm
        without target-skill evidence in the window."""
        params = self.engine.skill_params()
        prior = {k: float(params[k].p_init) if k in params else 0.0 for k in design.target_skills}
        minutes = {a.id: float(a.duration_min) for a in self.view.activities.values()}
        outcomes, missing = [], {a.name: 0 for a in design.arms}
        for row in self._arm_docs(design.id):
            lid = row["learner_id"]
            values = learner_values(self.store.list_history(lid), self.store.list_observations(lid),
                                    design.target_skills, design.start, design.end, prior=prior, minutes=minutes)
            if values is None:
                missing[row["arm"]] = missing.get(row["arm"], 0) + 1
            else:
                outcomes.append(Outcome(lid, row["class_id"], row["arm"], values))
        return outcomes, missing

    @staticmethod
    def _public(doc: dict) -> dict[str, Any]:
        return {k: v for k, v in doc.items() if k != "class_arms"}

