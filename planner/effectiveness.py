"""Learn what works, per school (issue 15 item 2): how well each activity actually moves
mastery, and how much each learner's format preferences matter, from the evidence that
follows each activity.

Model. An activity a applied to skill k of a learner with belief p (the engine's P(L)
before) teaches with probability m · T_ak, T_ak the catalog's learn probability and m an
unknown multiplier. The exit ticket that follows has P(correct) = L (1 − slip) + (1 − L)
guess with L = p + (1 − p) min(m T_ak, 0.999); a score in [0, 1] is soft evidence
(likelihood s · P(correct) + (1 − s) · (1 − P(correct))).

Knowledge before (``refilter``, on by default). The caller's belief p is miscalibrated where
it matters: a learner's first ticket on a skill has a belief-before carrying little or no
evidence about them (in the simulator's catalog-wrong world, 59 % of the tickets with the
belief at p_init 0.2 came from learners who already knew the skill), and which skills learners
already know differs by skill, so read with the caller's p the "already known" share is
credited to the activities of the skills learners know: fitted multipliers correlated 0.45
with that excess and 0.25 with the true quality, and planning with them moved items onto
skills already known (45 % -> 51 % of items). So the first ticket of a learner and skill
only informs the skill's already-known share κ (known before: p + (1 − p) κ, posterior mean
on ``KAPPA``), and every later ticket's knowledge before is the model's own filter: the
chance of mastery after the learner's previous ticket on the skill, with that activity's
fitted multiplier. Multipliers and κ are fitted in turn (``iterations``); correlations
then 0.28 and 0.15.

Hierarchy (shrinkage toward the catalog): log m_a = log m_g + e_a with the group g =
(kind, modality) of the activity (``per_skill``: its first skill), log m_g ~ N(−``group_sd``²/2, ``group_sd``²) (mean
multiplier 1: the catalog's own value), e_a ~ N(−``activity_sd``²/2, ``activity_sd``²). Learner-format multipliers log m_{s,f} ~
N(μ_s,f, ``learner_sd``²) with μ = log ``declared_boost`` for a declared preferred format, 0
otherwise, are fitted the same way from the learner's own evidence.

Prior spreads (``empirical``, default on): ``group_sd``, ``activity_sd`` and ``learner_sd``
are chosen by the marginal likelihood of the tickets (:mod:`planner._spreads`): a school whose
catalog is right gets spreads near 0 and multipliers near 1, one whose activities differ the
spread its evidence shows (fixed 0.5 spreads planned with chance differences as if real).
Posteriors are on a grid of multipliers (``GRID``), exact for this model up to the grid.
Thompson sampling draws one multiplier per activity from its posterior: planning with the
draw explores where the estimate is unsure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from planner._logmath import _log_matmul, _normalise, _sum_rows
from planner._rescale import rescaled
from planner._spreads import GRID, activity_spreads, group_log_prior, learner_spread, normal_kernel
from planner.errors import PlanInputError
from planner.model import PlanActivity

KAPPA = np.linspace(0.0, 0.95, 39)
"""Grid of a skill's "already known" share (``kappa``): the chance a learner whose belief
before their first ticket on the skill is p already knew it beyond p (known: p + (1 − p) κ)."""


@dataclass
class EffectivenessModel:
    """Online estimate of activity (and learner-format) multipliers; see module doc.

    ``guess``/``slip``: the exit ticket's, as the engine's BKT assumes. ``relative``:
    ``adjusted`` divides the multipliers by their geometric mean (ranking only); with
    ``per_skill``, by the geometric mean of the activities on the same first skill, and the
    hierarchy's groups are first skills (not kind x modality), so the spread between
    activities is measured among the ways to learn one skill: learners who reach different
    skills differ, and read across skills that difference looked like activities differing
    (:func:`planner._rescale.rescaled`). Mutable: ``observe``
    adds evidence in place (one model per school, updated as evidence arrives).

    ``refilter`` (default True): a ticket's knowledge-before is not the caller's belief but
    the model's own filter over the learner's earlier tickets on the skill (``observe`` calls
    in order, per ``learner_id`` and skill): the first ticket of a learner and skill only
    informs the skill's "already known" share κ (its belief-before carries little or no
    evidence about this learner: in the simulator's catalog-wrong world 59 % of the learners
    the belief gave p_init 0.2 already knew the skill), and each later ticket's knowledge
    before is the filtered chance of mastery after the previous one, with the fitted
    multipliers; ``iterations`` rounds of (κ | multipliers, filter, multipliers | κ).
    Tickets without a ``learner_id`` keep the caller's belief. False: every ticket with the
    caller's belief-before (the model before this change).

    ``empirical`` (default True): spreads chosen from the evidence (:attr:`prior_sds`)."""

    guess: float = 0.2
    slip: float = 0.1
    group_sd: float = 0.5
    activity_sd: float = 0.5
    learner_sd: float = 0.4
    declared_boost: float = 1.2
    relative: bool = False
    per_skill: bool = False
    refilter: bool = True
    iterations: int = 3
    empirical: bool = True
    _group_of: dict = field(default_factory=dict, repr=False)
    _acts: dict = field(default_factory=dict, repr=False)
    _rows: list = field(default_factory=list, repr=False)
    _seqs: dict = field(default_factory=dict, repr=False)
    _fit: tuple | None = field(default=None, repr=False)

    def _group(self, activity: PlanActivity) -> tuple[str, str]:
        """The hierarchy's group of ``activity``: its (kind, modality); with ``per_skill``
        ("skill", its first skill): activities compared with the other ways to learn it."""
        if self.per_skill and activity.skills:
            return ("skill", activity.skills[0][0])
        return (activity.kind, activity.modality)

    def _loglik(self, p, t, score) -> np.ndarray:
        """log P(score | belief-before p, catalog learn probability t, multiplier GRID):
        arrays broadcast, the last axis the grid."""
        p, t, score = (np.asarray(x, dtype=float)[..., None] for x in (p, t, score))
        learned = p + (1.0 - p) * np.minimum(GRID * t, 0.999)
        pc = learned * (1.0 - self.slip) + (1.0 - learned) * self.guess
        like = score * pc + (1.0 - score) * (1.0 - pc)
        return np.log(np.maximum(like, 1e-12))

    def observe(self, activity: PlanActivity | None, skill: str, p_before: float, score: float,
                *, learner_id: str | None = None,
                preferred_formats: Iterable[str] = ()) -> None:
        """Add one exit ticket ``score`` that followed ``activity`` on ``skill`` for a learner
        whose belief before it was ``p_before``. ``activity`` None: evidence on the skill that
        names no catalog activity (it only moves the learner's filter, ``refilter``)."""
        score, p_before = float(score), float(p_before)
        if not (0.0 <= score <= 1.0) or not (0.0 <= p_before <= 1.0):
            raise PlanInputError(f"score={score}, p_before={p_before}; both must be in [0, 1]")
        t = activity.learn_probability(skill) if activity is not None else 0.0
        if activity is not None and t <= 0:
            return
        if activity is None and learner_id is None:
            return
        fkeys: tuple = ()
        if activity is not None:
            self._group_of[activity.id] = self._group(activity)
            self._acts[activity.id] = activity
            if learner_id is not None:
                declared = set(preferred_formats)
                fkeys = tuple((learner_id, f, f in declared) for f in activity.format_keys)
        aid = activity.id if activity is not None else None
        seq = (learner_id, skill) if learner_id is not None else None
        if seq is not None:
            self._seqs.setdefault(seq, []).append(len(self._rows))
        self._rows.append((aid, skill, p_before, t, score, seq, fkeys))
        self._fit = None

    @property
    def _act_ll(self) -> dict:
        """Activity id -> (G,) log-likelihood of its multiplier (every observed activity)."""
        return self._fitted()[0]

    @property
    def _lf_ll(self) -> dict:
        """(learner, format, declared) -> (G,) log-likelihood of the learner-format multiplier."""
        return self._fitted()[1]

    def knowledge_before(self) -> tuple[np.ndarray, np.ndarray]:
        """Per ticket (``observe`` order): the knowledge-before the likelihood uses and whether
        the ticket counts for its activity (False: the first of its learner and skill, which
        informs κ only); fits if needed."""
        f = self._fitted()
        return f[2], f[3]

    def differ_test(self) -> dict:
        """Whether this school's activities differ within their groups, by permutation: the
        gate of planning with the multipliers (:func:`planner._differs.activities_differ`)."""
        from planner._differs import activities_differ

        return activities_differ(self)

    @property
    def prior_sds(self) -> tuple[float, float, float]:
        """(group_sd, activity_sd, learner_sd) the posteriors use: the fields, or with
        ``empirical`` and evidence the spreads the evidence chose."""
        if not self.empirical or not self._rows:
            return (self.group_sd, self.activity_sd, self.learner_sd)
        return self._fitted()[4]

    def _fitted(self) -> tuple:
        if self._fit is None:
            self._fit = self._refit()
        return self._fit

    def _refit(self) -> tuple:
        rows = self._rows
        n = len(rows)
        p = np.array([r[2] for r in rows], dtype=float)
        t = np.array([r[3] for r in rows], dtype=float)
        sc = np.array([r[4] for r in rows], dtype=float)
        act_ids = list(dict.fromkeys(r[0] for r in rows if r[0] is not None))
        a_of = {a: j for j, a in enumerate(act_ids)}
        a_idx = np.array([a_of.get(r[0], -1) for r in rows], dtype=np.int64)
        first = np.zeros(n, dtype=bool)
        seqs = list(self._seqs.values()) if self.refilter else []
        for idx in seqs:
            first[idx[0]] = True
        counts = (a_idx >= 0) & ~first
        skills = {k: j for j, k in enumerate(sorted({r[1] for r in rows}))}
        s_idx = np.array([skills[r[1]] for r in rows], dtype=np.int64)
        lf_keys: dict[tuple, int] = {}
        lf_rows, lf_cols = [], []
        for i in np.nonzero(counts)[0]:
            for key in rows[i][6]:
                lf_rows.append(i)
                lf_cols.append(lf_keys.setdefault(key, len(lf_keys)))
        # sequences as a padded (n_seq, longest) matrix of row indices, -1 past the end
        steps = np.full((len(seqs), max((len(x) for x in seqs), default=0)), -1, dtype=np.int64)
        for j, idx in enumerate(seqs):
            steps[j, :len(idx)] = idx
        q = p.copy()
        mult = np.ones(len(act_ids))
        rounds = max(1, self.iterations) if first.any() else 1
        for it in range(rounds):
            if first.any():
                m_t = np.where(a_idx >= 0, t * mult[np.maximum(a_idx, 0)], 0.0)
                q = self._filter(p, m_t, sc, first, s_idx, len(skills), steps)
            act_mat, lf_mat = self._accumulate(q, t, sc, counts, a_idx, len(act_ids),
                                               np.array(lf_rows, dtype=np.int64),
                                               np.array(lf_cols, dtype=np.int64), len(lf_keys))
            act_ll = dict(zip(act_ids, act_mat, strict=True))
            sds = self._select_sds(act_ll)
            if it + 1 < rounds:
                means = self._means(act_ll, sds)
                mult = np.array([means[a] for a in act_ids])
        lf_ll = dict(zip(lf_keys, lf_mat, strict=True))
        sds = (*sds[:2], self._select_learner_sd(lf_ll))
        return act_ll, lf_ll, q, counts, sds

    def _select_sds(self, act_ll: Mapping) -> tuple[float, float, float]:
        """(group_sd, activity_sd, learner_sd): with ``empirical`` the group and activity
        spreads of largest marginal likelihood (:func:`planner._spreads.activity_spreads`);
        else the fields."""
        fixed = (self.group_sd, self.activity_sd, self.learner_sd)
        if not self.empirical or not act_ll:
            return fixed
        g_sd, a_sd = activity_spreads(act_ll, self._group_of, (self.group_sd, self.activity_sd))
        return (g_sd, a_sd, self.learner_sd)

    def _select_learner_sd(self, lf_ll: Mapping) -> float:
        """``learner_sd`` (with ``empirical``: :func:`planner._spreads.learner_spread`)."""
        if not self.empirical:
            return self.learner_sd
        return learner_spread(lf_ll, np.log(self.declared_boost), self.learner_sd)

    def _filter(self, p, m_t, sc, first, s_idx, n_skills, steps) -> np.ndarray:
        """Knowledge before each ticket: first of a sequence p + (1 − p) κ_skill (κ the
        posterior mean of the skill's first tickets, prior ∝ 1 − κ), later ones the filtered
        mastery after the previous ticket of the sequence (learning ``m_t`` there)."""
        fi = np.nonzero(first)[0]
        kap = KAPPA[None, :]
        pk = p[fi, None] + (1.0 - p[fi, None]) * kap
        learned = pk + (1.0 - pk) * np.minimum(m_t[fi, None], 0.999)
        pc = learned * (1.0 - self.slip) + (1.0 - learned) * self.guess
        like = np.log(np.maximum(sc[fi, None] * pc + (1.0 - sc[fi, None]) * (1.0 - pc), 1e-12))
        logpost = np.tile(np.log(1.0 - KAPPA + 1e-9), (n_skills, 1))
        np.add.at(logpost, s_idx[fi], like)
        post = np.exp(logpost - logpost.max(axis=1, keepdims=True))
        kappa = (post / post.sum(axis=1, keepdims=True)) @ KAPPA
        q = p.copy()
        q[fi] = p[fi] + (1.0 - p[fi]) * kappa[s_idx[fi]]
        cur = q[steps[:, 0]] if steps.size else np.zeros(0)
        for j in range(steps.shape[1]):  # all sequences one step at a time
            live = steps[:, j] >= 0
            i = steps[live, j]
            c = cur[live]
            q[i] = c
            known = c + (1.0 - c) * np.minimum(m_t[i], 0.999)
            lk = sc[i] * (1.0 - self.slip) + (1.0 - sc[i]) * self.slip
            lu = sc[i] * self.guess + (1.0 - sc[i]) * (1.0 - self.guess)
            cur[live] = known * lk / (known * lk + (1.0 - known) * lu)
        return q

    def _accumulate(self, q, t, sc, counts, a_idx, n_acts, lf_rows, lf_cols, n_lf
                    ) -> tuple[np.ndarray, np.ndarray]:
        """(n_acts, G) activity and (n_lf, G) learner-format log-likelihoods of the counted
        tickets (every observed activity has a row; zero: no counted ticket)."""
        idx = np.nonzero(counts)[0]
        ll = self._loglik(q[idx], t[idx], sc[idx]) if len(idx) else np.zeros((0, len(GRID)))
        pos = np.full(len(q), -1, dtype=np.int64)
        pos[idx] = np.arange(len(idx))
        act_mat = _sum_rows(ll, a_idx[idx], n_acts)
        lf_mat = _sum_rows(ll[pos[lf_rows]], lf_cols, n_lf)
        return act_mat, lf_mat

    def _means(self, act_ll: dict, sds: tuple) -> dict[str, float]:
        """Posterior-mean multipliers of the observed activities given ``act_ll``."""
        acts = [self._acts[a] for a in act_ll]
        means = self.posterior_matrix(acts, act_ll=act_ll, sds=sds) @ GRID if acts else []
        return {a.id: float(m) for a, m in zip(acts, means, strict=True)}

    # ---------------------------------------------------------------- posteriors
    def _group_posteriors(self, act_ll: Mapping | None = None, sds: tuple | None = None
                          ) -> dict[tuple[str, str], np.ndarray]:
        """Log-posterior of each group's multiplier: its activities' likelihoods (``act_ll``,
        default the fitted ones) each integrated over e_a, times the group prior (``sds``:
        default :attr:`prior_sds`)."""
        act_ll = self._act_ll if act_ll is None else act_ll
        g_sd, a_sd, _ = self.prior_sds if sds is None else sds
        logg = np.log(GRID)
        out: dict[tuple[str, str], np.ndarray] = {}
        if not act_ll:
            return out
        aids = list(act_ll)
        ll = np.stack([act_ll[a] for a in aids])
        marg = _log_matmul(ll, normal_kernel(a_sd).T)  # over m_a, per m_g
        for aid, row in zip(aids, marg, strict=True):
            g = self._group_of[aid]
            out[g] = out.get(g, group_log_prior(logg, g_sd)) + row
        return out

    def activity_posterior(self, activity: PlanActivity, groups: Mapping | None = None
                           ) -> np.ndarray:
        """(G,) posterior probabilities of ``activity``'s multiplier on ``GRID`` (the group
        prior from the other activities of its kind and modality; the catalog prior alone when
        nothing is known): the row of :meth:`posterior_matrix`."""
        return self.posterior_matrix((activity,), groups=groups)[0]

    def multiplier(self, activity: PlanActivity) -> float:
        """Posterior mean multiplier of ``activity`` (1 with no evidence anywhere)."""
        return float(self.activity_posterior(activity) @ GRID)

    def sample(self, activity: PlanActivity, rng: np.random.Generator) -> float:
        """One Thompson draw of ``activity``'s multiplier."""
        return float(rng.choice(GRID, p=self.activity_posterior(activity)))

    def learner_format_multiplier(self, learner_id: str, fmt: str, declared: bool) -> float:
        """Posterior mean of how much format ``fmt`` multiplies this learner's learning,
        starting from ``declared_boost`` when the format is a declared preference."""
        mu = np.log(self.declared_boost) if declared else 0.0
        prior = -0.5 * ((np.log(GRID) - mu) / self.prior_sds[2]) ** 2
        ll = self._lf_ll.get((learner_id, fmt, declared), 0.0)
        return float(_normalise(prior + ll) @ GRID)

    @property
    def learns_formats(self) -> bool:
        """True once any learner-format evidence is stored (``adjusted`` then scales every
        activity of a learner by their format multiplier)."""
        return bool(self._lf_ll)

    def posterior_matrix(self, catalog: Sequence[PlanActivity], *, act_ll: Mapping | None = None,
                         groups: Mapping | None = None, sds: tuple | None = None) -> np.ndarray:
        """(len(catalog), G) posterior probabilities of every activity's multiplier on
        ``GRID``, computed at once: the group prior from the other activities of its kind and
        modality (leave-one-out), times its own likelihood. ``act_ll``: the activities'
        likelihoods (default the fitted ones); ``groups``: their :meth:`_group_posteriors`
        when the caller has them; ``sds``: the prior spreads (default :attr:`prior_sds`)."""
        act_ll = self._act_ll if act_ll is None else act_ll
        sds = self.prior_sds if sds is None else sds
        k_act = normal_kernel(sds[1])  # (G, G): m_a | m_g
        groups = self._group_posteriors(act_ll, sds) if groups is None else groups
        prior_g = group_log_prior(np.log(GRID), sds[0])
        n = len(catalog)
        lg = np.empty((n, len(GRID)))
        own = np.zeros((n, len(GRID)))
        has = np.zeros(n, dtype=bool)
        for i, a in enumerate(catalog):
            lg[i] = groups.get(self._group(a), prior_g)
            ll = act_ll.get(a.id)
            if ll is not None and self._group(a) in groups:
                own[i], has[i] = ll, True
        if has.any():  # leave-one-out: the group posterior without the activity's own evidence
            lg[has] -= _log_matmul(own[has], k_act.T)
        prior = _log_matmul(lg, k_act)  # over m_g, per m_a
        post = prior + own
        post = np.exp(post - post.max(axis=1, keepdims=True))
        return post / post.sum(axis=1, keepdims=True)

    def mean_multipliers(self, catalog: Sequence[PlanActivity]) -> dict[str, float]:
        """Activity id -> posterior-mean multiplier for the activities ``adjusted`` scales
        (a kind x modality group with evidence, or every one once ``learns_formats``); the
        activity part of ``adjusted(catalog, rng=None)``, computed once for many learners."""
        groups = self._group_posteriors()
        acts = [a for a in catalog if self._group(a) in groups or self._lf_ll]
        if not acts:
            return {}
        means = self.posterior_matrix(acts, groups=groups) @ GRID
        return {a.id: float(m) for a, m in zip(acts, means, strict=True)}

    def adjusted(self, catalog: Sequence[PlanActivity], *, rng: np.random.Generator | None = None,
                 learner_id: str | None = None, preferred_formats: Iterable[str] = ()
                 ) -> list[PlanActivity]:
        """The catalog with each ``p_learn`` scaled by the activity's multiplier (posterior
        mean, or a Thompson draw when ``rng`` is given) and, for ``learner_id``, by the
        learner-format multiplier of its first format; capped at 0.95."""
        declared = set(preferred_formats)
        groups = self._group_posteriors()
        acts = [a for a in catalog
                if self._group(a) in groups or (learner_id is not None and self._lf_ll)]
        mult: dict[str, float] = {}
        if acts:
            post = self.posterior_matrix(acts, groups=groups)
            lf: dict[str, float] = {}
            for a, row in zip(acts, post, strict=True):
                m = float(rng.choice(GRID, p=row)) if rng is not None else float(row @ GRID)
                if learner_id is not None:
                    f = a.format_keys[0]
                    if f not in lf:
                        lf[f] = self.learner_format_multiplier(learner_id, f, f in declared)
                    m *= lf[f]
                mult[a.id] = m
        return rescaled(catalog, mult, relative=self.relative, per_skill=self.per_skill)
