"""Evidence → mastery: validate a batch of observations and update mastery in one transaction.

Model. Each (learner, skill) carries P(mastered). An observation with score ``s`` in [0, 1]
updates every skill it names with kt's O(1) online BKT step
(:func:`kt.bkt.online.step`) using that skill's parameters from the tenant's latest fitted
model (:data:`DEFAULT_PARAMS` when the tenant has no model or the model lacks the skill).
Partial credit is **virtual (soft) evidence**: the observation's likelihood is
``P(obs | mastered) = s (1 - p_slip) + (1 - s) p_slip`` and
``P(obs | not mastered) = s p_guess + (1 - s) (1 - p_guess)``; at s = 0 or 1 this is
exactly standard BKT, and in between the score moves the posterior proportionally instead of
being rounded to right/wrong. The learn/forget transition follows each update. A skill's
first observation starts from ``p_init``. Observations are applied in the order given
(within a batch) and in arrival order across batches.

Guarantees of :func:`ingest`:

* ids, scores and sources are validated before anything is written; an unknown learner,
  skill or activity raises :class:`NotFoundError` naming it;
* the same observation id with the same payload counts once (a *duplicate*, inside one batch
  or against what is stored); with a different payload it raises :class:`ConflictError`;
* the whole batch is one transaction: a failed batch writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.domain.evidence import MasteryChange, Observation, format_timestamp
from engine.errors import ConflictError, NotFoundError, ValidationError
from engine.store.sqlstore import TenantStore
from kt.bkt.online import step
from kt.bkt.params import SkillParams

#: Parameters used for a skill the tenant's model does not cover (or when there is no model):
#: a 20 % prior, 10 % chance to learn per practice opportunity, no forgetting, 20 % guess,
#: 10 % slip — typical magnitudes of fitted BKT models on K-12 math practice data.
DEFAULT_PARAMS = SkillParams(p_init=0.2, p_learn=0.1, p_forget=0.0, p_guess=0.2, p_slip=0.1)

_MAX_NAMED = 5


@dataclass(frozen=True, slots=True)
class IngestResult:
    """Outcome of one ingest call.

    ``accepted`` new observations were stored; ``duplicates`` were already stored (or repeated
    in the batch) with an identical payload and were skipped. ``changes`` lists every mastery
    change made, in the order applied (one per accepted observation and skill).
    """

    accepted: int
    duplicates: int
    changes: tuple[MasteryChange, ...]
    accepted_ids: tuple[str, ...]
    duplicate_ids: tuple[str, ...]


class ModelParams:
    """Per-skill BKT parameters with a default for skills the model does not cover.

    ``params`` maps skill id → :class:`kt.bkt.params.SkillParams` (or a dict of the five
    ``p_*`` values); ``version`` is the stored model version (0 = defaults only).
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


def ingest(
    store: TenantStore,
    observations: Iterable[Observation | Mapping[str, Any]],
    params: ModelParams,
    *,
    check_references: bool = True,
) -> IngestResult:
    """Validate and apply a batch of observations to ``store`` in one transaction.

    See the module docstring for the model and the guarantees. ``check_references=False``
    skips the learner/skill/activity existence checks (only for trusted bulk loads).
    """
    batch = coerce_observations(observations)
    # Duplicates and conflicts inside the batch.
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
    if not unique:
        return IngestResult(0, len(duplicate_ids), (), (), tuple(duplicate_ids))

    with store.transaction():
        store.lock_learners({o.learner_id for o in unique.values()})
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
        if check_references and fresh:
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
        current = store.mastery_values((o.learner_id, s) for o in fresh for s in o.skill_ids)
        times = {o.observation_id: format_timestamp(o.observed_at) for o in fresh}
        mastery_rows, changes = apply(fresh, current, params, times)
        store.write_evidence(fresh, mastery_rows, changes, times)
    return IngestResult(
        accepted=len(fresh),
        duplicates=len(duplicate_ids),
        changes=tuple(changes),
        accepted_ids=tuple(o.observation_id for o in fresh),
        duplicate_ids=tuple(duplicate_ids),
    )


def apply(
    observations: Sequence[Observation],
    current: Mapping[tuple[str, str], tuple[float, int]],
    params: ModelParams,
    times: Mapping[str, str] | None = None,
) -> tuple[list[tuple[str, str, float, int, str, str]], list[MasteryChange]]:
    """Pure mastery update of ``observations`` in order, starting from ``current``.

    ``current`` maps (learner, skill) → (P(mastered), number of observations so far);
    ``times`` optionally maps observation id → its formatted ``observed_at`` (saves work).
    Returns the final mastery rows ``(learner, skill, p, n, updated_at text, last obs id)``
    — one per touched pair — and every :class:`MasteryChange` in order.
    """
    state: dict[tuple[str, str], tuple[float, int, str, str]] = {}
    changes: list[MasteryChange] = []
    for obs in observations:
        learner = obs.learner_id
        at_text = times.get(obs.observation_id) if times is not None else None
        for skill in obs.skill_ids:
            key = (learner, skill)
            skill_params = params[skill]
            known = state.get(key)
            if known is not None:
                before, n = known[0], known[1]
            else:
                stored = current.get(key)
                before, n = stored if stored is not None else (skill_params.p_init, 0)
            p_correct, after = step(before, obs.score, skill_params)
            if at_text is None:
                at_text = format_timestamp(obs.observed_at)
            state[key] = (after, n + 1, at_text, obs.observation_id)
            changes.append(
                MasteryChange(learner, skill, obs.observation_id, before, after, p_correct, obs.observed_at)
            )
    rows = [(k[0], k[1], v[0], v[1], v[2], v[3]) for k, v in state.items()]
    return rows, changes


def retract(store: TenantStore, observation_ids: Iterable[str], params: ModelParams) -> int:
    """Remove observations (e.g. voided xAPI statements) and recompute affected mastery.

    For each (learner, skill) an observation touched, the mastery and history are rebuilt by
    replaying the remaining observations in their original order. One transaction; unknown
    ids raise :class:`NotFoundError` naming them. Returns how many observations were removed.
    """
    ids = list(dict.fromkeys(observation_ids))
    if not ids:
        return 0
    with store.transaction():
        removed = [store.get_observation(i) for i in _existing_or_raise(store, ids)]
        store.lock_learners({o.learner_id for o in removed})
        pairs = sorted({(o.learner_id, s) for o in removed for s in o.skill_ids})
        removed_ids = {o.observation_id for o in removed}
        replay_order: dict[tuple[str, str], list[str]] = {
            pair: [i for i in store.history_observation_ids(*pair) if i not in removed_ids]
            for pair in pairs
        }
        store.delete_evidence(ids, pairs)
        # Replay: each remaining observation updates only the affected pairs, in order.
        by_id: dict[str, Observation] = {}
        for obs_ids in replay_order.values():
            for obs_id in obs_ids:
                if obs_id not in by_id:
                    by_id[obs_id] = store.get_observation(obs_id)
        all_rows: list[tuple[str, str, float, int, str, str]] = []
        all_changes: list[MasteryChange] = []
        for pair, obs_ids in replay_order.items():
            only = [_restrict(by_id[i], pair[1]) for i in obs_ids]
            rows, changes = apply(only, {}, params)
            all_rows += rows
            all_changes += changes
        store.write_evidence([], all_rows, all_changes)
    return len(removed)


def _existing_or_raise(store: TenantStore, ids: list[str]) -> list[str]:
    stored = store.observation_payloads(ids)
    missing = [i for i in ids if i not in stored]
    if missing:
        raise NotFoundError(
            f"{_name_missing('observation', missing)} in tenant {store.tenant_id!r}; "
            "nothing was retracted"
        )
    return ids


def _restrict(obs: Observation, skill_id: str) -> Observation:
    """The observation as evidence on one skill only (for per-pair replay)."""
    return Observation(
        obs.observation_id, obs.learner_id, obs.activity_id, (skill_id,), obs.score,
        obs.observed_at, obs.source, obs.item_id,
    )
