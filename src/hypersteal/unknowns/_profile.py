"""Variable projection over one scalar: for each value of a hyperparameter that enters the stationarity conditions
non-linearly (a kernel's γ, a class-weight ratio under a hinge loss), λ by least squares; the value is the one whose
conditions hold best, and its interval the values whose residual stays within :data:`PROFILE_FACTOR` of the best —
a profile-likelihood interval, with the relative stationarity residual in the role of the likelihood."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize_scalar

from .._policy import ROUND_OFF

__all__ = ["PROFILE_FACTOR", "Profile", "profile", "score"]

#: A value belongs to the interval when its profile residual is at most this many times the best one (or than
#: round-off, :data:`hypersteal._policy.ROUND_OFF`, for an exact fit): a residual that grows tenfold is a clear
#: departure from the minimum, and one within it is what the parameters' own accuracy allows.
PROFILE_FACTOR = 10.0

#: local minima of the grid refined (a degenerate corner — γ → 0, where every Gram matrix is nearly constant —
#: can hold a shallow minimum of its own besides the true one)
_STARTS = 3

#: bisection steps for each end of the interval (each halves a bracket in log θ: 2⁻⁴⁰ of a grid step)
_BISECTIONS = 40


@dataclass
class Profile:
    """The profile of one scalar hyperparameter θ: the residual r(θ) with λ projected out."""

    value: float
    interval: tuple[float, float]
    residual: float  #: the score at ``value`` (:func:`score`)
    #: every (θ, score) evaluated, sorted by θ: the curve a figure draws
    curve: list[tuple[float, float]] = field(default_factory=list)
    #: the result of the inner attack at ``value`` (λ by least squares there)
    inner: object = None

    @property
    def relative_width(self) -> float:
        """(hi − lo) / value: how sharply θ is determined (∞ when the interval reaches a grid end)."""
        lo, hi = self.interval
        return float((hi - lo) / abs(self.value)) if self.value else math.inf


def score(result, slack: float = 0.0) -> float:
    """How well the conditions hold at one θ: the relative residual, or for hinge losses at least ``slack`` (the
    distance |y f − 1| of the farthest point the attack took as lying on the margin, whose free weight explains
    anything: what a margin point's freedom costs). A negative λ̂ is no minimum of a non-negative penalty: it
    scores 1 more, behind every admissible θ."""
    s = max(float(result.residual), slack)
    if not np.isfinite(s):
        return math.inf
    return s + 1.0 if any(v < 0 for v in result.estimate.values()) else s


def profile(attack: Callable[[float], tuple[float, object]], grid: np.ndarray, *, log: bool = True) -> Profile:
    """Minimise the score of ``attack(θ)`` (a (score, result) pair) over θ: the grid's best local minima, each
    refined between its neighbours (in log θ when ``log``), then the interval where the score is at most
    PROFILE_FACTOR times the minimum (bisection on each side; an end that reaches the grid's is 0 or ±∞ in that
    direction: the grid does not bound θ there)."""
    cache: dict[float, object] = {}

    def res(t: float) -> float:
        theta = float(math.exp(t) if log else t)
        if theta not in cache:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a wrong θ is "not a minimum": its residual says so
                cache[theta] = attack(theta)
        return cache[theta][0]

    grid = np.asarray(grid, dtype=float)
    ts = np.log(grid) if log else grid
    rs = np.array([res(t) for t in ts])
    k = int(np.argmin(rs))
    best_t, best_r = ts[k], rs[k]
    padded = np.concatenate([[np.inf], rs, [np.inf]])
    minima = [i for i in range(len(rs)) if padded[i + 1] <= padded[i] and padded[i + 1] <= padded[i + 2]]
    for i in sorted(minima, key=lambda i: rs[i])[:_STARTS]:
        lo_t, hi_t = ts[max(i - 1, 0)], ts[min(i + 1, len(ts) - 1)]
        if hi_t > lo_t:
            fit = minimize_scalar(res, bounds=(lo_t, hi_t), method="bounded",
                                  options={"xatol": 1e-12 * max(1.0, abs(ts[i]))})
            if fit.fun < best_r:
                best_t, best_r = float(fit.x), float(fit.fun)
    limit = PROFILE_FACTOR * max(best_r, ROUND_OFF)

    def edge(direction: int) -> float:
        inner = best_t
        outer = next((t for t in (ts if direction > 0 else ts[::-1])
                      if (t - best_t) * direction > 0 and res(t) > limit), None)
        if outer is None:
            return direction * math.inf
        for _ in range(_BISECTIONS):
            mid = 0.5 * (inner + outer)
            if res(mid) > limit:
                outer = mid
            else:
                inner = mid
        return inner

    lo, hi = edge(-1), edge(+1)
    to = (lambda t: math.exp(t) if np.isfinite(t) else (0.0 if t < 0 else math.inf)) if log else float
    theta = float(math.exp(best_t) if log else best_t)
    curve = sorted((th, sc) for th, (sc, _) in cache.items())
    return Profile(theta, (to(lo), to(hi)), best_r, curve, cache[theta][1])
