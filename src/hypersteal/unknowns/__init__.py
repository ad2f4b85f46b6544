"""Beyond λ: hyperparameters that are usually known, stolen together with λ from the same stationarity conditions.

* **Class weights** (``class_weight``): the loss gradient of each class's rows is a column of its own, so the
  conditions stay linear in the weights and λ together (:mod:`._class_weight`); hinge losses, whose margin points
  make the bound of their free weights move with the class weight, go by variable projection.
* **Kernel parameters** (``gamma``, ``degree``, ``coef0``): by variable projection — for each value the Gram
  matrix and λ by least squares; the value is the one whose conditions hold best, the interval where the residual
  stays within :data:`PROFILE_FACTOR` of that best (:mod:`._kernel`, :mod:`._profile`).

See docs/unknowns.md for the measured accuracy and how sharply each is determined.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping

import numpy as np

from .. import _policy
from .._validation import InputError
from ..attack import judge
from ..registry import LEARNERS, canonical_name
from ..result import Status
from ._class_weight import balanced_ratios, class_weight_linear, class_weight_profile, linear_route
from ._kernel import KERNEL_UNKNOWNS, check_kernel_unknowns, kernel_profile
from ._profile import PROFILE_FACTOR
from ._result import SCALE_INVARIANCE, JointResult, _key

__all__ = ["steal_jointly", "JointResult", "UNKNOWNS", "PROFILE_FACTOR"]

#: what may be unknown besides λ
UNKNOWNS = ("class_weight", *KERNEL_UNKNOWNS, "epsilon")


def _parse_unknown(unknown) -> set[str]:
    names = unknown.split(",") if isinstance(unknown, str) else list(unknown)
    names = {str(n).strip() for n in names if str(n).strip()}
    bad = sorted(names - set(UNKNOWNS))
    if bad or not names:
        raise InputError(f"unknown must name at least one of {', '.join(UNKNOWNS)} (comma-separated); got "
                         f"{', '.join(bad) or 'nothing'}.")
    if "class_weight" in names and len(names) > 1:
        raise InputError("class_weight and kernel parameters are not stolen together (each profile point would need "
                         "a second search); pass unknown='class_weight' or the kernel parameters.")
    if "epsilon" in names and len(names) > 1:
        raise InputError("epsilon (a support vector regressor's tube width) is stolen alone with λ; pass "
                         "unknown='epsilon'.")
    return names


def _problem_of(estimator, X, y, sample_weight, unknown: set[str]):
    """The attack of a fitted scikit-learn estimator, with what is unknown taken out of what it says."""
    from ..adapters.sklearn import SUPPORTED, leaf_problems

    kind = type(estimator).__name__
    if kind not in SUPPORTED:
        raise InputError(f"steal_jointly takes the plain estimators hypersteal supports "
                         f"({', '.join(sorted(SUPPORTED))}); got {kind}.")
    est = copy.copy(estimator)
    if "class_weight" in unknown:
        if not hasattr(est, "class_weight"):
            raise InputError(f"{kind} has no class_weight to steal.")
        if kind in ("LinearSVC", "SVC") and len(est.classes_) > 2:
            raise InputError(f"{kind} with more than two classes weighs each class in its own sub-problems "
                             "(one-vs-rest, one-vs-one); unknown class weights are stolen for two classes.")
        est.class_weight = None  # unknown: not passed to the attack as known row weights
    problems = leaf_problems(kind, est, X, y, sample_weight)
    if len(problems) != 1:
        raise InputError(f"{kind} here is {len(problems)} sub-problems sharing λ; steal_jointly takes one problem.")
    p = problems[0]
    if unknown & set(KERNEL_UNKNOWNS) and not p.algorithm.startswith("kernel_"):
        raise InputError(f"{kind} is not a kernel model here ({p.algorithm}); kernel parameters cannot be unknown.")
    if p.options.get("kernel") == "precomputed":
        raise InputError(f"{kind}'s kernel {getattr(estimator, 'kernel', '?')!r} is evaluated by scikit-learn itself; "
                         "its parameters cannot be unknown here.")
    return p.algorithm, p.X, p.y, p.params, dict(p.options), p.to_native, p.sample_weight, kind


def _status(inner: Status, residual: float, ranges: list[tuple[float, tuple[float, float]]]) -> Status:
    """The joint verdict: the λ attack's, unless a profiled value's interval is wider than a point allows (the one
    rule, :func:`hypersteal.attack.judge`, on each (value, interval); a value that may be 0 or negative, coef0, is
    judged on its interval shifted to centre |value|, or 1 at 0)."""
    if inner is Status.NOT_A_MINIMUM or not ranges:
        return inner
    centres = [abs(v) if v else 1.0 for v, _ in ranges]
    shifted = [(lo - v + c, hi - v + c) for (v, (lo, hi)), c in zip(ranges, centres)]
    status, _ = judge(centres, shifted, residual, structural=False)  # a profile's width is what its residual allows
    if status.has_value:
        return status if inner is Status.EXACT else inner
    return Status.NOT_IDENTIFIABLE if inner is Status.NOT_IDENTIFIABLE else Status.INTERVAL_ONLY


def _native(to_native, lambdas: dict, extra: dict) -> dict:
    return {**{k: float(v) for k, v in to_native(lambdas).items()}, **extra} if to_native else {}


def steal_jointly(model, X, y, params: Mapping | None = None, *, unknown: str | Iterable[str],
                  sample_weight=None, grid=None, **model_options) -> JointResult:
    """Steal λ together with hyperparameters that are usually taken as known: class weights, kernel parameters.

    Parameters
    ----------
    model : str or fitted scikit-learn estimator
        The learner's name (as for :func:`hypersteal.steal`, with ``params``), or a fitted estimator
        (``LogisticRegression``, ``LinearSVC``, ``SVC``, ``KernelRidge``, …): then its parameters and known options
        are read from it, the unknown ones are not, and :attr:`JointResult.native` names the result as it does.
    X, y : array-like
        The training data and targets or labels.
    params : mapping, optional
        The learned parameters in scikit-learn's names (with ``model`` a name).
    unknown : str or sequence of str
        What is unknown besides λ: ``"class_weight"``; or kernel parameters ``"gamma"``, ``"degree"``,
        ``"coef0"`` (one of gamma and coef0, with or without the degree); or ``"epsilon"``: the tube width of a
        kernel support vector regressor (``SVR``, ``NuSVR``: from which points sit on the tube's edge) or
        ``HuberRegressor``'s (from the scale's condition). A comma-separated string is read too.
    sample_weight : array-like of shape (n,), optional
        Known row weights besides the class weights.
    grid : array-like, optional
        The values a profiled parameter (γ, coef0, a hinge learner's weight ratio) starts from; by default a
        log grid of eight decades around the data's scale (γ), [−5, 5] (coef0), [1e-4, 1e4] (ratio).
    **model_options
        The learner's known options, as for :func:`hypersteal.steal` (``kernel``, the known kernel parameters,
        ``fit_intercept``, ``intercept_scaling``).

    Returns
    -------
    JointResult
        ``.hyperparameters``, ``.intervals``, ``.status``, ``.balanced``, ``.native``, ``.invariance``,
        ``.curve``, ``.summary()``, ``.to_dict()``.

    Examples
    --------
    >>> import numpy as np, hypersteal
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> y = (X @ [1.0, -1.0, 0.5] + rng.normal(size=200) > 1).astype(int)
    >>> m = LogisticRegression(C=2.0, class_weight={0: 1.0, 1: 4.0}, tol=1e-12, max_iter=10000).fit(X, y)
    >>> r = hypersteal.steal_jointly(m, X, y, unknown="class_weight")
    >>> round(r.class_weight[1], 4), round(r.native["C"], 4)
    (4.0, 2.0)
    """
    wanted = _parse_unknown(unknown)
    to_native, kind = None, None
    if isinstance(model, str):
        if params is None:
            raise InputError("steal_jointly(name, X, y, params, ...) needs the parameters; or pass a fitted estimator "
                             "as model.")
        algorithm = canonical_name(model)
    else:
        if params is not None:
            raise InputError("pass either a fitted estimator or a learner's name with params, not both.")
        if not hasattr(model, "get_params"):
            raise TypeError(f"model must be a learner's name or a fitted scikit-learn estimator, got "
                            f"{type(model).__name__}.")
        algorithm, X, y, params, opts, to_native, sample_weight, kind = _problem_of(model, X, y, sample_weight, wanted)
        model_options = {**opts, **model_options}
    rec = LEARNERS[algorithm]
    if "epsilon" in wanted:
        return _epsilon(algorithm, X, y, params, sample_weight, model_options, to_native)
    if "class_weight" in wanted:
        if rec.task != "classification":
            raise InputError(f"{algorithm} is a regression learner: class_weight is an unknown of classifiers.")
        labels = getattr(model, "classes_", None)  # an estimator's own labels (its y may reach us encoded)
        from ..adapters._weights import ROW_WEIGHTED

        # "balanced" counts rows, or sample weights where the estimator does (ROW_WEIGHTED)
        counted = sample_weight if kind is None or ROW_WEIGHTED.get(kind) == "weighted" else None
        return _class_weights(algorithm, X, y, params, sample_weight, grid, model_options, to_native, labels, counted)
    if rec.family != "kernel":
        raise InputError(f"{algorithm} is not a kernel learner: it has no kernel parameters.")
    kernel = model_options.pop("kernel", "rbf")
    check_kernel_unknowns(kernel, wanted)
    known = {k: model_options.pop(k) for k in KERNEL_UNKNOWNS if k in model_options}
    for k in wanted:
        known.pop(k, None)
    fit, inner, values, intervals, curve = kernel_profile(algorithm, X, y, params, kernel=kernel, unknown=wanted,
                                                     known=known, sample_weight=sample_weight, grid=grid,
                                                     **model_options)
    found = {**inner.estimate, **values}
    ranges = [(values[k], intervals[k]) for k in sorted(wanted) if k != "degree"]
    status = _status(inner.status, fit, ranges)
    native = _native(to_native, inner.estimate, {k: values[k] for k in wanted})
    return JointResult(algorithm, tuple(sorted(wanted)), found, {**inner.intervals, **intervals}, status,
                       float(fit), inner.n_equations, native=native, curve=curve,
                       warnings=list(inner.warnings))


def _epsilon(algorithm, X, y, params, sample_weight, options, to_native) -> JointResult:
    """ε and λ at that ε (:mod:`hypersteal.attack.shape`: a kernel SVR's from which points sit on its tube's edge,
    Huber regression's from its scale's condition), judged as the other unknowns are."""
    from ..attack import steal

    options = {k: v for k, v in options.items() if k != "epsilon"}
    inner = steal(algorithm, X, y, params, sample_weight=sample_weight, epsilon=None, **options)
    shape = inner.shape["epsilon"]
    lo, hi = shape["interval"]
    centre = shape["value"] if shape["determined"] else (lo + hi) / 2 if np.isfinite(hi) else hi
    status = _status(inner.status, inner.residual, [(centre, (lo, hi))])
    # an ε the conditions leave a range of is reported as its centre where that range is narrow enough to count
    value = shape["value"] if shape["determined"] else centre if status.has_value else float("nan")
    native = _native(to_native, inner.estimate, {"epsilon": value})
    return JointResult(algorithm, ("epsilon",), {**inner.estimate, "epsilon": value},
                       {**inner.intervals, "epsilon": (float(lo), float(hi))}, status, float(inner.residual),
                       inner.n_equations, native=native, warnings=list(inner.warnings))


def _class_weights(algorithm, X, y, params, sample_weight, grid, options, to_native, labels=None,
                   counted=None) -> JointResult:
    if linear_route(algorithm):
        classes, idx, est, ivs, residual, status, n_eq, lam_names = class_weight_linear(
            algorithm, X, y, params, sample_weight=sample_weight, **options)
        K = len(classes)
        ratios, ratio_ivs = np.concatenate([[1.0], est[:K - 1]]), [(1.0, 1.0), *ivs[:K - 1]]
        lambdas = dict(zip(lam_names, est[K - 1:]))
        lam_ivs = dict(zip(lam_names, ivs[K - 1:]))
        curve = []
    else:
        classes, idx, prof = class_weight_profile(algorithm, X, y, params, sample_weight=sample_weight, grid=grid,
                                                  **options)
        inner = prof.inner
        ratios, ratio_ivs = np.array([1.0, prof.value]), [(1.0, 1.0), prof.interval]
        lambdas, lam_ivs = dict(inner.estimate), dict(inner.intervals)
        residual, n_eq, curve = prof.residual, inner.n_equations, prof.curve
        status = _status(inner.status, residual, [(prof.value, prof.interval)])
    labels = [_key(c) for c in (classes if labels is None or len(labels) != len(classes) else labels)]
    balanced_at = balanced_ratios(idx, len(classes), counted)
    balanced = bool(all(lo * (1 - _policy.IDENTIFIABLE_RTOL) <= r <= hi * (1 + _policy.IDENTIFIABLE_RTOL)
                        for r, (lo, hi) in zip(balanced_at[1:], ratio_ivs[1:])))
    native = {}
    if to_native is not None:
        if balanced:  # at the balanced weights' own scale: the first class weighs n / (K n_0)
            n = len(idx) if counted is None else float(np.sum(counted))
            s = n / (len(classes) * np.bincount(idx, weights=counted, minlength=len(classes))[0])
            native = _native(to_native, {k: s * v for k, v in lambdas.items()}, {"class_weight": "balanced"})
        else:
            native = _native(to_native, lambdas, {"class_weight": dict(zip(labels, map(float, ratios)))})
    found = {**lambdas, "class_weight": dict(zip(labels, map(float, ratios)))}
    intervals = {**lam_ivs, "class_weight": dict(zip(labels, [tuple(map(float, iv)) for iv in ratio_ivs]))}
    return JointResult(algorithm, ("class_weight",), found, intervals, status, float(residual), n_eq,
                       balanced=balanced, native=native, invariance=SCALE_INVARIANCE, curve=curve)

