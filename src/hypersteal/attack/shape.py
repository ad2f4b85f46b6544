"""Loss-shape parameters the attacker does not know, recovered with λ (``steal(..., epsilon=None)``): the tube
width ε of support vector regression, and Huber regression's ε.

The objective says what ε its parameters imply (``implied_epsilon``): a kernel SVR from which points lie inside
its tube (α = 0), on its edge and outside it
(:meth:`~hypersteal.objectives.insensitive.KernelSVREpsilonInsensitive.implied_epsilon`), Huber regression from
its scale's stationarity condition (:meth:`~hypersteal.objectives.robust.HuberRegression.implied_epsilon`). ε is
a number where the parameters pin it, else an interval: then every ε strictly inside it puts the same points
beyond the kink, so λ does not depend on the choice. λ is stolen at that ε, and a pinned ε's interval is widened
to at least what the stationarity residual explains, as λ's is.
"""

from __future__ import annotations

import numpy as np

from .. import _policy
from .._validation import InputError
from ..objectives import get_objective
from ..registry import LEARNERS, canonical_name
from ..result import Status, StealResult

__all__ = ["steal_unknown_epsilon"]


def steal_unknown_epsilon(steal, algorithm, X, y, params, *, sample_weight=None, steal_kw=None,
                          **options) -> StealResult:
    """``steal(algorithm, X, y, params, epsilon=ε̂, …)`` at the ε the parameters imply, with ``result.shape``
    saying how well they imply it."""
    name = canonical_name(algorithm)
    rec = LEARNERS[name]
    objective = get_objective(name, **{k: v for k, v in options.items() if k != "epsilon"})
    if not hasattr(objective, "implied_epsilon"):
        raise InputError(
            f"epsilon=None (ε unknown) is supported for the kernel SVR (kernel_svr_epsilon_insensitive), whose dual "
            f"coefficients show which points sit on the tube's edge, and for huber_regression; {name} needs the ε "
            "it was fitted with."
            if rec.loss in ("epsilon_insensitive", "squared_epsilon_insensitive") else
            f"{name} has no ε to steal: epsilon is an option of the support vector regressors and of Huber "
            "regression.")
    data = objective.weigh(objective.prepare(X, y), sample_weight)
    tube = objective.implied_epsilon(data, objective.check_params(params, data))
    eps = tube.estimate if np.isfinite(tube.estimate) else 0.0
    result = steal(name, X, y, params, sample_weight=sample_weight, **(steal_kw or {}), **{**options, "epsilon": eps})
    lo, hi = tube.interval
    if tube.determined:  # at least what the residual explains, as for λ (Theorem 2)
        rho = _policy.RESIDUAL_RELATIVE_FACTOR * result.residual
        lo, hi = min(lo, eps / (1 + rho)), max(hi, eps * (1 + rho))
    result.shape = {"epsilon": {"value": eps if tube.determined else float("nan"), "interval": (lo, hi),
                                "determined": tube.determined}}
    if tube.contradiction or lo > hi:
        result.warnings.append(tube.contradiction or "the points inside the tube lie farther from the fit than "
                               "some support vectors: no ε makes these parameters a minimum.")
        result.status, result.identifiable = Status.NOT_A_MINIMUM, False
        result.lambdas = {k: float("nan") for k in result.lambdas}
    elif not tube.determined:
        result.warnings.append(f"ε is not determined: no point sits exactly at the loss's kink, so every ε in "
                               f"[{lo:.6g}, {hi:.6g}] is consistent; λ was stolen at {eps:.6g}.")
    return result
