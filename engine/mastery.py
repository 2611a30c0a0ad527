"""Evidence → mastery: validate a batch of observations and fold it into each learner's model
state, in one transaction.

Model. Each learner carries one state of the tenant's runtime model
(:class:`engine.runtime.RuntimeModel`: the active fitted kt model, plus BKT with
:data:`DEFAULT_PARAMS` for skills it does not cover). The state is a **fold over the
learner's evidence in time order** (:mod:`engine.fold`): by ``observed_at``, and observations
with equal times in arrival order. Each observation is one ``update_one`` call with all its
skills, its item and its score in [0, 1]; partial credit is soft evidence, never rounded (for
BKT ``P(obs | mastered) = s (1 - p_slip) + (1 - s) p_slip``,
``P(obs | not) = s p_guess + (1 - s) (1 - p_guess)``). Stored per learner: the model state
with the model it belongs to (``learner_states``); per (learner, skill) the current mastery
``model.mastery(state, skill)``, the observation count, ``updated_at`` (the newest
``observed_at``, never set back by old evidence) and the latest observation in time order;
and one history row (:class:`MasteryChange`) per (observation, skill), in fold order.

Time order. Evidence no older than the learner's latest is folded onto the stored state (the
common case: O(1) per observation). Older evidence ("late" evidence) is inserted at its place:
for a plain BKT (each skill its own filter; :mod:`engine.fold_rows`) only the chains of the
skills it names after its time are recomputed and their history rows updated in place
(O(those rows)); for other models the learner is refolded from the first changed position
(:mod:`engine.fold`, O(learner's evidence)). A retraction, or a stored state made by another
model (a new active version, or skills added to the runtime model), refolds the learner from
their whole evidence; history rows from the first changed position on are rewritten. So the final state, mastery rows and
history equal what in-order arrival gives, whatever order batches arrive in. For models other
than BKT (Elo, PFA, ...) evidence on one skill can move the mastery of the learner's other
skills; their mastery rows are recomputed from the state after every ingest, and history
keeps only the skills an observation names.

Guarantees of :func:`ingest`:

* ids, scores and sources are validated before anything is written; an unknown learner,
  skill or activity raises :class:`NotFoundError` naming it;
* the same observation id with the same payload counts once (a *duplicate*, inside one batch
  or against what is stored); with a different payload it raises :class:`ConflictError`;
* the whole batch is one transaction: a failed batch writes nothing; concurrent ingests of
  one learner serialise (``store.lock_learners``: SQLite's write lock, PostgreSQL advisory
  locks).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine import fold_store
from engine.domain.evidence import MasteryChange, Observation, format_timestamp
from engine.errors import ConflictError, NotFoundError, ValidationError
from engine.runtime import DEFAULT_PARAMS, RuntimeModel
from engine.store.sqlstore import TenantStore
from kt.bkt.params import SkillParams

__all__ = [
    "DEFAULT_PARAMS", "IngestResult", "ModelParams", "RuntimeSource", "coerce_observations",
    "ingest", "recompute", "retract",
]

_MAX_NAMED = 5

#: ``runtime(skill_ids)`` -> the tenant's runtime model, covering at least those skills.
RuntimeSource = Callable[[Iterable[str]], RuntimeModel]

@dataclass(frozen=True, slots=True)
class IngestResult:
    """Outcome of one ingest call.

    ``accepted`` new observations were stored; ``duplicates`` were already stored (or repeated
    in the batch) with an identical payload and were skipped. ``changes`` lists the mastery
    changes of the accepted observations (one per observation and skill), each learner's in
    fold order. ``refolded`` names learners recomputed from their whole evidence (late
    evidence or a state of another model); their later history rows were rewritten too.
    """

    accepted: int
    duplicates: int
    changes: tuple[MasteryChange, ...]
    accepted_ids: tuple[str, ...]
    duplicate_ids: tuple[str, ...]
    refolded: tuple[str, ...] = ()


class ModelParams:
    """Per-skill BKT parameters with a default for skills the model does not cover.

    ``params`` maps skill id → :class:`kt.bkt.params.SkillParams` (or a dict of the five
    ``p_*`` values); ``version`` is the model version (0 = defaults only).
    """

    def __init__(
        self,
        params: Mapping[str, Any] | None = None,
        default: SkillParams = DEFAULT_PARAMS,
        version: int = 0,
    ) -> None:
        self.default = default
        self.version = version
        self._params: dict[str, SkillParams] = {}
        for skill, value in (params or {}).items():
            self._params[skill] = value if isinstance(value, SkillParams) else SkillParams(**value)

    def __getitem__(self, skill_id: str) -> SkillParams:
        return self._params.get(skill_id, self.default)

    def __contains__(self, skill_id: str) -> bool:
        return skill_id in self._params

    def skills(self) -> tuple[str, ...]:
        return tuple(self._params)

    def as_dicts(self) -> dict[str, dict[str, float]]:
        """``skill -> {p_init, p_learn, p_forget, p_guess, p_slip}`` of the covered skills."""
        return {s: p.as_dict() for s, p in self._params.items()}


def coerce_observations(items: Iterable[Observation | Mapping[str, Any]]) -> list[Observation]:
    """Observations as :class:`Observation` objects; dicts go through ``from_record``.

    A bad item raises :class:`ValidationError` naming its position in the batch.
    """
    out: list[Observation] = []
    for index, item in enumerate(items):
        if isinstance(item, Observation):
            out.append(item)
            continue
        if not isinstance(item, Mapping):
            raise ValidationError(
                f"batch item {index} is a {type(item).__name__}, not an observation; send "
                "Observation objects or dicts with observation_id, learner_id, activity_id, "
                "skill_ids, score, observed_at, source"
            )
        try:
            out.append(Observation.from_record(item))
        except ValidationError as exc:
            raise ValidationError(f"batch item {index}: {exc}") from None
    return out


def _name_missing(kind: str, missing: Sequence[str]) -> str:
    shown = ", ".join(repr(m) for m in missing[:_MAX_NAMED])
    more = f" and {len(missing) - _MAX_NAMED} more" if len(missing) > _MAX_NAMED else ""
    return f"unknown {kind} {shown}{more}"




def _unique(batch: Sequence[Observation]) -> tuple[dict[str, Observation], list[str]]:
    """First occurrence of each id and the ids repeated with an identical payload."""
    unique: dict[str, Observation] = {}
    duplicate_ids: list[str] = []
    for obs in batch:
        seen = unique.get(obs.observation_id)
        if seen is None:
            unique[obs.observation_id] = obs
        elif seen.payload() == obs.payload():
            duplicate_ids.append(obs.observation_id)
        else:
            raise ConflictError(
                f"observation {obs.observation_id!r} appears twice in the batch with different "
                "payloads; give each observation its own id"
            )
    return unique, duplicate_ids


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """A batch checked and made ready without the store (:func:`prepare_batch`): the first
    occurrence of each id in batch order, the ids repeated in it with the same payload, and
    each kept observation's stored ``observed_at`` text."""

    unique: Mapping[str, Observation]
    duplicate_ids: tuple[str, ...]
    times: Mapping[str, str]


def prepare_batch(observations: Iterable[Observation | Mapping[str, Any]]) -> PreparedBatch:
    """The pure part of :func:`ingest`, which needs neither the store nor its write lock:
    coerce and check the items, drop repeats within the batch, format the timestamps.
    Raises ``ValidationError`` or ``ConflictError`` (an id repeated with another payload)."""
    unique, duplicate_ids = _unique(coerce_observations(observations))
    times = {oid: format_timestamp(o.observed_at) for oid, o in unique.items()}
    return PreparedBatch(unique, tuple(duplicate_ids), times)


def ingest(
    store: TenantStore,
    observations: PreparedBatch | Iterable[Observation | Mapping[str, Any]],
    runtime: RuntimeSource,
    *,
    check_references: bool = True,
    then: Callable[[IngestResult], None] | None = None,
) -> IngestResult:
    """Validate a batch and fold it into the learners' states in one transaction.

    See the module docstring for the model and the guarantees. ``observations`` may be a
    :class:`PreparedBatch` (:func:`prepare_batch`, done before a transaction that may hold the
    lock). ``runtime(skill_ids)`` gives the tenant's runtime model (called inside the
    transaction, after the learner locks).
    ``check_references=False`` skips the learner/skill/activity existence checks (only for
    trusted bulk loads). ``then(result)`` runs in the transaction after the fold (a caller's
    audit entry), so callers need no outer transaction taking the lock before the pure work.
    """
    ready = observations if isinstance(observations, PreparedBatch) else prepare_batch(observations)
    unique, duplicate_ids, times = ready.unique, list(ready.duplicate_ids), ready.times
    if not unique:
        empty = IngestResult(0, len(duplicate_ids), (), (), tuple(duplicate_ids))
        if then is not None:
            with store.transaction():
                then(empty)
        return empty

    with store.transaction():
        store.lock_learners({o.learner_id for o in unique.values()})
        fresh = _not_stored(store, unique, duplicate_ids)
        if check_references and fresh:
            _check_references(store, fresh)
        changes: list[MasteryChange] = []
        refolded: list[str] = []
        if fresh:
            model = runtime({s for o in fresh for s in o.skill_ids})
            changes, refolded = fold_store.fold_batch(store, model, fresh, times=times)
        result = IngestResult(
            accepted=len(fresh),
            duplicates=len(duplicate_ids),
            changes=tuple(changes),
            accepted_ids=tuple(o.observation_id for o in fresh),
            duplicate_ids=tuple(duplicate_ids),
            refolded=tuple(refolded),
        )
        if then is not None:
            then(result)
    return result


def _not_stored(store: TenantStore, unique: Mapping[str, Observation],
                duplicate_ids: list[str]) -> list[Observation]:
    """The observations of ``unique`` not stored yet, in order; the ids stored with the same
    payload are appended to ``duplicate_ids``. ConflictError for an id stored with another."""
    stored = store.observation_payloads(unique)
    fresh: list[Observation] = []
    for obs_id, obs in unique.items():
        previous = stored.get(obs_id)
        if previous is None:
            fresh.append(obs)
        elif previous == obs.payload():
            duplicate_ids.append(obs_id)
        else:
            raise ConflictError(
                f"observation {obs_id!r} is already stored with a different payload "
                f"(stored learner/activity/skills/score/time/source {previous!r}); an "
                "observation id may not be reused — send new evidence with a new id"
            )
    return fresh


def _check_references(store: TenantStore, fresh: Sequence[Observation]) -> None:
    missing = store.missing_references(
        (o.learner_id for o in fresh),
        (o.activity_id for o in fresh),
        (s for o in fresh for s in o.skill_ids),
    )
    for kind, unknown in missing.items():
        if unknown:
            raise NotFoundError(
                f"{_name_missing(kind, unknown)} in tenant {store.tenant_id!r}; load the "
                f"{kind} first (or fix the observation) — nothing of this batch was written"
            )


def retract(store: TenantStore, observation_ids: Iterable[str], runtime: RuntimeSource) -> int:
    """Remove observations (e.g. voided xAPI statements) and refold the learners they belong
    to from their remaining evidence (mastery, history and state as if the removed evidence
    had never arrived). One transaction; unknown ids raise :class:`NotFoundError` naming them.
    Returns how many observations were removed.
    """
    ids = list(dict.fromkeys(observation_ids))
    if not ids:
        return 0
    with store.transaction():
        _existing_or_raise(store, ids)
        learners = sorted({store.get_observation(i).learner_id for i in ids})
        store.lock_learners(learners)
        fold_store.refold_learners(store, runtime(()), learners, removed=frozenset(ids))
        store.delete_observations(ids)
    return len(ids)


def recompute(
    store: TenantStore,
    runtime: RuntimeSource,
    *,
    only_stale: bool = False,
    progress: Callable[[int, int], None] | None = None,
    chunk: int = 200,
) -> int:
    """Refold learners from their whole evidence with the current runtime model: everyone
    with evidence, or with ``only_stale`` those whose stored state belongs to another model.
    One transaction per ``chunk`` learners; ``progress(done, total)`` after each. Returns the
    number of learners refolded."""
    model = runtime(())
    learners = store.stale_learners(model.key) if only_stale else store.evidence_learners()
    total = len(learners)
    if progress is not None:
        progress(0, total)
    for start in range(0, total, chunk):
        part = learners[start : start + chunk]
        with store.transaction():
            store.lock_learners(part)
            fold_store.refold_learners(store, runtime(()), part, full=True)
        if progress is not None:
            progress(min(total, start + chunk), total)
    return total


def _existing_or_raise(store: TenantStore, ids: list[str]) -> list[str]:
    stored = store.observation_payloads(ids)
    missing = [i for i in ids if i not in stored]
    if missing:
        raise NotFoundError(
            f"{_name_missing('observation', missing)} in tenant {store.tenant_id!r}; "
            "nothing was retracted"
        )
    return ids
