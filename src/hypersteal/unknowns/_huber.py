"""Huber's ε, unknown, from the scale's stationarity condition (``HuberRegressor``).

With z_i = r_i/σ, the rows with |z_i| > ε are the outliers O. The condition in σ,
Σ_{i∉O} (1 − z_i²) + (1 − ε²)·|O| = 0, gives ε in closed form once O is known::

    ε² = (n − Σ_{i∉O} z_i²) / |O|

and O is the k rows of largest |z| for the k at which that ε falls between the k-th and the (k + 1)-th largest
|z| (sorted |z| and cumulative sums make every k one pass). The conditions in w and c are linear in (ε, λ)
together (an outlier's gradient is 2ε·sign(z_i)·x_i), which gives a second, independent estimate of ε: at an
exact minimum the two agree to round-off, and their difference is the interval reported for an inexact fit.
With no outlier (or one exactly at ε: the same fit), ε enters no condition: every ε ≥ max |z| is
consistent. Known row weights w_i weigh every sum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["HuberEpsilon", "huber_epsilon"]


#: A single outlier whose |z| the scale's condition puts ε within this fraction of sits on the kink: a fit with no
#: outlier, where ε enters no condition (an inexact fit moves ε by about n·residual/(2z²) there, ~1e-4 at default
#: tolerances on a few hundred rows).
ON_THE_KINK = 1e-3


@dataclass(frozen=True)
class HuberEpsilon:
    value: float  #: ε from the scale's condition (NaN when not determined)
    interval: tuple[float, float]  #: the ε consistent with the conditions
    determined: bool  #: some row is an outlier, so ε enters the conditions
    outliers: int  #: how many rows are outliers at ε


def huber_epsilon(X, y, params, sample_weight=None) -> HuberEpsilon:
    """ε of a Huber fit with coefficients ``params["coef"]``, ``intercept`` and ``scale`` (see the module
    docstring). ``X`` dense (n, d), ``y`` (n,)."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float).ravel()
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float).ravel()
    coef = np.asarray(params["coef"], dtype=float).ravel()
    c = float(np.atleast_1d(params.get("intercept", 0.0))[0])
    sigma = float(params["scale"])
    z = (y - X @ coef - c) / sigma
    a = np.abs(z)
    order = np.argsort(-a)
    a_sorted, w_sorted = a[order], w[order]
    total = w.sum()
    inside_sq = np.sum(w * z ** 2) - np.concatenate([[0.0], np.cumsum(w_sorted * a_sorted ** 2)])  # k outliers
    out_weight = np.concatenate([[0.0], np.cumsum(w_sorted)])  # k = 0 … n outliers
    best = None
    for k in range(1, len(a) + 1):
        if out_weight[k] <= 0:
            continue
        eps2 = (total - inside_sq[k]) / out_weight[k]
        if eps2 <= 0:
            continue
        eps = np.sqrt(eps2)
        upper = a_sorted[k - 1]  # the smallest outlier's |z| is above ε …
        lower = a_sorted[k] if k < len(a) else 0.0  # … the largest inlier's is at most ε
        gap = max(lower - eps, eps - upper, 0.0) / eps
        if best is None or gap < best[0]:
            best = (gap, k, eps)
        if gap == 0.0:
            break
    if best is None or best[0] > 1e-6:
        return HuberEpsilon(float("nan"), (float(a.max()), float("inf")), False, 0)
    _, k, eps = best
    if k == 1 and eps >= a_sorted[0] * (1 - ON_THE_KINK):
        # one "outlier" exactly at ε = its |z| is the same fit as none: every ε from there up is consistent
        return HuberEpsilon(float("nan"), (float(min(eps, a_sorted[0])), float("inf")), False, 0)
    outliers = order[:k]
    inliers = order[k:]
    s = np.sign(z[outliers])
    # the conditions in w and c, linear in (ε, λ): −2Σ_in w z x − 2ε Σ_out w s x + 2λ coef = 0
    A = np.vstack([np.column_stack([-2 * X[outliers].T @ (w[outliers] * s), 2 * coef]),
                   [-2 * np.sum(w[outliers] * s), 0.0]])
    b = np.concatenate([2 * X[inliers].T @ (w[inliers] * z[inliers]), [2 * np.sum(w[inliers] * z[inliers])]])
    linear = eps
    if np.linalg.matrix_rank(A) == 2:
        linear = float(np.linalg.lstsq(A, b, rcond=None)[0][0])
    lo, hi = min(eps, linear), max(eps, linear)
    return HuberEpsilon(float(eps), (float(lo), float(hi)), True, int(k))

