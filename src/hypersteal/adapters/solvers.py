"""What a scikit-learn solver guarantees at its stopping point, and replaying its training.

Models are released as their solver left them: near a minimum, not at one. Two things the attacker
knows besides the parameters and the data make that gap small:

* **The solver's stopping rule.** Each rule below turns what the solver checked before it stopped into a bound
  on the paper-scale gradient at its own λ (:class:`~hypersteal.attack.GradientBound`); every λ that the bound
  allows is in the interval. L-BFGS, Newton-CG and Newton-Cholesky stop at max|∇| ≤ ``tol`` on scikit-learn's
  objective, the paper's divided by n, so max|∇F(θ)| ≤ n·tol. liblinear's TRON (L2 logistic regression,
  ``LinearSVC``'s squared hinge on the primal) stops at a relative ‖∇‖₂ and newGLMNET (L1 logistic regression)
  at a relative ℓ1 norm of the minimum-norm subgradient; both convert to bounds that need no λ (or shrink as
  λ grows). These are rigorous for a solver that stopped by its rule. sag and saga stop on the change of w in
  an epoch, which bounds no gradient: their bound is a heuristic with a calibrated factor (SAG_GRADIENT_FACTOR).
  liblinear's dual coordinate descent (``LinearSVC(loss="hinge")``) gets no rule: its projected-gradient
  criterion bounds the points' margins, not the primal gradient. Converged fits are solved exactly by the
  hinge attack's margin search (measured in benchmarks/realistic.py); fits stopped by ``max_iter`` are no minimum.
* **The training procedure itself.** The paper's attacker knows the learning algorithm. When it is
  deterministic given its settings (a fixed ``random_state``, or no randomness at all), training it
  again at a candidate value reproduces the released parameters exactly at the true value and not
  elsewhere: λ̂ = argmin over the value of ‖θ(value) − θ‖. This recovers λ from models stopped far
  from any minimum (SGD, Adam, ``max_iter`` reached), where stationarity can only bound it. It costs
  tens of trainings, so it runs only where stationarity gave no exact answer.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..attack import GradientBound

__all__ = ["gradient_bound", "glmnet_intervals", "gap_intervals", "replay", "replayable", "refine", "Replay",
           "REPLAY_RTOL", "REPLAY_BUDGET"]

#: Replayed parameters this close (relative) to the released ones are a reproduction, not a fit.
REPLAY_RTOL = 1e-7

#: Seconds of retraining a replay may spend by default (``replay="auto"``). Replay pays when trainings are cheap
#: (a LogisticRegression on a few hundred rows: milliseconds each); the MLPs of benchmarks/realistic.py take
#: 20–60 s (tens of trainings of 200 Adam epochs), while a saga fit at tol 1e-13 on 300 rows took seconds per
#: training and 7 minutes in all. Past the budget, λ rests on the stationarity conditions, and the result says so.
REPLAY_BUDGET = 60.0


def _converged(est) -> bool:
    n_iter, max_iter = getattr(est, "n_iter_", None), getattr(est, "max_iter", None)
    return n_iter is not None and max_iter is not None and np.max(n_iter) < max_iter


#: sag/saga: the multiple of tol·max|w|/step_eff that bounds max|∇F| at the released θ (calibrated, not derived).
#: Over 519 converged fits (seven binary datasets raw and standardised, C = 10⁻³…10³, tol 10⁻³ and 10⁻⁴, three
#: seeds; sag 261, saga 258) the ratio had median 1.4, 95th percentile 4.8, 99th 28.5 and was ≤ 10 in 98.8 %
#: of fits for either solver (docs/realistic.md). Fits heavily penalised (C = 10⁻³) make up the tail.
SAG_GRADIENT_FACTOR = 10.0


def _binary(est) -> bool:
    return len(getattr(est, "classes_", ())) == 2


def _signs(est, y) -> np.ndarray:
    """The ±1 labels liblinear and the sag solvers train on (+1: ``classes_[1]``; the sign never matters below)."""
    return np.where(np.asarray(y) == est.classes_[1], 1.0, -1.0)


def _augmented_dot(est, X, t) -> np.ndarray:
    """X̃ᵀt, X̃ = X with liblinear's constant feature ``intercept_scaling`` appended (its weight is the penalised
    intercept); X dense or scipy.sparse."""
    g = np.asarray(X.T @ t, dtype=float).ravel()
    return np.append(g, float(est.intercept_scaling) * t.sum()) if est.fit_intercept else g


def _max_row_norm2(X) -> float:
    """The largest squared row norm of X, dense or scipy.sparse."""
    if hasattr(X, "multiply") and hasattr(X, "nnz"):
        return float(np.max(np.asarray(X.multiply(X).sum(axis=1))))
    X = np.asarray(X, dtype=float)
    return float(np.max(np.einsum("ij,ij->i", X, X)))


def _liblinear_eps(est, t) -> float:
    """liblinear's tolerance for its primal solvers (``train_one`` in linear.cpp): tol·max(min(#pos, #neg), 1)/n."""
    pos = int(np.sum(t > 0))
    return float(est.tol) * max(min(pos, t.size - pos), 1) / t.size


def _l1_ratio(est) -> float | None:
    """LogisticRegression's share of L1 penalty (``penalty`` where given, else ``l1_ratio``); None: no penalty."""
    penalty = getattr(est, "penalty", "deprecated")
    if penalty in ("deprecated", "elasticnet"):
        return float(est.l1_ratio or 0.0)
    return {"l1": 1.0, "l2": 0.0}.get(penalty)


def _liblinear_solver(est, n_rows) -> str | None:
    """Which liblinear solver trained ``est``: "tron" (trust-region Newton on the primal: L2 logistic regression,
    LinearSVC's squared hinge with dual=False), "glmnet" (newGLMNET: L1 logistic regression), "dual" (coordinate
    descent on a dual) or None (not liblinear)."""
    name = type(est).__name__
    if name == "LogisticRegression" and est.solver == "liblinear":
        if _l1_ratio(est) == 1.0:
            return "glmnet"
        return "dual" if est.dual else "tron"
    if name == "LinearSVC":
        if est.loss == "hinge" or est.penalty != "l2":
            return "dual" if est.loss == "hinge" else None
        dual = est.dual if est.dual != "auto" else n_rows < est.n_features_in_  # scikit-learn's choice for "auto"
        return "dual" if dual else "tron"
    return None


def _newton_rule(est, X, y):
    """L-BFGS, Newton-CG, Newton-Cholesky stop at max|∇| ≤ tol on scikit-learn's objective (the paper's / n)."""
    if type(est).__name__ != "LogisticRegression" or est.solver not in ("lbfgs", "newton-cg", "newton-cholesky"):
        return None
    rule = {"lbfgs": "L-BFGS", "newton-cg": "Newton-CG", "newton-cholesky": "Newton-Cholesky"}[est.solver]
    return GradientBound(bound=X.shape[0] * float(est.tol), norm="inf",
                         rule=f"{rule} stopped at max|∇| ≤ tol = {est.tol:g}")


def _tron_rule(est, X, y):
    """liblinear's trust-region Newton method (TRON) stops at ‖∇f(w)‖₂ ≤ ε·‖∇f(0)‖₂, ε = :func:`_liblinear_eps`, on
    f = ½‖w̃‖² + C·L(w̃) (w̃ the weights and the intercept's weight on the constant feature; L the summed loss).
    The paper's objective is F = L + λ‖w̃‖² = f/C (λ = 1/(2C)), and ∇f(0) = C·∇L(0), so at its own λ the released
    θ satisfies ‖∇F(θ)‖₂ ≤ ε·‖∇L(0)‖₂, a number that needs no λ: ∇L(0) = −½X̃ᵀt (logistic), −2X̃ᵀt (squared hinge)."""
    if _liblinear_solver(est, X.shape[0]) != "tron" or not _binary(est):
        return None
    t = _signs(est, y)
    g0 = _augmented_dot(est, X, t) * (0.5 if type(est).__name__ == "LogisticRegression" else 2.0)
    return GradientBound(bound=_liblinear_eps(est, t) * float(np.linalg.norm(g0)), norm="2",
                         rule=f"liblinear TRON stopped at ‖∇f‖₂ ≤ ε·‖∇f(0)‖₂ (tol = {est.tol:g})")


def _sag_step(est, X) -> float:
    """The step along the paper's summed gradient that one epoch of sag/saga takes: scikit-learn's step size for
    the log loss (``get_auto_step_size``, alpha = 1/(C·n)) times (1 − e⁻ᶻ)/z, z = step/C. One epoch is n steps
    of size ``step`` along the mean gradient, about one step along the summed one, except that the penalty alone
    shrinks w by (1 − step/(C·n))ⁿ ≈ e⁻ᶻ an epoch: heavily penalised fits move less than one step."""
    n = X.shape[0]
    alpha = 1.0 / (float(est.C) * n)
    L = 0.25 * (_max_row_norm2(X) + int(est.fit_intercept)) + alpha
    step = 1.0 / (2 * L + min(2 * n * alpha, L)) if est.solver == "saga" else 1.0 / L
    z = step / float(est.C)
    return step * (-np.expm1(-z) / z if z > 0 else 1.0)


def _sag_rule(est, X, y):
    """sag and saga stop when an epoch changes no weight by more than tol·max|w|; an epoch moves w by about
    step_eff·∇F (:func:`_sag_step`), so max|∇F| is about tol·max|w|/step_eff. That is a heuristic, not a
    guarantee: the bound is SAG_GRADIENT_FACTOR times it, a factor calibrated on real fits (binary, L2 only)."""
    if type(est).__name__ != "LogisticRegression" or est.solver not in ("sag", "saga") or not _binary(est):
        return None
    if _l1_ratio(est) != 0.0:
        return None
    top = float(np.max(np.abs(est.coef_)))
    if top == 0:
        return None
    bound = SAG_GRADIENT_FACTOR * float(est.tol) * top / _sag_step(est, X)
    return GradientBound(bound=bound, norm="inf",
                         rule=f"{est.solver} stopped at max|Δw| ≤ tol·max|w| (tol = {est.tol:g}; calibrated, "
                              f"not guaranteed)")


#: the stopping rules, tried in turn; each returns a GradientBound for the estimators it applies to
_RULES = (_newton_rule, _tron_rule, _sag_rule)


def gradient_bound(est, X, y) -> GradientBound | None:
    """What the estimator's solver guarantees at its stopping point, as a bound on the paper-scale gradient at
    its own λ (for sag/saga: a calibrated bound), or None where no rule applies or the solver hit ``max_iter``.
    newGLMNET's rule is not a bound on the gradient but on the sum of the violations: :func:`glmnet_intervals`."""
    if not _converged(est):
        return None
    for rule in _RULES:
        bound = rule(est, X, y)
        if bound is not None:
            return bound
    return None


def _theta(est) -> np.ndarray:
    parts = []
    for attr in ("coef_", "intercept_", "dual_coef_", "coefs_", "intercepts_"):
        v = getattr(est, attr, None)
        if v is None:
            continue
        if isinstance(v, list):
            parts += [np.ravel(np.asarray(a, dtype=float)) for a in v]
        else:
            parts.append(np.ravel(np.asarray(v, dtype=float)))
    return np.concatenate(parts) if parts else np.zeros(0)


def _random(est, n_rows: int) -> bool:
    """Whether the estimator's solver draws random numbers (shuffles, initial weights, sampling)."""
    name = type(est).__name__
    if name.startswith(("SGD", "MLP")):
        return True
    if name == "LogisticRegression" and est.solver in ("sag", "saga"):
        return True
    if name == "LinearSVC" or (name == "LogisticRegression" and est.solver == "liblinear"):
        # liblinear's coordinate descents (dual, newGLMNET's inner loop) shuffle; TRON, its primal Newton method,
        # does not
        return _liblinear_solver(est, n_rows) != "tron"
    return getattr(est, "selection", "cyclic") == "random"


def replayable(est, n_rows: int) -> bool:
    """Whether training ``est`` again with the same settings gives the same parameters."""
    return not _random(est, n_rows) or isinstance(getattr(est, "random_state", None), (int, np.integer))


@dataclass
class Replay:
    """The outcome of :func:`replay`: the λs whose training reproduces θ best, and how well."""

    lambdas: dict
    distance: float
    intervals: dict
    n_fits: int
    exhausted: bool = False  #: the time budget ran out before the search and its interval were done

    @property
    def reproduced(self) -> bool:
        return self.distance <= REPLAY_RTOL and not self.exhausted


class _OutOfBudget(Exception):
    """The replay's time budget is spent."""


def replay(est, X, y, to_native, start: dict, *, span: float = 1e3, budget: int = 80,
           seconds: float | None = REPLAY_BUDGET) -> Replay | None:
    """Train ``est`` again at λs around ``start`` (paper's convention; ``to_native`` names them for the
    estimator); the λs reproducing θ best.

    The search runs on log λ: for one λ a grid over ``[start/span, start·span]`` (extended while its best
    point is at an end) then Brent's method; for two, Nelder–Mead from ``start``. It never reads the
    estimator's own hyperparameters: each training gets ``to_native(λ)``. Trainings stop once they have taken
    ``seconds`` (None: no limit); the result is then marked ``exhausted`` and not used.
    """
    import time

    from sklearn.base import clone

    keys = list(start)
    x0 = np.log([start[k] for k in keys])
    if not np.all(np.isfinite(x0)) or not replayable(est, X.shape[0]):
        return None
    theta = _theta(est)
    norm = np.linalg.norm(theta) or 1.0
    cache = {}
    start_time = time.perf_counter()

    def spend():
        if seconds is not None and time.perf_counter() - start_time > seconds:
            raise _OutOfBudget

    def dist(logs):
        logs = np.atleast_1d(logs)
        key = tuple(np.round(logs, 12))
        if key not in cache:
            spend()
            native = to_native({k: np.float64(np.exp(v)) for k, v in zip(keys, logs)})
            try:
                model = clone(est).set_params(**{k: float(v) for k, v in native.items()})
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model.fit(X, y)
                t = _theta(model)
                cache[key] = float(np.linalg.norm(t - theta) / norm) if t.shape == theta.shape else np.inf
            except (ValueError, ArithmeticError, np.linalg.LinAlgError):
                cache[key] = np.inf
        return cache[key]

    try:
        return _search(dist, spend, x0, keys, est, X, y, to_native, span, budget, cache, theta, norm)
    except _OutOfBudget:
        done = {k: v for k, v in cache.items() if np.isfinite(v)}
        key = min(done, key=done.get) if done else tuple(x0)
        return Replay(lambdas={k: float(np.exp(v)) for k, v in zip(keys, key)},
                      distance=float(done.get(key, np.inf)), intervals={}, n_fits=len(cache), exhausted=True)


def _search(dist, spend, x0, keys, est, X, y, to_native, span, budget, cache, theta, norm) -> Replay:
    """The search of :func:`replay` (see there)."""
    from scipy.optimize import minimize, minimize_scalar

    best = x0
    if dist(x0) > REPLAY_RTOL and len(keys) == 1:
        step = np.log(10) / 4
        reach = round(np.log(span) / step)
        grid = list(x0[0] + step * np.arange(-reach, reach + 1))
        vals = [dist(g) for g in grid]
        for _ in range(8):  # the best point at an end: the truth may lie beyond it
            i = int(np.argmin(vals))
            if 0 < i < len(grid) - 1:
                break
            if i == 0:
                grid.insert(0, grid[0] - step)
                vals.insert(0, dist(grid[0]))
            else:
                grid.append(grid[-1] + step)
                vals.append(dist(grid[-1]))
        i = int(np.argmin(vals))
        res = minimize_scalar(dist, bounds=(grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]),
                              method="bounded", options={"xatol": 1e-10, "maxiter": budget})
        best = np.array([min([res.x, grid[i]], key=dist)])
    elif dist(x0) > REPLAY_RTOL:
        simplex = x0 + np.vstack([np.zeros(len(x0)), 0.05 * np.eye(len(x0))])
        res = minimize(dist, x0, method="Nelder-Mead",
                       options={"xatol": 1e-10, "fatol": 1e-14, "maxfev": budget * 3, "initial_simplex": simplex})
        best = res.x
    d = dist(best)
    if d > REPLAY_RTOL and len(keys) == 2 and hasattr(to_native, "inverse"):
        found = _round_pairs(est, X, y, to_native, dict(zip(keys, np.exp(best))), theta, spend)
        if found is not None:
            best, d = np.log([found[k] for k in keys]), 0.0
            cache[tuple(np.round(best, 12))] = 0.0
    if d > 0 and len(keys) == 1:
        # not bit for bit: far off, search the round values around; within tolerance, try the few round values
        # right next to the best (the search can settle 1e-6 from the value, with an interval that misses it)
        far = d > REPLAY_RTOL
        found = _round_values(est, X, y, to_native, keys[0], float(np.exp(best[0])), span if far else 1.0, cache,
                              theta, norm, spend, within=np.inf if far else 1e-4)
        if found is not None:
            # reproduced bit for bit at that value; how far its neighbours are says how sharply that fixes λ
            # (chaotic training: not at all elsewhere; training insensitive to λ: a wide interval)
            best, d = np.log([found]), 0.0
            cache[tuple(np.round(best, 12))] = 0.0
    tol = max(REPLAY_RTOL, 2 * d)
    intervals = {}
    for j, k in enumerate(keys):  # the λs around the best whose training still reproduces θ within tolerance
        lo, hi = (_reach(dist, best, j, sign, d, tol) for sign in (-1.0, 1.0))
        intervals[k] = (float(np.exp(best[j] - lo)), float(np.exp(best[j] + hi)))
    lambdas = {k: float(np.exp(v)) for k, v in zip(keys, best)}
    return Replay(lambdas=lambdas, distance=float(d), intervals=intervals, n_fits=len(cache))


def _reach(dist, best, j, sign, d, tol, *, h=1e-4, halvings=3, limit=40.0):
    """How far log λ_j can move from ``best`` in direction ``sign`` with the retrained θ still within ``tol`` of
    the released one: the first step out whose distance exceeds ``tol`` (found by doubling from the step that a
    local slope predicts, then narrowed by a few bisections; the outer end is kept, so the reach errs wide).

    A slope measured at one step does not do: the distance is far from linear in log λ (stochastic gradient
    descent on a hinge loss: 0.6 per unit near the value, 10 at 10⁻⁴ away), and a reach computed from it
    excluded the true value. Returns ``inf`` where no step up to ``limit`` (in log λ) leaves the tolerance."""
    e = np.zeros(len(best))
    e[j] = sign
    slope = abs(dist(best + h * e) - d) / h
    t = min(max(tol / slope, 1e-10), 1.0) if slope > 0 else h
    inside = 0.0
    while dist(best + t * e) <= tol:
        if t > limit:
            return np.inf
        inside, t = t, 2 * t
    for _ in range(halvings):
        mid = 0.5 * (inside + t)
        if dist(best + mid * e) > tol:
            t = mid
        else:
            inside = mid
    return t


#: mantissas of the values people choose (defaults, hand-picked values, logspace grids of 1, 2, 4, 10 per decade)
_ROUND = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.0, 7.5, 8.0, 9.0)


def _round_values(est, X, y, to_native, key, lam, span, cache, theta, norm, spend, limit=48, within=np.inf):
    """Where training is chaotic in λ (L-BFGS stopped by ``max_iter`` on raw features: a relative change of
    1e-12 in C moves θ by 0.5 %), no search converges on the value: only the exact value reproduces θ.
    Values are chosen by people, so try the round ones (m·10^k, and the points of logspace grids) within
    ``within`` of the best λ in log scale, the most common first (powers of ten, then 2 and 5 times them, then
    the rest), each tier nearest first: the best λ of a chaotic search can lie a decade from the value. A value
    whose training reproduces θ bit for bit is the one. Returns λ, or None."""
    from sklearn.base import clone

    at, at2 = to_native({key: np.float64(lam)}), to_native({key: np.float64(2 * lam)})
    (param, native), = ((k, v) for k, v in at.items() if at2[k] != v)  # others are fixed (ElasticNet's l1_ratio = 1)
    if not (np.isfinite(native) and native > 0):
        return None
    k0 = int(np.floor(np.log10(native)))
    reach = int(np.ceil(np.log10(span))) + 1
    # as typed (0.3, not 3 × 0.1, which is another float); logspace's points as numpy computes them
    cands = {float(f"{m:g}e{k}") for k in range(k0 - reach, k0 + reach + 1) for m in _ROUND}
    cands |= {float(10 ** (k / n)) for n in (2, 3, 4, 5) for k in range(n * (k0 - reach), n * (k0 + reach + 1))}

    def tier(v):
        m = v / 10.0 ** np.floor(np.log10(v) + 1e-9)
        return 0 if np.isclose(m, 1.0) else 1 if np.isclose(m, 2.0) or np.isclose(m, 5.0) else 2

    cands = sorted((v for v in cands if abs(np.log(v / native)) <= within),
                   key=lambda v: (tier(v), abs(np.log(v / native))))
    cands = cands[:limit]
    for v in cands:
        spend()
        try:
            model = clone(est).set_params(**{param: v})
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(X, y)
            t = _theta(model)
        except (ValueError, ArithmeticError, np.linalg.LinAlgError):
            continue
        if t.shape == theta.shape and np.array_equal(t, theta):  # bit for bit: the value itself
            return _invert(to_native, key, param, v, lam)
    return None


#: mixing ratios people choose (SGD's default 0.15, ElasticNet's 0.5, grids of tenths and quarters)
_RATIOS = (0.5, 0.15, 0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9, 0.25, 0.75, 0.05, 0.95, 0.01, 0.99)


def _round_pairs(est, X, y, to_native, lams: dict, theta, spend, limit=96):
    """:func:`_round_values` for two λs named by a scale and a mixing ratio (``alpha``/``C`` and ``l1_ratio``):
    round scales (the most common first) × round ratios, nearest the best point first. ``to_native.inverse``
    maps a native pair back to λs. Returns the λs whose training reproduces θ bit for bit, or None."""
    from sklearn.base import clone

    at = to_native({k: np.float64(v) for k, v in lams.items()})
    if set(at) != {"l1_ratio", "alpha"} and set(at) != {"l1_ratio", "C"} or not all(np.isfinite(list(at.values()))):
        return None
    (scale, value), = ((k, v) for k, v in at.items() if k != "l1_ratio")
    if not value > 0:
        return None
    k0 = int(np.floor(np.log10(value)))
    scales = {float(f"{m:g}e{k}") for k in range(k0 - 3, k0 + 4) for m in _ROUND}

    def rank(pair):
        v, r = pair
        m = v / 10.0 ** np.floor(np.log10(v) + 1e-9)
        tier = 0 if np.isclose(m, 1.0) else 1 if np.isclose(m, 2.0) or np.isclose(m, 5.0) else 2
        return tier + (_RATIOS.index(r) > 1), abs(np.log(v / value)) + abs(r - at["l1_ratio"])

    for v, r in sorted(((v, r) for v in scales for r in _RATIOS), key=rank)[:limit]:
        spend()
        try:
            model = clone(est).set_params(**{scale: v, "l1_ratio": r})
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(X, y)
            t = _theta(model)
        except (ValueError, ArithmeticError, np.linalg.LinAlgError):
            continue
        if t.shape == theta.shape and np.array_equal(t, theta):
            return {k: float(x) for k, x in to_native.inverse({scale: v, "l1_ratio": r}).items()}
    return None


def _invert(to_native, key, param, value, lam):
    """The λ whose native value is ``value`` (every single-λ mapping is c·λ or c/λ)."""
    at = to_native({key: np.float64(lam)})[param]
    at2 = to_native({key: np.float64(2 * lam)})[param]
    return float(lam * value / at) if at2 > at else float(lam * at / value)


def refine(result, est, X, y, to_native, *, mode="auto"):
    """Where stationarity gave no exact answer, replay the training (see the module docstring)."""
    from .._policy import APPROXIMATE_RTOL, IDENTIFIABLE_RTOL
    from ..result import Status

    if mode is False or result.status in (Status.EXACT, Status.NOT_IDENTIFIABLE):
        return result
    seconds = REPLAY_BUDGET if mode in ("auto", True) else float(mode)
    start = dict(result.estimate)
    unreliable = result.status is Status.NOT_A_MINIMUM or not all(np.isfinite(v) and v > 0 for v in start.values())
    for k, v in start.items():
        if not (np.isfinite(v) and v > 0):
            lo, hi = result.intervals[k]
            start[k] = np.sqrt(lo * hi) if 0 < lo <= hi < np.inf else 1.0
    rp = replay(est, X, y, to_native, start, span=1e5 if unreliable else 1e3, seconds=seconds)
    name = type(est).__name__
    if rp is None:
        result.warnings.append(f"{name} is not replayable (its solver is random and random_state is not an "
                               "integer), so λ rests on the stationarity conditions alone.")
        return result
    if rp.exhausted:
        result.warnings.append(
            f"training {name} again stopped after {rp.n_fits} trainings, its {seconds:g} s budget spent, before "
            "a value reproduced the released parameters with an interval: λ rests on the stationarity conditions "
            "alone (replay=<seconds> allows more).")
        return result
    if not rp.reproduced:
        result.warnings.append(
            f"training {name} again at {rp.n_fits} values came no closer than {rp.distance:.2g} (relative) to the "
            "released parameters (another library version, other data or settings?): λ rests on the "
            "stationarity conditions alone.")
        return result
    width = max((hi - lo) / rp.lambdas[k] for k, (lo, hi) in rp.intervals.items())
    status = Status.EXACT if width <= IDENTIFIABLE_RTOL else (
        Status.APPROXIMATE if width <= APPROXIMATE_RTOL else Status.INTERVAL_ONLY)
    result.estimate = dict(rp.lambdas)
    result.lambdas = {k: (v if status.has_value else float("nan")) for k, v in rp.lambdas.items()}
    result.intervals = dict(rp.intervals)
    result.status = status
    result.identifiable = status.has_value
    result.interval_source = "replay"
    native = to_native({k: np.float64(v) for k, v in rp.lambdas.items()})
    result.warnings.append(
        f"λ from replaying the training: {name} trained again with "
        + ", ".join(f"{k} = {v:.10g}" for k, v in native.items())
        + f" reproduces the released parameters to {rp.distance:.1e} (relative; {rp.n_fits} trainings).")
    return result


def _cd_gap(XtR, R2, Ry, w, alpha, beta):
    """scikit-learn's duality gap of coordinate descent at w (``_cd_fast.gap_enet``, formulation A), for
    arrays of (alpha, beta): ½(‖R‖² + β‖w‖²) + α‖w‖₁ − D(sR), s = min(1, α / ‖XᵀR − βw‖_∞)."""
    w2, l1 = float(w @ w), float(np.abs(w).sum())
    dual_norm = np.max(np.abs(XtR[None, :] - beta[:, None] * w[None, :]), axis=1)
    primal = 0.5 * (R2 + beta * w2) + alpha * l1
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(dual_norm > alpha, alpha / dual_norm, 1.0)
    dual = -0.5 * scale ** 2 * (R2 + beta * w2) + scale * Ry
    return primal - dual


def gap_intervals(est, X, y, estimate: dict) -> tuple[dict, str] | None:
    """For a converged ``Lasso``/``ElasticNet``: every (λ₁, λ₂) at which the released w meets the solver's
    own stopping rule, duality gap ≤ tol·‖y‖² (y centred when ``fit_intercept``), as one interval per λ.

    scikit-learn minimises ½‖y − Xw‖² + α‖w‖₁ + ½β‖w‖² (α = n·alpha·l1_ratio, β = n·alpha·(1 − l1_ratio)),
    the paper's objective halved: λ₁ = 2α, λ₂ = β. The set is found on a logarithmic grid around the
    least-squares estimate and refined once; its ends are widened by one grid step.
    """
    name = type(est).__name__
    if name not in ("Lasso", "ElasticNet") or not _converged(est) or getattr(est, "positive", False):
        return None
    if name == "ElasticNet" and est.l1_ratio == 0:  # ridge: another gap formula
        return None
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float).ravel()
    w = np.asarray(est.coef_, dtype=float).ravel()
    if est.fit_intercept:
        X = X - X.mean(axis=0)
        y = y - y.mean()
    R = y - X @ w
    XtR, R2, Ry, T = X.T @ R, float(R @ R), float(R @ y), float(est.tol) * float(y @ y)
    keys = list(estimate)
    two = len(keys) == 2

    def grid(lo, hi, m=161):
        return np.exp(np.linspace(np.log(lo), np.log(hi), m))

    hats = [estimate[k] for k in keys]
    if not all(np.isfinite(h) and h > 0 for h in hats):
        return None
    source = f"coordinate descent: duality gap ≤ tol·‖y‖² (tol = {est.tol:g})"
    m = 161 if two else 2001
    box = [[h / 100, h * 100] for h in hats]
    unbounded = [[False, False] for _ in hats]
    found = None
    for _ in range(16):
        axes = [grid(lo, hi, m) for lo, hi in box]
        if two:
            a1, a2 = (g.ravel() for g in np.meshgrid(axes[0], axes[1], indexing="ij"))
        else:
            a1, a2 = axes[0], np.zeros(m)
        ok = _cd_gap(XtR, R2, Ry, w, a1 / 2, a2) <= T
        if not np.any(ok):
            if found is None and box[0][0] > hats[0] / 1e3:  # look once more, wider
                box = [[lo / 100, hi * 100] for lo, hi in box]
                continue
            if found is None:
                return ({k: (np.inf, -np.inf) for k in keys}, source)
            break
        found, settled = [], True
        for i, vals in enumerate((a1, a2)[: len(keys)]):
            inside = vals[ok]
            step = (box[i][1] / box[i][0]) ** (1 / (m - 1))
            lo_in, hi_in = float(inside.min()), float(inside.max())
            found.append((lo_in / step, hi_in * step))
            edges = (lo_in <= box[i][0] * step ** 0.5, hi_in >= box[i][1] / step ** 0.5)
            if edges[0]:
                if box[i][0] < hats[i] / 1e6:
                    unbounded[i][0] = True
                else:
                    settled, box[i][0] = False, box[i][0] / 10
            if edges[1]:
                if box[i][1] > hats[i] * 1e6:
                    unbounded[i][1] = True
                else:
                    settled, box[i][1] = False, box[i][1] * 10
            if not any(edges) and hi_in / lo_in < step ** 40:  # too coarse: zoom in on the set
                settled, box[i] = False, [lo_in / step ** 3, hi_in * step ** 3]
        if settled:
            break
    out = {}
    for i, k in enumerate(keys):
        out[k] = (0.0 if unbounded[i][0] else found[i][0], np.inf if unbounded[i][1] else found[i][1])
    return out, source


def glmnet_intervals(est, X, y, estimate: dict) -> tuple[dict, str] | None:
    """For a converged ``LogisticRegression(penalty="l1", solver="liblinear")``: every λ at which the released θ
    meets newGLMNET's own stopping rule (``solve_l1r_lr`` in liblinear's linear.cpp), as one interval.

    newGLMNET stops when the ℓ1 norm of the minimum-norm subgradient of f = ‖w̃‖₁ + C·L(w̃) is at most ε
    (:func:`_liblinear_eps`) times its value at w̃ = 0. On the paper's F = L + λ‖w̃‖₁ = f/C (λ = 1/C) that is
    V(λ) ≤ R(λ) with V(λ) = Σ_{w̃_j ≠ 0} |g_j + λ·sign(w̃_j)| + Σ_{w̃_j = 0} max(0, |g_j| − λ) (g = ∇L(θ)) and
    R(λ) = ε·Σ_j max(0, |g⁰_j| − λ) (g⁰ = ∇L(0) = −½X̃ᵀt). Both sides are piecewise linear in λ, so the set is
    found exactly from their breakpoints; the smallest interval holding it is returned. A fit stopped at w̃ = 0
    is exact there for every λ ≥ max|g⁰| and keeps that reading (None).
    """
    from ..objectives import get_objective

    if (not _converged(est) or _liblinear_solver(est, X.shape[0]) != "glmnet" or not _binary(est)
            or len(estimate) != 1 or not (np.any(est.coef_) or np.any(est.intercept_))):
        return None
    options = {"intercept_scaling": float(est.intercept_scaling)} if est.fit_intercept else {"fit_intercept": False}
    objective = get_objective("logistic_l1", **options)
    data = objective.prepare(X, y)
    params = objective.check_params({"coef": est.coef_, "intercept": est.intercept_}, data)
    g = np.asarray(objective.loss_gradient(data, params), dtype=float)
    w = objective.pack(params)
    g0 = 0.5 * np.abs(_augmented_dot(est, X, _signs(est, y)))
    eps = _liblinear_eps(est, _signs(est, y))
    on, sign = w != 0, np.sign(w)

    def slack(lam):  # V(λ) − R(λ), for an array of λ
        lam = np.asarray(lam, dtype=float)[:, None]
        v = np.abs(g[on] + lam * sign[on]).sum(axis=1) + np.maximum(np.abs(g[~on]) - lam, 0.0).sum(axis=1)
        return v - eps * np.maximum(g0 - lam, 0.0).sum(axis=1)

    knots = np.concatenate([[0.0], -g[on] / sign[on], np.abs(g[~on]), g0])
    knots = np.unique(knots[knots >= 0])
    knots = np.append(knots, 2 * knots[-1] + 1.0)  # beyond every breakpoint the slack grows linearly
    vals = slack(knots)
    inside = []
    for a, b, va, vb in zip(knots[:-1], knots[1:], vals[:-1], vals[1:]):  # linear between breakpoints
        if va <= 0:
            inside.append(a)
        if (va <= 0) != (vb <= 0):
            inside.append(a + (b - a) * va / (va - vb))
    if vals[-1] <= 0:  # past the last breakpoint the slack rises with slope #(w̃_j ≠ 0): where it crosses 0
        inside.append(knots[-1] - vals[-1] / max(int(on.sum()), 1))
    (key,) = estimate
    source = f"liblinear newGLMNET stopped at Σ violations ≤ ε·Σ at 0 (tol = {est.tol:g})"
    if not inside:
        return {key: (np.inf, -np.inf)}, source
    return {key: (float(min(inside)), float(max(inside)))}, source
