"""Class weights as unknowns. A learner fitted with ``class_weight`` minimises ``Σ_k w_k Σ_{y_i = k} ℓ_i + λ R``,
whose gradient is ``Σ_k w_k b_k + λ a`` with ``b_k`` the loss gradient of class k's rows alone: linear in the
weights and λ together. Fixing the first class's weight at 1 (the loss's overall scale is not determined: every
(c·w, c·λ) is the same fit), ``b_0 + [b_1 … b_{K−1}, a] [w_1 … w_{K−1}, λ] = 0`` is a stationarity system like
any other, solved and bounded by the attack's own least squares and intervals.

A hinge loss's margin points have subgradient weights ``w_k β_i`` with β_i ∈ [0, 1]: a bound that moves with the
unknown weight, so for hinge learners (two classes) the weight ratio is found by variable projection instead
(:mod:`hypersteal.unknowns._profile`), each ratio's λ by the attack with the weights known."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .. import _policy
from .._validation import InputError
from ..attack import judge, solve_system, steal
from ..attack.verdict import _widen
from ..objectives import System, get_objective
from ..registry import LEARNERS
from ._kernel import KERNEL_UNKNOWNS
from ._profile import profile, score

__all__ = ["class_weight_linear", "class_weight_profile", "balanced_ratios", "RATIO_GRID"]

#: weight ratios w_1 / w_0 the hinge profile starts from (log-spaced; scikit-learn's "balanced" on data with one
#: class 1000 times rarer than the other is 1000)
RATIO_GRID = np.geomspace(1e-4, 1e4, 33)


def _class_index(y, classes) -> np.ndarray:
    y = np.asarray(y)
    return np.searchsorted(classes, y) if classes is not None else np.zeros(len(y), dtype=int)


def balanced_ratios(idx: np.ndarray, n_classes: int, sample_weight=None) -> np.ndarray:
    """scikit-learn's ``class_weight="balanced"``, n / (K n_k), relative to the first class: n_0 / n_k (n_k the
    rows of class k, or their summed sample weights where given)."""
    w = np.ones(len(idx)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    counts = np.bincount(idx, weights=w, minlength=n_classes)
    return counts[0] / counts


def class_weight_linear(algorithm, X, y, params, *, sample_weight=None, **options):
    """Solve for the class weights (relative to the first class) and λ (per unit weight of the first class) of a
    learner without hinge kinks or L1 zeros. Returns (classes, each row's class index, estimate, intervals, residual,
    status, n_equations, the λs' names): ``estimate`` and ``intervals`` list w_1 … w_{K−1} then the λs."""
    objective = get_objective(algorithm, **options)
    data = objective.prepare(X, y)
    params = objective.check_params(params, data)
    if data.classes is None:
        raise InputError(f"{algorithm} is a regression learner: it has no classes to weigh. class_weight is an "
                         "unknown of classifiers only.")
    idx = _class_index(data.y_raw if data.y_raw is not None else y, data.classes)
    sw = np.ones(len(idx)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    systems = []
    for k in range(len(data.classes)):
        weighted = objective.weigh(replace(data, w=None), np.where(idx == k, sw, 0.0))
        systems.append(objective.system(weighted, params))
    first = systems[0]
    if first.l1_bounds:
        raise InputError(f"{algorithm} holds weights at zero (an L1 penalty): their bounds |b_j| ≤ λ mix the unknown "
                         "class weights. Use an L2 learner, or pass class_weight as known sample_weight.")
    A = np.column_stack([s.b for s in systems[1:]] + [first.A])
    system = System(b=first.b, A=A, form=first.form, scale=float(np.linalg.norm(sum(s.b for s in systems))))
    sol = solve_system(system, interval=True)
    # Theorem 2 for several unknowns: parameters a gradient error g from the minimum move the solution by A⁺g, so
    # each unknown may be off by its row of A⁺ times the residual vector (for λ alone, λ̂ times the relative
    # residual: the factor the attack calibrated, RESIDUAL_RELATIVE_FACTOR, applies as it is)
    r = np.linalg.norm(system.b + system.A @ sol.lam)
    reach = _policy.RESIDUAL_RELATIVE_FACTOR * r * np.linalg.norm(np.linalg.pinv(system.A), axis=1)
    intervals = [(min(lo, v - h), max(hi, v + h))
                 for (lo, hi), v, h in zip((_widen(iv, v, sol.residual) for iv, v in zip(sol.intervals, sol.lam)),
                                           sol.lam, reach)]
    status, _ = judge(sol.lam, intervals, sol.residual, structural=False)  # no kinks or zeros: width is residual's
    return (data.classes, idx, sol.lam, intervals, sol.residual, status, len(system.b),
            objective.hyperparameters)


def class_weight_profile(algorithm, X, y, params, *, sample_weight=None, grid=None, **options):
    """The weight ratio w_1 / w_0 of a two-class hinge learner by variable projection. Returns (classes, each
    row's class index, profile)."""
    objective = get_objective(algorithm, **options)
    data = objective.prepare(X, y)
    if data.classes is None or len(data.classes) != 2:
        raise InputError(f"{algorithm}: unknown class weights of a hinge loss are found for two classes only "
                         f"(got {0 if data.classes is None else len(data.classes)}); pass the weights as known "
                         "sample_weight for more.")
    idx = _class_index(y, data.classes)
    sw = np.ones(len(idx)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    if data.K is not None and options.get("kernel") != "precomputed":  # one Gram matrix for every ratio
        X, options = data.K, {**{k: v for k, v in options.items() if k not in KERNEL_UNKNOWNS}, "kernel": "precomputed"}

    def attack(ratio):
        result = steal(algorithm, X, y, params, sample_weight=np.where(idx == 1, ratio * sw, sw), **options)
        return score(result), result

    return data.classes, idx, profile(attack, RATIO_GRID if grid is None else grid)


def linear_route(algorithm: str) -> bool:
    """Whether the class weights of ``algorithm`` are solved for directly (no hinge kinks)."""
    return not LEARNERS[algorithm].hinge
