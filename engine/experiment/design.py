"""A pre-registered comparison: two arms, the unit of randomisation, the metrics and the
planned sample, fixed when the experiment is registered (immutable after; only its status
moves: registered -> running -> stopped).

Pure functions over frozen dataclasses; the store format is :meth:`Design.to_dict` /
:func:`design_from_dict`. Units: effect sizes are standardised (Cohen's d, outcome SD = 1),
``alpha`` and ``power`` are probabilities in (0, 1), sizes are counts of learners or classes.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

from engine.errors import ValidationError

PLANNERS = ("pathwise", "greedy", "lowest_mastery", "teacher")
"""What makes an arm's playlists: ``pathwise`` (the default planner), ``greedy`` (the planner's
greedy expected-gain-per-minute rule on the same candidates, no MILP), ``lowest_mastery`` (the
ready skill with the lowest mastery first, the planner simulator's baseline), ``teacher`` (the
engine does not generate: the learner follows the teacher's own sequence)."""

WEIGHT_NAMES = ("review", "prerequisite_gap", "preference", "variety", "unlock", "chain_residual",
                "diagnostic", "protect", "learn_effectiveness", "fitted_forgetting")
"""``planner.request.PlanWeights`` fields an arm may set (e.g. ``unlock: 0`` switches the
look-ahead off, ``protect: 1`` values what a review protects from forgetting), and the learned-model switches ``learn_effectiveness`` / ``fitted_forgetting``
(> 0 on, 0 off; they override the tenant's planning policy for the arm's learners,
:mod:`engine.planning._learned`)."""

UNITS = ("learner", "class")
STRATA = ("none", "class", "grade")
PRIMARY_METRICS = ("mastery_gain",)
SECONDARY_METRICS = ("time_on_task_min", "observations", "end_mastery")
STATUSES = ("registered", "running", "stopped")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Arm:
    """One arm: ``name`` (short id, e.g. ``A``), ``planner`` (one of :data:`PLANNERS`) and
    ``weights`` (PlanWeights overrides, each >= 0; ``chain_residual`` in [0, 1])."""

    name: str
    planner: str = "pathwise"
    weights: Mapping[str, float] = field(default_factory=dict)
    label: str = ""

    @property
    def generates(self) -> bool:
        """False for the teacher's-own-sequence arm: the engine makes no playlist for it."""
        return self.planner != "teacher"


@dataclass(frozen=True)
class SamplePlan:
    """The planned sample. ``mde``: minimum detectable effect (Cohen's d); ``icc``:
    intra-class correlation assumed (class randomisation); ``class_size``: learners per class
    assumed; ``n_per_arm``: learners per arm; ``clusters_per_arm``: classes per arm (class
    randomisation only, else 0). ``given``: True when the size was stated, not computed."""

    alpha: float
    power: float
    mde: float | None
    icc: float
    class_size: float
    n_per_arm: int
    clusters_per_arm: int
    given: bool


@dataclass(frozen=True)
class Design:
    """The registered experiment (see the module docstring). ``arms[0]`` is the comparison
    arm (control), ``arms[1]`` the new arm; effects are arm 1 minus arm 0."""

    id: str
    title: str
    question: str
    arms: tuple[Arm, Arm]
    unit: str
    stratify_by: str
    seed: int
    class_ids: tuple[str, ...]
    target_skills: tuple[str, ...]
    start: date
    end: date
    primary_metric: str
    secondary_metrics: tuple[str, ...]
    sample: SamplePlan

    def arm(self, name: str) -> Arm:
        for a in self.arms:
            if a.name == name:
                return a
        raise ValidationError(f"experiment {self.id!r} has no arm {name!r}; arms: "
                              f"{', '.join(a.name for a in self.arms)}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (dates as ISO text)."""
        return {
            "id": self.id, "title": self.title, "question": self.question,
            "arms": [{"name": a.name, "planner": a.planner, "weights": dict(a.weights), "label": a.label}
                     for a in self.arms],
            "unit": self.unit, "stratify_by": self.stratify_by, "seed": self.seed,
            "class_ids": list(self.class_ids), "target_skills": list(self.target_skills),
            "start": self.start.isoformat(), "end": self.end.isoformat(),
            "primary_metric": self.primary_metric, "secondary_metrics": list(self.secondary_metrics),
            "sample": {f.name: getattr(self.sample, f.name) for f in fields(SamplePlan)},
        }


# ---------------------------------------------------------------------------- sample size
def _t_power(n1: float, n2: float, d: float, alpha: float) -> float:
    """Power of the two-sided two-sample t test (pooled df) for standardised effect ``d``."""
    from scipy import stats

    df = n1 + n2 - 2.0
    ncp = d * math.sqrt(n1 * n2 / (n1 + n2))
    t = stats.t.ppf(1.0 - alpha / 2.0, df)
    return float(stats.nct.sf(t, df, ncp) + stats.nct.cdf(-t, df, ncp))


def n_per_arm(d: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Smallest equal arm size whose two-sided t test (noncentral t) reaches ``power`` for
    effect ``d`` (Cohen's d in [0.01, 5]) at level ``alpha``. d=0.5, alpha=0.05, power=0.8 -> 64."""
    _check_rates(alpha, power)
    if not (0.01 <= d <= 5):
        raise ValidationError(f"mde={d}; the minimum detectable effect is a Cohen's d in [0.01, 5], e.g. 0.3")
    return _n_for(float(d), float(alpha), float(power))


@functools.lru_cache(maxsize=256)
def _n_for(d: float, alpha: float, power: float) -> int:
    from scipy import stats

    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    n = max(2, int(math.floor(2 * z * z / (d * d))))
    while _t_power(n, n, d, alpha) < power:
        n += 1
    return n


def clusters_per_arm(d: float, icc: float, class_size: float, alpha: float = 0.05,
                     power: float = 0.8) -> int:
    """Classes per arm for class randomisation analysed on class means: the class-level effect
    is ``d / sqrt(icc + (1 - icc) / m)`` (m = ``class_size``), then :func:`n_per_arm` on
    classes (at least 2 per arm)."""
    if not (0.0 <= icc < 1.0):
        raise ValidationError(f"icc={icc}; the intra-class correlation must be in [0, 1)")
    if not (class_size >= 1):
        raise ValidationError(f"class_size={class_size}; it must be >= 1 learner")
    d_class = d / math.sqrt(icc + (1.0 - icc) / class_size)
    if not (0.01 <= d <= 5):
        raise ValidationError(f"mde={d}; the minimum detectable effect is a Cohen's d in [0.01, 5], e.g. 0.3")
    _check_rates(alpha, power)
    return max(2, _n_for(float(d_class), float(alpha), float(power)))


def plan_sample(unit: str, *, alpha: float = 0.05, power: float = 0.8, mde: float | None = None,
                icc: float = 0.1, class_size: float = 20.0, n_per_arm_given: int | None = None,
                clusters_given: int | None = None) -> SamplePlan:
    """The planned sample, computed from ``mde`` (and ``icc``/``class_size`` for class
    randomisation) or given (``n_per_arm_given`` learners / ``clusters_given`` classes)."""
    _check_rates(alpha, power)
    given = mde is None
    if given:
        if unit == "class":
            if not clusters_given or clusters_given < 2:
                raise ValidationError("sample: give mde, or clusters_per_arm >= 2 for class randomisation")
            k = int(clusters_given)
            return SamplePlan(alpha, power, None, icc, class_size, int(math.ceil(k * class_size)), k, True)
        if not n_per_arm_given or n_per_arm_given < 2:
            raise ValidationError("sample: give mde, or n_per_arm >= 2 (learners per arm)")
        return SamplePlan(alpha, power, None, icc, class_size, int(n_per_arm_given), 0, True)
    if unit == "class":
        k = clusters_per_arm(mde, icc, class_size, alpha, power)
        return SamplePlan(alpha, power, mde, icc, class_size, int(math.ceil(k * class_size)), k, False)
    return SamplePlan(alpha, power, mde, icc, class_size, n_per_arm(mde, alpha, power), 0, False)


def _check_rates(alpha: float, power: float) -> None:
    if not (0.0 < alpha < 0.5):
        raise ValidationError(f"alpha={alpha}; use a significance level in (0, 0.5), e.g. 0.05")
    if not (0.5 <= power < 1.0):
        raise ValidationError(f"power={power}; use a power in [0.5, 1), e.g. 0.8")


# ---------------------------------------------------------------------------- parsing
def _arm(raw: Any, i: int) -> Arm:
    if not isinstance(raw, Mapping):
        raise ValidationError(f"arms[{i}] must be an object with name, planner and weights")
    name = str(raw.get("name") or "")
    if not _ID.match(name):
        raise ValidationError(f"arms[{i}].name={name!r}; use 1-64 letters, digits, '.', '_' or '-'")
    planner = raw.get("planner", "pathwise")
    if planner not in PLANNERS:
        raise ValidationError(f"arms[{i}].planner={planner!r}; use one of {', '.join(PLANNERS)}")
    weights = dict(raw.get("weights") or {})
    for k, v in weights.items():
        if k not in WEIGHT_NAMES:
            raise ValidationError(f"arms[{i}].weights has {k!r}; use any of {', '.join(WEIGHT_NAMES)}")
        if not isinstance(v, int | float) or isinstance(v, bool) or not (0 <= v <= 100):
            raise ValidationError(f"arms[{i}].weights.{k}={v!r}; use a number in [0, 100]")
        if k == "chain_residual" and v > 1:
            raise ValidationError(f"arms[{i}].weights.chain_residual={v}; it must be in [0, 1]")
    if planner == "teacher" and weights:
        raise ValidationError(f"arms[{i}]: a teacher arm has no planner weights; remove them")
    return Arm(name, planner, {k: float(v) for k, v in sorted(weights.items())}, str(raw.get("label") or ""))


def _date(raw: Any, name: str) -> date:
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise ValidationError(f"{name}={raw!r}; use a date YYYY-MM-DD") from None


def _ids(raw: Any, name: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str) or not isinstance(raw, Sequence):
        raise ValidationError(f"{name} must be a list of ids")
    out = tuple(dict.fromkeys(str(x) for x in raw))
    for x in out:
        if not x or len(x) > 128:
            raise ValidationError(f"{name} has {x!r}; ids are 1-128 characters")
    return out


def design_from_dict(raw: Mapping[str, Any]) -> Design:
    """Check and build a :class:`Design` from its JSON form (the API body or the stored
    document). ``sample`` is either the stored SamplePlan fields or the request
    ``{alpha, power, mde, icc, class_size}`` / ``{..., n_per_arm | clusters_per_arm}``."""
    eid = str(raw.get("id") or "")
    if not _ID.match(eid):
        raise ValidationError(f"id={eid!r}; use 1-64 letters, digits, '.', '_' or '-'")
    arms_raw = raw.get("arms")
    if not isinstance(arms_raw, Sequence) or isinstance(arms_raw, str) or len(arms_raw) != 2:
        raise ValidationError("arms: give exactly two arms, the comparison arm first")
    arms = (_arm(arms_raw[0], 0), _arm(arms_raw[1], 1))
    if arms[0].name == arms[1].name:
        raise ValidationError(f"arms: both are named {arms[0].name!r}; give them different names")
    if (arms[0].planner, dict(arms[0].weights)) == (arms[1].planner, dict(arms[1].weights)):
        raise ValidationError("arms: both arms have the same planner and weights; nothing would be compared")
    unit = raw.get("unit", "learner")
    if unit not in UNITS:
        raise ValidationError(f"unit={unit!r}; randomise by one of {', '.join(UNITS)}")
    strat = raw.get("stratify_by", "class" if unit == "learner" else "grade")
    if strat not in STRATA or (unit == "class" and strat == "class"):
        ok = ("none", "grade") if unit == "class" else STRATA
        raise ValidationError(f"stratify_by={strat!r}; with unit {unit!r} use one of {', '.join(ok)}")
    seed = raw.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or not (0 <= seed < 2**63):
        raise ValidationError(f"seed={seed!r}; use a whole number >= 0")
    start, end = _date(raw.get("start"), "start"), _date(raw.get("end"), "end")
    if end <= start:
        raise ValidationError(f"end={end.isoformat()} is not after start={start.isoformat()}")
    targets = _ids(raw.get("target_skills"), "target_skills")
    if not targets:
        raise ValidationError("target_skills: name at least one skill whose mastery gain is the outcome")
    primary = raw.get("primary_metric", "mastery_gain")
    if primary not in PRIMARY_METRICS:
        raise ValidationError(f"primary_metric={primary!r}; use one of {', '.join(PRIMARY_METRICS)}")
    secondary = tuple(raw.get("secondary_metrics", ("time_on_task_min", "observations")))
    for m in secondary:
        if m not in SECONDARY_METRICS:
            raise ValidationError(f"secondary_metrics has {m!r}; use any of {', '.join(SECONDARY_METRICS)}")
    return Design(eid, str(raw.get("title") or eid)[:200], str(raw.get("question") or "")[:1000], arms,
                  unit, strat, int(seed), _ids(raw.get("class_ids"), "class_ids"), targets, start, end,
                  primary, secondary, _sample(raw.get("sample") or {}, unit))


def _sample(raw: Mapping[str, Any], unit: str) -> SamplePlan:
    if not isinstance(raw, Mapping):
        raise ValidationError("sample must be an object: {mde, alpha, power, icc, class_size} or n_per_arm")
    if "given" in raw:  # the stored form
        return SamplePlan(**{f.name: raw[f.name] for f in fields(SamplePlan)})

    def num(key: str, default: float | None) -> float | None:
        v = raw.get(key, default)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v)):
            raise ValidationError(f"sample.{key}={v!r}; give a number")
        return v

    unknown = set(raw) - {"alpha", "power", "mde", "icc", "class_size", "n_per_arm", "clusters_per_arm"}
    if unknown:
        raise ValidationError(f"sample has {sorted(unknown)}; use alpha, power, mde, icc, class_size, "
                              "n_per_arm or clusters_per_arm")
    n_given, k_given = num("n_per_arm", None), num("clusters_per_arm", None)
    if num("mde", None) is not None and (n_given is not None or k_given is not None):
        raise ValidationError("sample: give either mde (computed size) or n_per_arm/clusters_per_arm, not both")
    return plan_sample(unit, alpha=num("alpha", 0.05), power=num("power", 0.8), mde=num("mde", None),
                       icc=num("icc", 0.1), class_size=num("class_size", 20.0),
                       n_per_arm_given=None if n_given is None else int(n_given),
                       clusters_given=None if k_given is None else int(k_given))
