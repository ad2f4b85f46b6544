"""What a scikit-learn solver guarantees at its stopping point.

Models are released as their solver left them: near a minimum, not at one. The solver's stopping rule is
something the attacker knows besides the parameters and the data. Each rule below turns what the solver checked
before it stopped into a bound on the paper-scale gradient at its own λ
(:class:`~hypersteal.attack.GradientBound`); every λ that the bound allows is in the interval. L-BFGS,
Newton-CG and Newton-Cholesky stop at max|∇| ≤ ``tol`` on scikit-learn's objective, the paper's divided by n,
so max|∇F(θ)| ≤ n·tol. liblinear's TRON (L2 logistic regression, ``LinearSVC``'s squared hinge on the primal)
stops at a relative ‖∇‖₂ and newGLMNET (L1 logistic regression) at a relative ℓ1 norm of the minimum-norm
subgradient; both convert to bounds that need no λ (or shrink as λ grows). These are rigorous for a solver that
stopped by its rule. Coordinate descent (``Lasso``, ``ElasticNet``) stops on its duality gap, evaluated here
over a grid of λ. sag and saga stop on the change of w in an epoch, which bounds no gradient: their bound is a
heuristic with a calibrated factor (SAG_GRADIENT_FACTOR). liblinear's dual coordinate descent
(``LinearSVC(loss="hinge")``) gets no rule: its projected-gradient criterion bounds the points' margins, not the
primal gradient. Converged fits are solved exactly by the hinge attack's margin search (measured in
benchmarks/realistic.py); fits stopped by ``max_iter`` are no minimum. Where no rule gives an exact answer,
:mod:`hypersteal.adapters.replay` trains the estimator again.
"""

from __future__ import annotations

import numpy as np

from ..attack import GradientBound

__all__ = ["gradient_bound", "glmnet_intervals", "gap_intervals"]

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
