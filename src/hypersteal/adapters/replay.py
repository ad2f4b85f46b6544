"""Replaying the training: λ from training the estimator again.

The paper's attacker knows the learning algorithm. When it is deterministic given its settings (a fixed
``random_state``, or no randomness at all), training it again at a candidate value reproduces the released
parameters exactly at the true value and not elsewhere: λ̂ = argmin over the value of ‖θ(value) − θ‖. This
recovers λ from models stopped far from any minimum (SGD, Adam, ``max_iter`` reached), where stationarity can
only bound it. It costs tens of trainings, so it runs only where stationarity gave no exact answer, within a
time budget (:data:`REPLAY_BUDGET`). A random solver without a seed cannot be replayed; where it also stopped
far from any minimum, :mod:`hypersteal.adapters.resample` samples its training with fresh seeds instead.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np

from .solvers import _liblinear_solver

__all__ = ["replay", "replayable", "refine", "Replay", "REPLAY_RTOL", "REPLAY_BUDGET"]

#: Replayed parameters this close (relative) to the released ones are a reproduction, not a fit.
REPLAY_RTOL = 1e-7

#: Seconds of retraining a replay may spend by default (``replay="auto"``). Replay pays when trainings are cheap
#: (a LogisticRegression on a few hundred rows: milliseconds each); the MLPs of benchmarks/realistic.py take
#: 20–60 s (tens of trainings of 200 Adam epochs), while a saga fit at tol 1e-13 on 300 rows took seconds per
#: training and 7 minutes in all. Past the budget, λ rests on the stationarity conditions, and the result says so.
REPLAY_BUDGET = 60.0

#: mantissas of the values people choose (defaults, hand-picked values, logspace grids of 1, 2, 4, 10 per decade)
_ROUND = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.0, 7.5, 8.0, 9.0)

#: mixing ratios people choose (ElasticNet's default 0.5, SGD's 0.15, grids of tenths and quarters)
_RATIOS = (0.5, 0.15, 0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9, 0.25, 0.75, 0.05, 0.95, 0.01, 0.99)


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
    if name in ("LinearSVC", "LinearSVR") or (name == "LogisticRegression" and est.solver == "liblinear"):
        # liblinear's coordinate descents (dual, newGLMNET's inner loop) shuffle; TRON, its primal Newton method,
        # does not
        return _liblinear_solver(est, n_rows) != "tron"
    return getattr(est, "selection", "cyclic") == "random"


def replayable(est, n_rows: int) -> bool:
    """Whether training ``est`` again with the same settings gives the same parameters."""
    return not _random(est, n_rows) or isinstance(getattr(est, "random_state", None), (int, np.integer))


def _tier(v: float) -> int:
    """How common a value is: 0 for powers of ten, 1 for 2 and 5 times them, 2 for the rest."""
    m = v / 10.0 ** np.floor(np.log10(v) + 1e-9)
    return 0 if np.isclose(m, 1.0) else 1 if np.isclose(m, 2.0) or np.isclose(m, 5.0) else 2


def _round_near(value: float, decades: int) -> set[float]:
    """Round values within ``decades`` of ``value``: m·10^k as typed (0.3, not 3 × 0.1, which is another
    float) and the points of logspace grids of 2–5 per decade as numpy computes them."""
    k0 = int(np.floor(np.log10(value)))
    out = {float(f"{m:g}e{k}") for k in range(k0 - decades, k0 + decades + 1) for m in _ROUND}
    return out | {float(10 ** (k / n)) for n in (2, 3, 4, 5) for k in range(n * (k0 - decades), n * (k0 + decades + 1))}


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


class _Trainer:
    """Trains clones of the estimator at candidate λs (log scale) and measures how far each lands from the
    released θ; remembers every training and enforces the time budget."""

    def __init__(self, est, X, y, to_native, keys, seconds, fit_params=None):
        self.est, self.X, self.y, self.to_native, self.keys = est, X, y, to_native, keys
        self.fit_params = dict(fit_params or {})  # e.g. the sample_weight the estimator was fitted with
        self.theta = _theta(est)
        self.norm = np.linalg.norm(self.theta) or 1.0
        self.cache: dict = {}
        self.deadline = None if seconds is None else time.perf_counter() + seconds

    def spend(self):
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise _OutOfBudget

    def train(self, native: dict, **settings) -> np.ndarray | None:
        """θ of the estimator trained at these native values (and other ``settings``, e.g. a ``random_state``);
        None where the estimator refuses them."""
        from sklearn.base import clone

        self.spend()
        try:
            model = clone(self.est).set_params(**{k: float(v) for k, v in native.items()}, **settings)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(self.X, self.y, **self.fit_params)
            return _theta(model)
        except (ValueError, ArithmeticError, np.linalg.LinAlgError):
            return None

    def dist(self, logs) -> float:
        """Relative distance of θ(λ = exp(logs)) to the released θ."""
        logs = np.atleast_1d(logs)
        key = tuple(np.round(logs, 12))
        if key not in self.cache:
            t = self.train(self.to_native({k: np.float64(np.exp(v)) for k, v in zip(self.keys, logs)}))
            ok = t is not None and t.shape == self.theta.shape
            self.cache[key] = float(np.linalg.norm(t - self.theta) / self.norm) if ok else np.inf
        return self.cache[key]

    def reproduces(self, native: dict) -> bool:
        """Whether training at these native values gives θ bit for bit."""
        t = self.train(native)
        return t is not None and t.shape == self.theta.shape and np.array_equal(t, self.theta)

    def mark(self, best):
        self.cache[tuple(np.round(best, 12))] = 0.0


def replay(est, X, y, to_native, start: dict, *, span: float = 1e3, budget: int = 80,
           seconds: float | None = REPLAY_BUDGET, fit_params=None) -> Replay | None:
    """Train ``est`` again at λs around ``start`` (paper's convention; ``to_native`` names them for the
    estimator); the λs reproducing θ best.

    The search runs on log λ: for one λ a grid of whole decades over ``[start/span, start·span]``, then one of
    quarter decades within a decade of its best (extended while its best point is at an end), then Brent's
    method; for two, Nelder–Mead from ``start``. It never reads the
    estimator's own hyperparameters: each training gets ``to_native(λ)``. Trainings stop once they have taken
    ``seconds`` (None: no limit); the result is then marked ``exhausted`` and not used. ``fit_params`` go to
    every ``fit`` (the estimator's ``sample_weight``: a weighted fit is replayed with its weights).
    """
    keys = list(start)
    x0 = np.log([start[k] for k in keys])
    if not np.all(np.isfinite(x0)) or not replayable(est, X.shape[0]):
        return None
    trainer = _Trainer(est, X, y, to_native, keys, seconds, fit_params)
    try:
        return _search(trainer, x0, span, budget)
    except _OutOfBudget:
        done = {k: v for k, v in trainer.cache.items() if np.isfinite(v)}
        key = min(done, key=done.get) if done else tuple(x0)
        return Replay(lambdas={k: float(np.exp(v)) for k, v in zip(keys, key)},
                      distance=float(done.get(key, np.inf)), intervals={}, n_fits=len(trainer.cache), exhausted=True)


def _search(trainer: _Trainer, x0, span: float, budget: int) -> Replay:
    """The search of :func:`replay` (see there)."""
    from scipy.optimize import minimize, minimize_scalar

    dist, keys = trainer.dist, trainer.keys
    best = x0
    if dist(x0) > REPLAY_RTOL and len(keys) == 1:
        center, fine = x0[0], span
        if span > 10:  # whole decades first, then quarter decades within one decade of the best of them
            decades = round(np.log10(span))
            center = min(center + np.log(10) * np.arange(-decades, decades + 1), key=dist)
            fine = 10.0
        step = np.log(10) / 4
        reach = round(np.log(fine) / step)
        grid = list(center + step * np.arange(-reach, reach + 1))
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
    found = None
    if d > REPLAY_RTOL and len(keys) == 2 and hasattr(trainer.to_native, "inverse"):
        found = _round_pairs(trainer, dict(zip(keys, np.exp(best))))
    elif d > 0 and len(keys) == 1:
        # not bit for bit: far off, search the round values around; within tolerance, try the few round values
        # right next to the best (the search can settle 1e-6 from the value, with an interval that misses it)
        far = d > REPLAY_RTOL
        found = _round_values(trainer, float(np.exp(best[0])), span if far else 1.0, within=np.inf if far else 1e-4)
        if found is None and far and abs(best[0] - x0[0]) > np.log(10):
            # training that λ barely moves (stopped by max_iter) drifts the search decades from the start: the
            # round values around the stationarity estimate too
            found = _round_values(trainer, float(np.exp(x0[0])), span)
    if found is not None:
        # reproduced bit for bit at that value; how far its neighbours are says how sharply that fixes λ
        # (chaotic training: not at all elsewhere; training insensitive to λ: a wide interval)
        best, d = np.log([found[k] for k in keys]), 0.0
        trainer.mark(best)
    tol = max(REPLAY_RTOL, 2 * d)
    intervals = {}
    for j, k in enumerate(keys):  # the λs around the best whose training still reproduces θ within tolerance
        lo, hi = (_reach(dist, best, j, sign, d, tol) for sign in (-1.0, 1.0))
        intervals[k] = (float(np.exp(best[j] - lo)), float(np.exp(best[j] + hi)))
    lambdas = dict(found) if found is not None else {k: float(np.exp(v)) for k, v in zip(keys, best)}
    return Replay(lambdas=lambdas, distance=float(d), intervals=intervals, n_fits=len(trainer.cache))


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


def _round_values(trainer: _Trainer, lam: float, span: float, *, limit=48, within=np.inf) -> dict | None:
    """Where training is chaotic in λ (L-BFGS stopped by ``max_iter`` on raw features: a relative change of
    1e-12 in C moves θ by 0.5 %), no search converges on the value: only the exact value reproduces θ.
    Values are chosen by people, so try the round ones within ``within`` of the best λ in log scale, the most
    common first (:func:`_tier`), each tier nearest first: the best λ of a chaotic search can lie a decade from
    the value. A value whose training reproduces θ bit for bit is the one. Returns ``{key: λ}``, or None."""
    (key,) = trainer.keys
    at, at2 = trainer.to_native({key: np.float64(lam)}), trainer.to_native({key: np.float64(2 * lam)})
    (param, native), = ((k, v) for k, v in at.items() if at2[k] != v)  # others are fixed (ElasticNet's l1_ratio = 1)
    if not (np.isfinite(native) and native > 0):
        return None
    cands = sorted((v for v in _round_near(native, int(np.ceil(np.log10(span))) + 1)
                    if abs(np.log(v / native)) <= within), key=lambda v: (_tier(v), abs(np.log(v / native))))
    for v in cands[:limit]:
        if trainer.reproduces({param: v}):
            # the λ whose native value is v (every single-λ mapping is c·λ or c/λ), to the last bit where one
            # of its float neighbours maps back to v exactly (so the result reads C = 10, not 9.999999999999998)
            lam_v = float(lam * v / native) if at2[param] > native else float(lam * native / v)
            near = [lam_v]
            for direction in (np.inf, -np.inf):
                x = lam_v
                for _ in range(4):
                    x = float(np.nextafter(x, direction))
                    near.append(x)
            exact = [x for x in near if trainer.to_native({key: np.float64(x)})[param] == v]
            return {key: exact[0] if exact else lam_v}
    return None


def _round_pairs(trainer: _Trainer, lams: dict, *, limit=96) -> dict | None:
    """:func:`_round_values` for two λs named by a scale and a mixing ratio (``alpha``/``C`` and ``l1_ratio``):
    round scales (the most common first) × round ratios, nearest the best point first. ``to_native.inverse``
    maps a native pair back to λs. Returns the λs whose training reproduces θ bit for bit, or None."""
    at = trainer.to_native({k: np.float64(v) for k, v in lams.items()})
    if set(at) not in ({"l1_ratio", "alpha"}, {"l1_ratio", "C"}) or not all(np.isfinite(list(at.values()))):
        return None
    (scale, value), = ((k, v) for k, v in at.items() if k != "l1_ratio")
    if not value > 0:
        return None

    def rank(pair):
        v, r = pair
        return _tier(v) + (_RATIOS.index(r) > 1), abs(np.log(v / value)) + abs(r - at["l1_ratio"])

    for v, r in sorted(((v, r) for v in _round_near(value, 3) for r in _RATIOS), key=rank)[:limit]:
        if trainer.reproduces({scale: v, "l1_ratio": r}):
            return {k: float(x) for k, x in trainer.to_native.inverse({scale: v, "l1_ratio": r}).items()}
    return None


def refine(result, est, X, y, to_native, *, mode="auto", fit_params=None):
    """Where stationarity gave no exact answer, replay the training, or for a seedless random solver that
    stopped far from a minimum, sample it with fresh seeds (see the module docstring). ``fit_params`` (the
    ``sample_weight`` of a weighted fit) go to every training."""
    from .._policy import APPROXIMATE_RTOL, IDENTIFIABLE_RTOL
    from ..result import Status

    if mode is False or result.status in (Status.EXACT, Status.NOT_IDENTIFIABLE):
        return result
    own = getattr(est, "get_params", dict)()
    if own and not set(to_native({k: 1.0 for k in result.estimate})) <= set(own):
        return result  # the native names are another estimator's (NuSVC's C is its SVC's): nothing to train again
    seconds = REPLAY_BUDGET if mode in ("auto", True) else float(mode)
    start = dict(result.estimate)
    unreliable = result.status is Status.NOT_A_MINIMUM or not all(np.isfinite(v) and v > 0 for v in start.values())
    for k, v in start.items():
        if not (np.isfinite(v) and v > 0):
            lo, hi = result.intervals[k]
            start[k] = np.sqrt(lo * hi) if 0 < lo <= hi < np.inf else 1.0
    span = 1e5 if unreliable else 1e3
    rp = replay(est, X, y, to_native, start, span=span, seconds=seconds, fit_params=fit_params)
    name = type(est).__name__
    if rp is None and result.status is Status.NOT_A_MINIMUM:
        from .resample import resample

        rs = resample(est, X, y, to_native, start, span=span, seconds=seconds, fit_params=fit_params)
        if rs is not None:
            return _resampled(result, rs, name, to_native, seconds)
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
    _settle(result, rp, status, "replay")
    native = to_native({k: np.float64(v) for k, v in rp.lambdas.items()})
    result.warnings.append(
        f"λ from replaying the training: {name} trained again with "
        + ", ".join(f"{k} = {v:.10g}" for k, v in native.items())
        + f" reproduces the released parameters to {rp.distance:.1e} (relative; {rp.n_fits} trainings).")
    return result


def _settle(result, found: Replay, status, source: str) -> None:
    """The result takes the λs and intervals that training again found, with their status and its source."""
    result.estimate = dict(found.lambdas)
    result.lambdas = {k: (v if status.has_value else float("nan")) for k, v in found.lambdas.items()}
    result.intervals = dict(found.intervals)
    result.status = status
    result.identifiable = status.has_value
    result.interval_source = source


def _resampled(result, rs: Replay, name: str, to_native, seconds):
    """The result from :func:`hypersteal.adapters.resample.resample`'s conformal set."""
    from .._policy import APPROXIMATE_RTOL
    from ..result import Status
    from .resample import SEEDS

    if rs.exhausted:
        result.warnings.append(
            f"training {name} again with fresh seeds stopped after {rs.n_fits} trainings, its {seconds:g} s budget "
            "spent: no interval (replay=<seconds> allows more).")
        return result
    (key, lam), = rs.lambdas.items()
    lo, hi = rs.intervals[key]
    status = Status.APPROXIMATE if (hi - lo) / lam <= APPROXIMATE_RTOL else Status.INTERVAL_ONLY
    _settle(result, rs, status, f"fresh seeds ({SEEDS} per value; a 95 % conformal set)")
    with np.errstate(divide="ignore"):
        ends = [to_native({key: np.float64(v)}) for v in (lo, hi)]
    span = "; ".join(f"{k} between {min(a[k], b[k]):.4g} and {max(a[k], b[k]):.4g}" for a, b in [ends] for k in a)
    result.warnings.append(
        f"{name}'s solver is random and its seed unknown, and it stopped far from a minimum: trained again with "
        f"{SEEDS} fresh seeds per candidate value ({rs.n_fits} trainings), its parameters are one such draw for "
        f"{span} (95 % conformal set; calibrated, not guaranteed).")
    return result
