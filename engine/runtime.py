"""The model the engine runs for a tenant: its active fitted kt model, plus default BKT.

Runtime model = **the active model version + BKT with** :data:`DEFAULT_PARAMS` **for every
tenant skill that model does not cover** (a skill added after the fit, or any skill when the
tenant has no model: then the whole runtime model is
``BKT.from_skill_params({skill: DEFAULT_PARAMS})``).

* A BKT active model is extended in place: ``bkt.with_skills({uncovered: DEFAULT_PARAMS})``
  is one BKT, so every observation runs through the one BKT filter.
* Any other registered model (Elo, PFA, Best-LR, ...) runs beside a default BKT over the
  uncovered skills: an observation's covered skills go to the active model, its uncovered
  skills to the default BKT; its P(correct) is the active model's when it names at least one
  covered skill, else the default BKT's. The state is the pair of both states.

Every call follows :mod:`kt.online` (``update_one`` with all the observation's skills, its
item and its float score; ``mastery(state, skill)`` on one scale for every model). The
observation's *item* is its ``item_id`` when given, else its ``activity_id`` (item ids are
tenant-wide names, as in the logs models are fitted on).

``key`` identifies what a stored learner state was made by (the version and the skills the
runtime model covers); a learner whose stored state has another key is refolded from their
evidence before new evidence is applied.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from kt.bkt.params import SkillParams

#: Parameters of a skill the tenant's model does not cover (or when there is no model):
#: a 20 % prior, 10 % chance to learn per practice opportunity, no forgetting, 20 % guess,
#: 10 % slip — typical magnitudes of fitted BKT models on K-12 math practice data.
DEFAULT_PARAMS = SkillParams(p_init=0.2, p_learn=0.1, p_forget=0.0, p_guess=0.2, p_slip=0.1)

#: Registry names whose mastery of a skill changes only with evidence on that skill.
_LOCAL_MODELS = frozenset({"bkt", "bkt-f", "bkt-item"})


def item_of(observation: Any) -> str:
    """The item a model sees for an observation: ``item_id``, else ``activity_id``."""
    return observation.item_id if observation.item_id is not None else observation.activity_id


def _is_bkt(model: Any) -> bool:
    from kt.bkt import BKT

    return isinstance(model, BKT)


def bkt_from_params(params: Mapping[str, SkillParams]) -> Any:
    """``BKT.from_skill_params(params)``: a fitted BKT with these per-skill parameters."""
    from kt.bkt import BKT

    return BKT.from_skill_params(dict(params))




def model_skills(model: Any) -> tuple[str, ...]:
    """Skill names a fitted kt model covers."""
    names = getattr(model, "skill_names_", None)
    if names is None:
        raise TypeError(f"cannot list the skills of {type(model).__name__}; fit it first")
    return tuple(str(s) for s in names)


def default_bkt(skills: Iterable[str]) -> Any:
    """A BKT with :data:`DEFAULT_PARAMS` for each of ``skills``."""
    return bkt_from_params({s: DEFAULT_PARAMS for s in skills})


def _as_skill_params(value: Any) -> SkillParams:
    if isinstance(value, SkillParams):
        return value
    return SkillParams(**{k: float(v) for k, v in dict(value).items() if k.startswith("p_")})


def calibration(model: Any, skill: str) -> SkillParams | None:
    """Per-skill BKT parameters of a fitted kt model (a BKT's own, or the calibration a
    P(correct) model keeps); ``None`` when it has none for ``skill``."""
    getter = getattr(model, "skill_params", None)
    if getter is None:
        return None
    try:
        return _as_skill_params(getter(skill))
    except Exception:  # noqa: BLE001 - any model-specific "not available" means: no calibration
        return None


def _plain_bkt(model: Any) -> bool:
    """A BKT without item-class variants (one P(mastered) per skill, never NaN)."""
    return _is_bkt(model) and not any(
        getattr(model, flag) for flag in ("multigs", "multilearn", "multiprior", "multipair")
    )


def _mastery_reader(model: Any) -> Callable[[Any, str], float]:
    """``model.mastery``, or for a plain BKT the same value read straight from the state's
    ``p_mastered`` (a skill -> position dict; the engine reads it several times per answer)."""
    if not _plain_bkt(model):
        return model.mastery
    names = model.init_state().skill_names
    position = {name: k for k, name in enumerate(names)}

    def mastery(state: Any, skill: str) -> float:
        k = position.get(skill)
        if k is None or (state.skill_names is not names and state.skill_names != names):
            return float(model.mastery(state, skill))  # raises the model's own error
        return state.p_mastered.item(k)

    return mastery


def _masteries_reader(model: Any) -> Callable[[Any, Sequence[str]], list[float]]:
    """``[mastery(state, s) for s in skills]`` in one call; for a plain BKT one state check
    and direct reads of ``p_mastered`` (the fold reads every skill before and after each
    observation)."""
    read = _mastery_reader(model)
    if not _plain_bkt(model):
        return lambda state, skills: [read(state, s) for s in skills]
    names = model.init_state().skill_names
    position = {name: k for k, name in enumerate(names)}

    def masteries(state: Any, skills: Sequence[str]) -> list[float]:
        if state.skill_names is names or state.skill_names == names:
            p = state.p_mastered
            try:
                return [p.item(position[s]) for s in skills]
            except KeyError:
                pass
        return [read(state, s) for s in skills]  # raises the model's own error

    return masteries


Update = Callable[[Any, Sequence[str], float, "str | None"], tuple[Any, float]]


def _updater(model: Any) -> Update:
    """``model.update_one(state, skills, score, item)`` for one observation, called the
    cheapest way the contract allows: a single skill by its name (BKT's scalar path); for a
    plain BKT several skills as one ``update_many`` observation of skill *positions* (its
    no-class kernel path, ~11 us instead of ~55 us for name lookups per call)."""
    update_one = model.update_one
    if not _plain_bkt(model):
        def update(state: Any, skills: Sequence[str], score: float, item: str | None = None) -> Any:
            return update_one(state, skills[0] if len(skills) == 1 else tuple(skills), score, item)

        return update
    update_many = model.update_many
    position = {name: k for k, name in enumerate(model.init_state().skill_names)}

    def update_bkt(state: Any, skills: Sequence[str], score: float,
                   item: str | None = None) -> Any:
        m = len(skills)
        if m == 1:
            return update_one(state, skills[0], score, item)
        if not all(s in position for s in skills):
            return update_one(state, tuple(skills), score, item)  # raises the model's error
        codes = np.array([position[s] for s in skills], np.int64)
        new, p = update_many(state, codes, np.full(m, score, dtype=np.float64), None,
                             np.zeros(m, np.int64))
        return new, float(p[0])

    return update_bkt


#: Key of the compact plain-BKT state document (:func:`_state_encoder`).
PACKED = "p_mastered_f64le"


def _state_encoder(model: Any) -> Callable[[Any], dict[str, Any]]:
    """``model.state_to_dict``, or for a plain BKT (:func:`_plain_bkt`) a compact, cheap twin:
    ``{"skills": [name, ...], "p_mastered_f64le": base64}`` — the skills whose P(mastered)
    differs from a new learner's and their values as little-endian float64 bytes (exact; about
    a third of the JSON text of ``{"p_mastered": {skill: p}}`` and ~20x cheaper to encode, for
    a document rewritten at every ingest of the learner). ``last_class`` is not kept: a model
    without item classes never reads it. :func:`_unpack` turns it back into the model's own
    ``state_from_dict`` document."""
    if not _plain_bkt(model):
        return model.state_to_dict
    fresh = model.init_state().p_mastered
    names = model.init_state().skill_names
    name_array = np.array(names, dtype=object)

    def encode(state: Any) -> dict[str, Any]:
        p = state.p_mastered
        if state.skill_names is not names and state.skill_names != names:
            return model.state_to_dict(state)  # raises the model's own error
        changed = np.flatnonzero(p != fresh)
        packed = base64.b64encode(p[changed].astype("<f8").tobytes()).decode("ascii")
        return {"skills": name_array[changed].tolist(), PACKED: packed}

    return encode


def _unpack(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A model ``state_from_dict`` document from a packed one (others are returned as is)."""
    if PACKED not in doc:
        return dict(doc)
    values = np.frombuffer(base64.b64decode(doc[PACKED]), dtype="<f8").tolist()
    skills = list(doc["skills"])
    if len(values) != len(skills):
        raise ValueError(f"packed state has {len(values)} values for {len(skills)} skills")
    return {"p_mastered": dict(zip(skills, values, strict=True))}


class RuntimeModel:
    """One tenant's runtime model (see the module docstring). Implements :mod:`kt.online`'s
    online calls; immutable once built.

    Attributes:
        version: the model version it runs (0 = no model: default BKT only).
        name: the active model's registry name (``"bkt"`` when none).
        key: identity stored with learner states (version + covered skills).
        skills: every skill it covers (frozenset).
        local: True when a skill's mastery changes only with evidence on that skill (BKT).
    """

    def __init__(self, version: int, model: Any | None, tenant_skills: Iterable[str]) -> None:
        tenant_skills = sorted(set(tenant_skills))
        self.version = int(version)
        if model is None:
            self.name = "bkt"
            self.active = None
            self.primary = default_bkt(tenant_skills)
            self.default = None
            covered: tuple[str, ...] = ()
        else:
            self.name = str(getattr(model, "name", "bkt"))
            self.active = model
            covered = model_skills(model)
            uncovered = [s for s in tenant_skills if s not in set(covered)]
            if _is_bkt(model):
                self.primary = (
                    model.with_skills({s: DEFAULT_PARAMS for s in uncovered}) if uncovered else model
                )
                self.default = None
            else:
                self.primary = model
                self.default = default_bkt(uncovered) if uncovered else None
        self._covered = frozenset(covered)
        self.skills = frozenset(model_skills(self.primary)) | (
            frozenset(model_skills(self.default)) if self.default is not None else frozenset()
        )
        self.local = model is None or _is_bkt(model) or self.name in _LOCAL_MODELS
        digest = hashlib.blake2b("\x1f".join(sorted(self.skills)).encode(), digest_size=6)
        self.key = f"{self.version}:{self.name}:{digest.hexdigest()}"
        self._priors: dict[str, float] = {}
        self._memo: dict[str, tuple[Mapping[str, Any], Any]] = {}
        self._fresh = self._new_state()
        self._encode_primary = _state_encoder(self.primary)
        self._encode_default = _state_encoder(self.default) if self.default is not None else None
        self._read_primary = _mastery_reader(self.primary)
        self._update_primary = _updater(self.primary)
        self._update_default = _updater(self.default) if self.default is not None else None
        self._read_default = _mastery_reader(self.default) if self.default is not None else None
        #: A plain BKT alone (no class variants, no default beside it): each skill's P(mastered)
        #: is its own filter over that skill's evidence, so the mastery rows and history hold
        #: the whole state (:mod:`engine.fold_rows`).
        self.rows_hold_state = (self.default is None and _plain_bkt(self.primary)
                                and bool(self.primary.per_skill_online))
        self.positions: dict[str, int] = (
            {name: k for k, name in enumerate(self.primary.init_state().skill_names)}
            if self.rows_hold_state else {})
        if self.default is None:
            # One model: its reader and updater are this model's calls (same results, one
            # Python call less per observation and per mastery read on the ingest path).
            self.mastery = self._read_primary  # type: ignore[method-assign]
            self.update_one = self._update_primary  # type: ignore[method-assign]
            self.masteries = _masteries_reader(self.primary)  # type: ignore[method-assign]

    # -- kt.online calls -------------------------------------------------------------------------
    def _new_state(self) -> Any:
        if self.default is None:
            return self.primary.init_state()
        return (self.primary.init_state(), self.default.init_state())

    def init_state(self) -> Any:
        """A learner with no evidence (built once: states are immutable)."""
        return self._fresh

    def update_one(
        self, state: Any, skills: Sequence[str], score: float, item: str | None = None
    ) -> tuple[Any, float]:
        """Apply one observation (all its skills); ``(new_state, P(correct) before it)``."""
        if self.default is None:
            return self._update_primary(state, skills, score, item)
        main, extra = state
        covered = tuple(s for s in skills if s in self._covered)
        rest = tuple(s for s in skills if s not in self._covered)
        p = None
        if covered:
            main, p = self._update_primary(main, covered, score, item)
        if rest:
            extra, p_rest = self._update_default(extra, rest, score, item)
            if p is None:
                p = p_rest
        return (main, extra), float(p)

    def update_cells(self, values: np.ndarray, skills: Any, scores: Any, cells: Any,
                     obs_ptr: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``BKT.update_cells`` of the plain BKT (only when :attr:`rows_hold_state`): the
        filter over (learner, skill) cells; ``skills`` are positions (:attr:`positions`)."""
        return self.primary.update_cells(values, skills, scores, cells, obs_ptr)

    def update_cell(self, value: float, skill: int, score: float) -> tuple[float, float, float]:
        """``BKT.update_cell`` of the plain BKT (only when :attr:`rows_hold_state`)."""
        return self.primary.update_cell(value, skill, score)

    def mastery(self, state: Any, skill: str) -> float:
        if self.default is None:
            return self._read_primary(state, skill)
        if skill in self._covered:
            return float(self._read_primary(state[0], skill))
        return float(self._read_default(state[1], skill))

    def masteries(self, state: Any, skills: Sequence[str]) -> list[float]:
        """``[self.mastery(state, s) for s in skills]`` (one call: cheaper for a plain BKT)."""
        return [self.mastery(state, s) for s in skills]

    def prior(self, skill: str) -> float:
        """Mastery of ``skill`` for a learner with no evidence (BKT: ``p_init``); cached."""
        value = self._priors.get(skill)
        if value is None:
            value = self._priors[skill] = self.mastery(self.init_state(), skill)
        return value

    def state_to_dict(self, state: Any) -> dict[str, Any]:
        """The state as the document stored with the learner (see :func:`_state_encoder`)."""
        if self.default is None:
            return self._encode_primary(state)
        return {
            "model": self._encode_primary(state[0]),
            "default_bkt": self._encode_default(state[1]),
        }

    def state_from_dict(self, doc: Mapping[str, Any]) -> Any:
        if self.default is None:
            return self.primary.state_from_dict(_unpack(doc))
        return (
            self.primary.state_from_dict(_unpack(doc["model"])),
            self.default.state_from_dict(_unpack(doc["default_bkt"])),
        )

    def restore(self, learner_id: str, doc: Mapping[str, Any]) -> Any:
        """:meth:`state_from_dict` of a learner's stored state, skipping the decoding when
        ``doc`` is the very document this runtime model made last for them (:meth:`remember`;
        the store's write-through cache hands back the object that was written)."""
        hit = self._memo.get(learner_id)
        if hit is not None and hit[0] is doc:
            return hit[1]
        return self.state_from_dict(doc)

    def remember(self, learner_id: str, doc: Mapping[str, Any], state: Any) -> None:
        """Note that ``doc`` encodes ``state`` (both immutable by contract) for :meth:`restore`."""
        if len(self._memo) >= 100_000:
            self._memo.clear()
        self._memo[learner_id] = (doc, state)

    # -- parameters for the planner --------------------------------------------------------------
    def skill_params(self) -> dict[str, SkillParams]:
        """Per-skill BKT parameters: the BKT's own (defaults included), or for another model
        its per-skill calibration where it has one, else :data:`DEFAULT_PARAMS`."""
        out: dict[str, SkillParams] = {}
        for skill in sorted(self.skills):
            source = self.primary if skill in self._covered or self.default is None else None
            params = calibration(source, skill) if source is not None else None
            out[skill] = params if params is not None else DEFAULT_PARAMS
        return out
