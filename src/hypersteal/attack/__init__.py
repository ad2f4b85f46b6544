"""The estimator: stationarity equations → λ, the interval of consistent λ, and diagnostics.

At a minimum of ``loss(θ) + Σ_k λ_k R_k(θ)`` the gradient vanishes: ``b + Aλ = 0``. The paper solves
the normal equations ``λ̂ = −(AᵀA)⁻¹Aᵀb``; here

* the least-squares problem is solved by an orthogonal factorisation on unit-norm columns (or, with
  bounded unknowns, by bounded-variable least squares), in the best-conditioned equivalent form;
* hinge points on the margin get their subgradient weights β ∈ [0, 1] as unknowns, and which
  points lie on the margin is chosen by how well each candidate set explains the equations, not by
  a fixed tolerance (libsvm leaves |y f − 1| ≈ 1e-6 on margin points);
* L1 coordinates held at zero only say |b_j| ≤ λ: they bound λ instead of polluting the fit;
* the interval of λ consistent with all conditions (a small LP) says when λ is not identifiable.
"""

from __future__ import annotations

from collections.abc import Mapping

from .. import _policy
from .._validation import InputError, check_positive
from ..objectives import Objective, get_objective
from ..registry import LEARNERS, canonical_name
from ..result import StealResult
from .intervals import GradientBound
from .solve import Solution, solve_system
from .stacked import attack_stacked
from .systems import _choose_system, _stack
from .verdict import _finite_difference_gradient, conclude, judge, rejudge

__all__ = ["steal", "steal_stacked", "solve_system", "judge", "rejudge", "conclude", "Solution", "GradientBound"]


def steal(
    algorithm: str,
    X,
    y,
    params: Mapping,
    *,
    identifiable_rtol: float = _policy.IDENTIFIABLE_RTOL,
    margin_tol: float | None = None,
    bound: GradientBound | None = None,
    sample_weight=None,
    **model_options,
) -> StealResult:
    """Recover the regularisation hyperparameters a learner used from its parameters.

    Parameters
    ----------
    algorithm : str
        The learner, by our name or the paper's, case-insensitive (``"ridge"``, ``"RR"``,
        ``"svm_hinge"``, ``"SVM-RHL"``, …); see :data:`hypersteal.registry.ALGORITHMS`.
    X : array-like of shape (n, d)
        The training data (for ``kernel="precomputed"``, the Gram matrix).
    y : array-like of shape (n,) or (n, t)
        Targets, or labels (any two labels for binary learners).
    params : mapping
        The learned parameters in scikit-learn's names: ``coef`` (d,) or (outputs, d) and
        ``intercept`` for linear models; ``dual_coef`` (n,) and ``intercept`` for kernel models;
        ``coefs`` and ``intercepts`` (lists) for MLPs. ``intercept`` defaults to 0.
    identifiable_rtol : float, default=1e-6
        A λ counts as identifiable when its consistent interval is narrower than this fraction of
        it (or than what the residual of an inexact fit explains).
    margin_tol : float, optional
        Hinge losses: treat points with |y f − 1| ≤ margin_tol as on the margin. By default the
        margin set is chosen from the data (see the module docstring).
    bound : GradientBound, optional
        What the solver that produced ``params`` guarantees about its gradient (e.g. L-BFGS stops
        when max|∇F| ≤ tol): the interval of λ is then the values the guarantee allows — rigorous —
        instead of an estimate from the residual. :func:`steal_from_estimator` sets it from the
        estimator's solver and ``tol``.
    sample_weight : array-like of shape (n,) or (n, outputs), optional
        Known weights of the loss rows: the learner minimised ``Σ_i w_i ℓ(y_i, f_i) + Σ_k λ_k R_k``
        (scikit-learn's ``sample_weight`` times ``class_weight``, for the linear and kernel learners; hinge
        margin points keep β ∈ [0, 1]). Finite and non-negative, one per row (or per row and output, as
        one-vs-rest class weights give). Weights that are all equal to c are the same fit as no weights with
        λ divided by c: only known weights recover λ in the learner's own units.
    **model_options
        ``intercept_scaling`` (liblinear's penalised intercept) and ``fit_intercept`` for linear
        models; ``kernel``, ``gamma``, ``degree``, ``coef0`` and ``form`` for kernel models;
        ``activation`` for MLPs; ``epsilon`` (the tube width) for the support vector regressors —
        ``epsilon=None`` for the kernel SVR means unknown: it is recovered with λ into ``result.shape``.

    Returns
    -------
    StealResult
        ``.lambdas``, ``.lam``, ``.interval``, ``.status``, ``.identifiable``, ``.residual``, ``.gradient()``.

    Examples
    --------
    >>> import numpy as np, hypersteal
    >>> from sklearn.linear_model import Ridge
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(50, 3)), rng.normal(size=50)
    >>> model = Ridge(alpha=2.5).fit(X, y)
    >>> r = hypersteal.steal("ridge", X, y, {"coef": model.coef_, "intercept": model.intercept_})
    >>> round(r.lam, 10)
    2.5
    """
    if not isinstance(params, Mapping):
        raise TypeError(
            "params must be a mapping such as {'coef': ..., 'intercept': ...}, got "
            f"{type(params).__name__}; "
            "to steal from a fitted scikit-learn estimator use hypersteal.steal_from_estimator."
        )
    if "epsilon" in model_options and model_options["epsilon"] is None:  # ε unknown: recovered with λ
        from .shape import steal_unknown_epsilon

        return steal_unknown_epsilon(steal, algorithm, X, y, params, sample_weight=sample_weight, steal_kw={
            "identifiable_rtol": identifiable_rtol, "margin_tol": margin_tol, "bound": bound}, **model_options)
    identifiable_rtol = check_positive(identifiable_rtol, "identifiable_rtol")
    if margin_tol is not None:
        margin_tol = check_positive(margin_tol, "margin_tol", strict=False)
    if "activation" in params and LEARNERS[canonical_name(algorithm)].family == "mlp":
        # a network's parameters may name their activation (learners.train does): use it, or check it
        named = model_options.setdefault("activation", params["activation"])
        if named != params["activation"]:
            raise InputError(f"activation={named!r} was passed but params['activation'] is "
                             f"{params['activation']!r}; pass one of them.")
    objective = get_objective(algorithm, **model_options)
    data = objective.weigh(objective.prepare(X, y), sample_weight)
    params = objective.check_params(params, data)
    if bound is not None and not isinstance(bound, GradientBound):
        raise TypeError(f"bound must be a hypersteal.attack.GradientBound, got {type(bound).__name__}.")
    return _attack(objective, data, params, identifiable_rtol=identifiable_rtol, margin_tol=margin_tol, bound=bound)


def steal_stacked(algorithm: str, problems, *, identifiable_rtol: float = _policy.IDENTIFIABLE_RTOL,
                  margin_tol: float | None = None, **model_options) -> StealResult:
    """Steal one λ shared by several sub-problems (one-vs-one or one-vs-rest models): their
    stationarity equations are stacked into one system.

    Parameters
    ----------
    algorithm : str
        The learner of every sub-problem.
    problems : sequence of (X, y, params) or (X, y, params, sample_weight)
        Each sub-problem's training data and parameters, as for :func:`steal` (with its known row weights, or
        None).
    """
    identifiable_rtol = check_positive(identifiable_rtol, "identifiable_rtol")
    if margin_tol is not None:
        margin_tol = check_positive(margin_tol, "margin_tol", strict=False)
    if not problems:
        raise InputError("steal_stacked needs at least one (X, y, params) sub-problem.")
    objective = get_objective(algorithm, **model_options)
    prepared = []
    for problem in problems:
        if len(problem) not in (3, 4):
            raise InputError("each sub-problem is (X, y, params) or (X, y, params, sample_weight); got a tuple of "
                             f"{len(problem)}.")
        Xp, yp, params = problem[:3]
        data = objective.weigh(objective.prepare(Xp, yp), problem[3] if len(problem) == 4 else None)
        prepared.append((data, objective.check_params(params, data)))
    return _attack(objective, *prepared[0], identifiable_rtol=identifiable_rtol, margin_tol=margin_tol,
                   problems=prepared)


def _attack(objective: Objective, data, params, *, identifiable_rtol, margin_tol, problems=None,
            bound: GradientBound | None = None, dense: bool = False) -> StealResult:
    """Solve for λ. ``problems`` (a list of (data, params)) stacks several sub-problems sharing λ; ``dense``
    solves their stacked system as one (the reference for :mod:`hypersteal.attack.stacked`'s fast path)."""
    problems = problems or [(data, params)]
    if len(problems) > 1 and not dense:  # the fast path for stacked sub-problems, ending in conclude() too
        return attack_stacked(objective, problems, identifiable_rtol=identifiable_rtol, margin_tol=margin_tol)
    chosen = [_choose_system(objective, d, p, margin_tol) for d, p in problems]
    _, form, kw, mask, _, sol = chosen[0]
    system = _stack([c[4] for c in chosen])
    if len(chosen) > 1 or sol is None:
        sol = solve_system(system, interval=False)

    def gradient_fn():
        if len(problems) > 1:
            raise RuntimeError("The gradient of a stacked (one-vs-one) attack is not available.")
        return _finite_difference_gradient(objective, data, params, kw, mask)

    return conclude(objective, system, sol, form=form, identifiable_rtol=identifiable_rtol,
                    bound=bound if len(problems) == 1 else None, gradient_fn=gradient_fn)
