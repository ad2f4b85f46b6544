"""Which learner trained these parameters: every compatible registered learner, ranked by how well its
stationarity conditions hold.

A learner is *compatible* when the parameters have its family's layout (``coef``/``intercept``: linear;
``dual_coef``: kernel; ``coefs``/``intercepts``: a network) and y is its kind of target (regression values
or class labels). Each compatible learner is attacked with :func:`hypersteal.steal`; its *score* is the
relative stationarity residual, and for hinge losses at least the distance ``|y f − 1|`` of the farthest
point the attack treated as lying on the margin (a margin point's subgradient weight is free, so a point
at 1e-3 from the margin is explained at residual 0 — the distance is what it costs). The verdict:

* ``identified`` — one candidate is at or near a minimum (status exact or approximate; or, where its λ is
  only a range, a score ≤ 1e-3, the residual below which ``steal`` calls parameters stationary) and every
  other scores more than :data:`CLEAR_RATIO` times worse, or is excluded outright (its conditions contradict
  each other, or they hold only at λ = 0, where no penalty shaped the parameters). When the best one's λ is
  only a range (a hinge SVM on separable data, an L1 model with zero weights), its free weights may explain
  much: when that range reaches λ = 0 or has no upper end at a score above round-off, or when it has no
  more equations than λs (then it fits any gradient), every other must be no minimum at all (score ≥ 0.5,
  ``steal``'s "not a minimum");
* ``cannot_tell`` — several candidates are within that ratio of the best: :attr:`Identification.tied`;
* ``no_match`` — the best candidate is not at or near a minimum (rounded or early-stopped parameters,
  another learner, other data or kernel options).

Nested learners (an elastic net contains ridge at λ₁ = 0 and LASSO at λ₂ = 0) are one model at the
boundary: an elastic net whose extra λ is pinned at 0 *reduces to* the smaller learner when that one scores
within :data:`REDUCE_RATIO` of it, and does not compete with it; an extra λ the parameters do resolve, but
barely, leaves the two tied. See docs/identify.md for the measured confusion matrix.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from . import _policy
from ._identified import EXIT_CODES, Candidate, Identification, Verdict
from ._lazy import is_lazy
from ._policy import CLEAR_RATIO, REDUCE_RATIO, ROUND_OFF
from ._validation import InputError, check_options
from .registry import LEARNERS, Learner, canonical_name
from .result import Status, StealResult

__all__ = ["identify", "Identification", "Candidate", "Verdict", "CLEAR_RATIO", "ROUND_OFF", "REDUCE_RATIO",
           "EXIT_CODES"]

_MACHINE = 1e-13


_FAMILY_KEYS = {"coef": "linear", "dual_coef": "kernel", "coefs": "mlp"}
_KERNEL_KEYS = ("kernel", "gamma", "degree", "coef0")
#: integer-valued y with at most this many distinct values may be class labels
_MAX_CLASSES = 20



# ------------------------------------------------------------------------------------------ compatibility


def _family(params: Mapping) -> str:
    found = {fam for key, fam in _FAMILY_KEYS.items() if key in params}
    if len(found) != 1:
        raise InputError(
            f"params must hold exactly one of 'coef' (linear models), 'dual_coef' (kernel models) or 'coefs' "
            f"(networks); got keys {sorted(params)}."
        )
    return found.pop()


def _tasks(y, task: str | None) -> list[str]:
    """The tasks y can be: class labels (non-numeric, or few integer values), regression targets, or both."""
    if task is not None:
        if task not in ("regression", "classification"):
            raise InputError(f"task must be 'regression' or 'classification', got {task!r}.")
        return [task]
    if is_lazy(y):
        return ["regression", "classification"]
    y = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
    if y.ndim == 2 and y.shape[1] > 1:
        return ["regression"]
    y = y.ravel()
    if y.dtype.kind in "OUSb":
        return ["classification"]
    values = np.unique(y)
    labels = len(values) <= _MAX_CLASSES and bool(np.all(values == np.round(values)))
    if not labels:
        return ["regression"]
    return ["classification"] if len(values) <= 2 else ["regression", "classification"]


def _route_options(names: list[str], model_options: dict) -> dict[str, dict]:
    """Each candidate's share of ``model_options``; an option no candidate takes is refused."""
    from .objectives import OBJECTIVES

    accepted = {name: set(OBJECTIVES[name].option_defaults) for name in names}
    check_options(model_options, set().union(*accepted.values()) if accepted else set(), where="identify")
    return {name: {k: v for k, v in model_options.items() if k in accepted[name]} for name in names}


# ------------------------------------------------------------------------------------------ scoring


def _margin_slack(name: str, X, y, params, options, result: StealResult) -> float:
    """The largest |y f − 1| among the ``n_margin`` points nearest the margin (those the attack freed)."""
    if not LEARNERS[name].hinge or result.n_margin == 0:
        return 0.0
    from .objectives import get_objective

    objective = get_objective(name, **options)
    data = objective.prepare(X, y)
    delta = np.abs(objective.margins(data, objective.check_params(params, data))).ravel()
    k = min(result.n_margin, delta.size) - 1
    return float(np.partition(delta, k)[k])


def _attack(rec: Learner, X, y, params, options) -> Candidate:
    import warnings

    from .attack import steal

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an attack of the wrong learner warns; its status says so
        result = steal(rec.name, X, y, params, **options)
    slack = _margin_slack(rec.name, X, y, params, options, result)
    excluded = ""
    if any(lo > hi for lo, hi in result.intervals.values()) or (
            result.status is Status.NOT_A_MINIMUM and result.residual < _policy.NOT_A_MINIMUM_RESIDUAL):
        excluded = "its conditions contradict each other"
    elif all(hi <= 0 for _, hi in result.intervals.values()):
        excluded = "stationary only at λ = 0 (no penalty shaped these parameters)"
    return Candidate(rec.name, rec.paper, result.status, result.residual, slack, max(result.residual, slack),
                     dict(result.lambdas), dict(result.estimate), dict(result.intervals), excluded,
                     _lambda_equations(rec, params), rec.n_lambdas, result)


def _lambda_equations(rec: Learner, params) -> int:
    """Stationarity equations that hold a λ: one per penalised weight, less the zeros an L1 term holds
    (those only bound λ). Networks: every weight (far more than their one λ)."""
    if rec.family == "mlp":
        return sum(np.size(W) for W in params["coefs"])
    theta = np.asarray(params["coef" if rec.family == "linear" else "dual_coef"], dtype=float)
    return int(np.count_nonzero(theta)) if rec.sparse else int(theta.size)


def _weights(params) -> np.ndarray:
    return np.asarray(params["coef"], dtype=float).ravel()


def _pinned(parent: Candidate, child: Learner, params) -> bool:
    """Whether the elastic net ``parent``'s λ of the penalty ``child`` lacks is pinned at 0: its largest
    consistent value changes the gradient by no more than the residual allows (relative to the other term)."""
    drop, keep = ("lambda_l1", "lambda_l2") if child.penalty == "l2" else ("lambda_l2", "lambda_l1")
    lo, hi = parent.intervals.get(drop, (np.nan, np.nan))
    other = parent.estimate.get(keep, np.nan)
    w = _weights(params)
    norms = {"lambda_l1": math.sqrt(np.count_nonzero(w)), "lambda_l2": 2.0 * float(np.linalg.norm(w))}
    if not (lo <= 0 < norms[keep] and np.isfinite(hi) and np.isfinite(other) and other > 0):
        return False
    rho = hi * norms[drop] / (other * norms[keep])
    return rho <= CLEAR_RATIO * max(parent.score, ROUND_OFF)


def _close(a: float, b: float) -> bool:
    """Whether score ``a`` is within CLEAR_RATIO of score ``b``."""
    return a + ROUND_OFF <= CLEAR_RATIO * (b + ROUND_OFF)


def _reduce_nested(candidates: list[Candidate], params) -> None:
    """Mark elastic nets pinned to a sub-learner that is as stationary: the same model at the boundary."""
    by_name = {c.name: c for c in candidates}
    for parent in candidates:
        rec = LEARNERS[parent.name]
        if rec.penalty != "elastic_net" or parent.excluded or rec.family != "linear":
            continue
        for child in LEARNERS.values():
            c = by_name.get(child.name)
            if (c is None or c.excluded or child.penalty not in ("l1", "l2") or child.family != rec.family
                    or child.loss != rec.loss or child.task != rec.task):
                continue
            as_good = c.score + _MACHINE <= REDUCE_RATIO * (parent.score + _MACHINE)
            if as_good and _pinned(parent, child, params):
                parent.excluded = f"reduces to {child.name} (its {'λ₁' if child.penalty == 'l2' else 'λ₂'} is 0)"
                break


#: learners whose loss at ε = 0 is another learner's, with the same penalty: the same model, not a rival
_SAME_AT_ZERO_EPSILON = {"svr_squared_epsilon_insensitive": "ridge"}


def _reduce_zero_epsilon(candidates: list[Candidate], routed: dict) -> None:
    """Mark a squared ε-insensitive SVR at ε = 0 (Σ r² + λ‖w‖²: ridge regression) as the learner it is."""
    from .objectives import OBJECTIVES

    names = {c.name for c in candidates}
    for c in candidates:
        same = _SAME_AT_ZERO_EPSILON.get(c.name)
        eps = routed[c.name].get("epsilon", OBJECTIVES[c.name].option_defaults["epsilon"]) if same else None
        if same in names and eps == 0 and not c.excluded:
            c.excluded = f"is {same} (at ε = 0 its loss is the squared loss)"


def _weak(c: Candidate) -> bool:
    """Whether ``c``'s small score is no evidence: it has no more equations than unknowns (an elastic net on
    two non-zero weights fits any gradient, at residual 0), or, above round-off, its λ is a range that reaches
    0 or has no upper end (free margin weights or L1 zeros explain the parameters without the penalty: a
    far-from-converged squared-hinge fit on separable data, every point within 3e-4 of the margin, reads as a
    hinge SVM at residual 0 with λ ∈ [0, 33]). At round-off the points sit on the margin exactly, as only an
    exact hinge fit leaves them. Against a weak candidate only learners that are no minimum at all (score
    ≥ 0.5) are ruled out."""
    if c.n_equations <= c.n_unknowns:
        return True
    reaches_zero = any(lo <= 0 or not np.isfinite(hi) for lo, hi in c.intervals.values())
    return not c.status.has_value and reaches_zero and c.score > ROUND_OFF


def _penalised_intercept(X, params, scaling):
    """liblinear's penalised intercept, once for every candidate: the weight c/s of a constant feature s
    (what each objective does with ``intercept_scaling=s``, which would copy X once per candidate)."""
    import scipy.sparse as sp

    from ._validation import check_array, check_positive

    s = check_positive(scaling, "intercept_scaling")
    W = np.atleast_2d(check_array(params["coef"], "params['coef']", ndim=(1, 2)))
    c = np.broadcast_to(np.atleast_1d(np.asarray(params.get("intercept", 0.0), dtype=float)), (W.shape[0],))
    column = np.full((X.shape[0], 1), s)
    X = sp.hstack([X, column], format=X.format) if sp.issparse(X) else np.hstack([X, column])
    return X, {**params, "coef": np.hstack([W, (c / s)[:, None]]), "intercept": np.zeros(W.shape[0])}


# ------------------------------------------------------------------------------------------ entry point


def identify(X, y, params: Mapping, *, task: str | None = None, candidates=None, **model_options) -> Identification:
    """Which registered learner's stationarity conditions the parameters satisfy, and its λ.

    Parameters
    ----------
    X : array-like of shape (n, d)
        The training data.
    y : array-like of shape (n,) or (n, t)
        Targets or class labels.
    params : mapping
        The parameters in scikit-learn's names (as for :func:`hypersteal.steal`): ``coef`` and
        ``intercept`` (linear), ``dual_coef`` and ``intercept`` (kernel, with the kernel's options),
        ``coefs`` and ``intercepts`` (networks). The layout decides the family of the candidates.
    task : {"regression", "classification"}, optional
        What y is. By default: class labels when y is non-numeric or holds two values; regression
        targets when it holds non-integers or more than 20 values; both (every candidate) in between.
    candidates : sequence of str, optional
        Only these learners (any accepted spelling); by default every registered one.
    **model_options
        Passed to each candidate that takes them: ``intercept_scaling``, ``fit_intercept`` (linear);
        ``kernel``, ``gamma``, ``degree``, ``coef0``, ``form`` (kernel; the Gram matrix is computed once);
        ``activation`` (networks).

    Returns
    -------
    Identification
        ``.verdict`` (``identified``, ``cannot_tell``, ``no_match``), ``.best``, ``.tied``,
        ``.hyperparameters``, ``.candidates`` (ranked), ``.incompatible``, ``.to_dict()``, ``.summary()``.

    Examples
    --------
    >>> import numpy as np, hypersteal
    >>> from hypersteal import learners
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(80, 4))
    >>> y = (X @ [1.0, -2.0, 0.5, 0.0] + rng.normal(size=80) > 0).astype(int)
    >>> params = learners.train("svm_squared_hinge", X, y, 3.0)
    >>> found = hypersteal.identify(X, y, params)
    >>> found.verdict.value, found.best, round(found.hyperparameters["lambda"], 6)
    ('identified', 'svm_squared_hinge', 3.0)
    """
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a mapping such as {{'coef': ..., 'intercept': ...}}, got "
                        f"{type(params).__name__}.")
    family = _family(params)
    tasks = _tasks(y, task)
    wanted = None if candidates is None else {canonical_name(n) for n in candidates}
    names = [r.name for r in LEARNERS.values() if r.family == family and (wanted is None or r.name in wanted)]
    if not names:
        raise InputError(f"No registered learner among the candidates has {family} parameters.")
    routed = _route_options(names, model_options)
    if not is_lazy(X):
        import scipy.sparse as sp

        from ._validation import check_array, check_sparse

        if sp.issparse(X) and family == "linear":  # linear learners take sparse X as it is
            X = check_sparse(X, "X", finite=False)
        elif sp.issparse(X):
            raise InputError(f"the {family} candidates need a dense X, not a scipy.sparse matrix; pass X.toarray() "
                             "(it must fit in memory).")
        else:
            X = check_array(X, "X", ndim=2, finite=False)  # once, not once per candidate
    if family == "linear" and model_options.get("intercept_scaling") is not None and not is_lazy(X):
        X, params = _penalised_intercept(X, params, model_options["intercept_scaling"])
        routed = {n: {k: v for k, v in opts.items() if k != "intercept_scaling"} for n, opts in routed.items()}
    if family == "kernel" and model_options.get("kernel") != "precomputed":
        from .kernels import Kernel

        o = model_options
        X = Kernel(o.get("kernel", "rbf"), gamma=o.get("gamma"), degree=o.get("degree", 3),
                   coef0=o.get("coef0", 1.0))(X)  # one Gram matrix for every kernel candidate
        routed = {n: {**{k: v for k, v in opts.items() if k not in _KERNEL_KEYS}, "kernel": "precomputed"}
                  for n, opts in routed.items()}

    ranked, incompatible = [], {}
    for name in names:
        rec = LEARNERS[name]
        if rec.task not in tasks:
            incompatible[name] = f"a {rec.task} learner; y was read as {' or '.join(tasks)} (pass task= to override)"
            continue
        try:
            ranked.append(_attack(rec, X, y, params, routed[name]))
        except InputError as exc:
            incompatible[name] = str(exc)
    _reduce_nested(ranked, params)
    _reduce_zero_epsilon(ranked, routed)
    competing = [c for c in ranked if not c.excluded]
    competing.sort(key=lambda c: c.score)
    ranked = competing + [c for c in ranked if c.excluded]
    if not competing:
        verdict, best, tied = Verdict.NO_MATCH, None, []
    else:
        lead = competing[0]
        tied = [c.name for c in competing if _close(c.score, lead.score)]
        if _weak(lead):
            tied += [c.name for c in competing[1:] if c.name not in tied and c.score < _policy.NOT_A_MINIMUM_RESIDUAL]
        if not lead.stationary:
            verdict, best = Verdict.NO_MATCH, None
        elif len(tied) == 1:
            verdict, best = Verdict.IDENTIFIED, lead.name
        else:
            verdict, best = Verdict.CANNOT_TELL, lead.name
    return Identification(verdict=verdict, best=best, tied=tied, candidates=ranked, incompatible=incompatible,
                          family=family, tasks=tasks, options=dict(model_options))

