"""Kernel parameters as unknowns, by variable projection: for each value of γ (or coef0) the Gram matrix, and λ
by the attack's least squares on it; the value is the one whose stationarity conditions hold best
(:func:`hypersteal.unknowns._profile.profile`). An integer degree is enumerated.

Not every combination is determined: a polynomial kernel (γ xᵀz + coef0)^d is coef0^d (γ/coef0 · xᵀz + 1)^d, and a
constant factor of the Gram matrix is absorbed by the dual coefficients and λ, so γ and coef0 together are
determined only as their ratio — one of them is an unknown at a time."""

from __future__ import annotations

import warnings

import numpy as np

from .._policy import ROUND_OFF
from .._validation import InputError, check_array
from ..attack import steal
from ..identification import _margin_slack
from ..kernels import KERNELS, Kernel
from ._profile import PROFILE_FACTOR, Profile, profile, score

__all__ = ["KERNEL_UNKNOWNS", "MAX_DEGREE", "kernel_profile", "gamma_grid", "COEF0_GRID"]

#: the kernel parameters that may be unknown
KERNEL_UNKNOWNS = ("gamma", "degree", "coef0")

#: degrees enumerated when the degree is unknown (scikit-learn's default is 3)
MAX_DEGREE = 6

#: values of coef0 the profile starts from (linear: coef0 may be 0 or negative)
COEF0_GRID = np.linspace(-5.0, 5.0, 41)

#: γ grid: this many decades either side of 1/scale, where scale is the data's typical kernel argument
_GAMMA_DECADES, _GAMMA_POINTS = 4, 33


def _typical_scale(kernel: str, X: np.ndarray) -> float:
    """The median of what γ multiplies: ‖x − z‖² (rbf), ‖x − z‖₁ (laplacian), |xᵀz| (poly, sigmoid), over at most
    200 rows."""
    S = X[:: max(1, len(X) // 200)]
    if kernel == "rbf":
        D = np.sum((S[:, None, :] - S[None, :, :]) ** 2, axis=2)
    elif kernel == "laplacian":
        D = np.sum(np.abs(S[:, None, :] - S[None, :, :]), axis=2)
    else:
        D = np.abs(S @ S.T)
    values = D[np.triu_indices(len(S), 1)]
    scale = float(np.median(values[values > 0])) if np.any(values > 0) else 1.0
    return scale


def gamma_grid(kernel: str, X) -> np.ndarray:
    """Log-spaced γ around 1 / (the data's typical kernel argument)."""
    centre = 1.0 / _typical_scale(kernel, X)
    return centre * np.logspace(-_GAMMA_DECADES, _GAMMA_DECADES, _GAMMA_POINTS)


def check_kernel_unknowns(kernel: str, unknown: set[str]) -> None:
    """Refuse a kernel parameter the kernel does not have, and unknowns that are not determined together."""
    takes = set(KERNELS.get(kernel, ()))
    for name in sorted(unknown):
        if name not in takes:
            raise InputError(f"the {kernel!r} kernel has no parameter {name!r} (it takes "
                             f"{', '.join(KERNELS.get(kernel, ())) or 'none'}); drop it from unknown.")
    if {"gamma", "coef0"} <= unknown:
        raise InputError("gamma and coef0 cannot both be unknown: a constant factor of the Gram matrix is absorbed by "
                         "the dual coefficients and λ, so only their ratio is determined (exactly so for the poly "
                         "kernel). Pass one of them.")


def kernel_profile(algorithm: str, X, y, params, *, kernel: str, unknown: set[str], known: dict,
                   sample_weight=None, grid=None, **options):
    """The unknown kernel parameters of a kernel learner. Returns (the score at the values found (:func:`score`),
    the attack's result there, the values, their intervals, the profile curve [(value, score)]: of the continuous
    unknown, or of the degrees when only the degree is unknown). The degree's interval spans every degree whose
    score is within PROFILE_FACTOR of the best."""
    X = check_array(X, "X", ndim=2)
    continuous = next((u for u in ("gamma", "coef0") if u in unknown), None)
    if continuous == "gamma" and grid is None:
        grid = gamma_grid(kernel, X)
    elif continuous == "coef0" and grid is None:
        grid = COEF0_GRID

    def attack_at(values):
        o = {**known, **values}
        K = Kernel(kernel, gamma=o.get("gamma"), degree=o.get("degree", 3), coef0=o.get("coef0", 1.0))(X)
        opts = {**options, "kernel": "precomputed"}
        result = steal(algorithm, K, y, params, sample_weight=sample_weight, **opts)
        return score(result, _margin_slack(algorithm, K, y, params, opts, result)), result

    def at_degree(fixed: dict) -> tuple[Profile, dict]:
        if continuous is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a wrong degree is "not a minimum": its residual says so
                value, inner = attack_at(fixed)
            return Profile(np.nan, (np.nan, np.nan), value, [], inner), fixed
        prof = profile(lambda t: attack_at({**fixed, continuous: t}), grid, log=continuous == "gamma")
        return prof, {**fixed, continuous: prof.value}

    if "degree" not in unknown:
        prof, values = at_degree({})
        return prof.residual, prof.inner, values, {continuous: prof.interval}, prof.curve
    runs = {d: at_degree({"degree": d}) for d in range(1, MAX_DEGREE + 1)}
    best = min(runs, key=lambda d: runs[d][0].residual)
    limit = PROFILE_FACTOR * max(runs[best][0].residual, ROUND_OFF)
    near = [d for d in runs if runs[d][0].residual <= limit]
    prof, values = runs[best]
    intervals = {"degree": (float(min(near)), float(max(near)))}
    if continuous is not None:
        intervals[continuous] = prof.interval
        curve = prof.curve
    else:
        curve = [(float(d), run[0].residual) for d, run in runs.items()]
    return prof.residual, prof.inner, values, intervals, curve
