"""Loss-shape parameters the attacker does not know, recovered with λ: the tube width ε of support vector
regression (``steal(..., epsilon=None)``).

The dual coefficients of a kernel SVR say which points lie inside the tube (α = 0), on its edge and outside it
(:meth:`~hypersteal.objectives.insensitive.KernelSVREpsilonInsensitive.tube`): ε is a number when a support
vector is free (0 < |α| < C, so exactly on the edge), else an interval. λ is then stolen at that ε; where ε is
only an interval, every ε strictly inside it puts the same points outside the tube, so λ does not depend on the
choice.
"""

from __future__ import annotations

import numpy as np

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
    if rec.loss != "epsilon_insensitive" or rec.family != "kernel":
        raise InputError(
            f"epsilon=None (ε unknown) is supported for the kernel SVR (kernel_svr_epsilon_insensitive), whose dual "
            f"coefficients show which points sit on the tube's edge; {name} needs the ε it was fitted with."
            if rec.loss in ("epsilon_insensitive", "squared_epsilon_insensitive") else
            f"{name} has no ε: epsilon is an option of the support vector regressors.")
    objective = get_objective(name, **{**options, "epsilon": 0.0})
    data = objective.weigh(objective.prepare(X, y), sample_weight)
    tube = objective.tube(data, objective.check_params(params, data))
    eps = tube.estimate if np.isfinite(tube.estimate) else 0.0
    result = steal(name, X, y, params, sample_weight=sample_weight, **(steal_kw or {}), **{**options, "epsilon": eps})
    lo, hi = tube.interval
    result.shape = {"epsilon": {"value": eps if tube.determined else float("nan"), "interval": (lo, hi),
                                "determined": tube.determined}}
    if tube.contradiction or lo > hi:
        result.warnings.append(tube.contradiction or "the points inside the tube lie farther from the fit than "
                               "some support vectors: no ε makes these parameters a minimum.")
        result.status, result.identifiable = Status.NOT_A_MINIMUM, False
        result.lambdas = {k: float("nan") for k in result.lambdas}
    elif not tube.determined:
        result.warnings.append(f"ε is not determined: no support vector is free (strictly inside the box), so every "
                               f"ε in [{lo:.6g}, {hi:.6g}] is consistent; λ was stolen at {eps:.6g}.")
    return result
