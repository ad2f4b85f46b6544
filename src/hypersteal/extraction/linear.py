"""Models linear in their parameters after the link (linear and kernel learners): a design of queries and one
linear solve."""

from __future__ import annotations

import warnings

import numpy as np

from .._validation import InputError, check_array, check_positive
from ..kernels import Kernel
from ..registry import LEARNERS
from ._common import _EPS, _KERNEL, _L1, _LINEAR, Extraction, _link, _Plan, _quantum, _wls

# --------------------------------------------------------------------------------------------------
# Linear and kernel families: linear in the parameters after the link


def _extract_linear_in_params(name: str, family: str, query, d: int, options: dict) -> Extraction:
    default_output = (_LINEAR if family == "linear" else _KERNEL)[name]
    plan = _Plan(name, family, query, d, options, default_output)
    rest = plan.rest
    fit_intercept = rest.pop("fit_intercept", None)
    if fit_intercept is None:  # the core's "decide from the params" default
        fit_intercept = LEARNERS[name].fit_intercept
    if not isinstance(fit_intercept, (bool, np.bool_)):
        raise TypeError(f"fit_intercept must be True or False, got {fit_intercept!r}.")
    fit_intercept = bool(fit_intercept)
    design = rest.pop("design", "axes" if family == "linear" else "train")
    valid_designs = ("axes", "orthogonal", "random") if family == "linear" else ("train", "random")
    if design not in valid_designs:
        raise InputError(
            f"design={design!r} is not valid for {name}; use "
            + ", ".join(repr(v) for v in valid_designs)
            + "."
        )
    zero_tol = rest.pop("zero_tol", "auto" if name in _L1 else None)
    if zero_tol is not None and zero_tol != "auto":
        zero_tol = check_positive(zero_tol, "zero_tol", strict=False)

    if family == "kernel":
        X_train = rest.pop("X_train", None)
        if X_train is None:
            raise InputError(
                f"{name} is linear in its dual coefficients only for known training points: pass "
                "X_train= (the n training rows) and the kernel options."
            )
        X_train = check_array(X_train, "X_train", ndim=2)
        if X_train.shape[1] != d:
            raise InputError(f"X_train has {X_train.shape[1]} features but n_features={d}.")
        kern = _make_kernel(rest, X_train)
        n = X_train.shape[0]
        p = n + fit_intercept
    else:
        p = d + fit_intercept
    assert not rest, rest

    m = plan.rows(p)
    # ---- the design (no query yet)
    if family == "linear":
        U = _linear_design(plan, design, d, m, fit_intercept)
        Q = plan.center + plan.scale * U
    else:
        Q = _kernel_design(plan, design, kern, X_train, m, fit_intercept)

    answers = plan.ask(Q)
    T, G, layout, keep = _link(plan, answers)
    if keep.sum() < p:
        raise InputError(
            f"Only {int(keep.sum())} unsaturated answers remain for {p} unknowns; reduce the query scale."
        )
    if plan.output == "probability" and layout == "multi" and family == "kernel":
        raise InputError(
            f"{name} is binary: query returned {answers.shape[1]} class probabilities. Pass the "
            "positive-class probability or two columns."
        )

    # ---- the system, in well-conditioned coordinates
    if family == "linear":
        if fit_intercept:
            A = np.column_stack([U, np.ones(m)])
            Tm = np.zeros((p, p))  # back-transform: θ = Tm z
            Tm[:d, :d] = np.diag(1.0 / plan.scale)
            Tm[d, :d] = -plan.center / plan.scale
            Tm[d, d] = 1.0
        else:
            A = Q
            Tm = np.eye(p)
    else:
        A = kern(Q, X_train)
        if fit_intercept:
            A = np.column_stack([A, np.ones(m)])
        Tm = np.eye(p)
    sigma_known = _quantum(plan, answers)
    sigma_floor = 4 * _EPS * max(1.0, float(np.abs(answers).max()))
    Z, covs, residual, rank, cond = _wls(A[keep], T[keep], G[keep], sigma_known, sigma_floor)
    if rank < p:
        what = "K(Q, X_train)" if family == "kernel" else "the query design"
        msg = (
            f"{what} has rank {rank} < {p} unknowns: the parameters are identifiable only up to its null "
            "space; the minimum-norm solution is returned (its predictions are still right)."
        )
        if family == "kernel":
            msg += (
                " Duplicate training points, or a linear/poly kernel with n > its feature space, "
                "cause this."
            )
        warnings.warn(msg, UserWarning, stacklevel=3)
        plan.notes.append(msg)
    theta = Tm @ Z  # (p, k)
    covs = np.einsum("ab,kbc,dc->kad", Tm, covs, Tm)
    se = np.sqrt(np.maximum(np.einsum("kaa->ka", covs), 0.0)).T  # (p, k)

    # ---- normalise softmax, snap zeros, shape the params
    if layout == "multi":
        theta, se = _normalise_softmax(name, theta, se, fit_intercept, plan)
    if zero_tol is not None:
        # the intercept too: liblinear penalises it (intercept_scaling), and 0 then matters
        tol = 3.0 * se if zero_tol == "auto" else np.full_like(se, zero_tol)
        small = np.abs(theta) <= tol
        if small.any():
            theta[small] = 0.0
            plan.notes.append(
                f"{int(small.sum())} coefficient(s) within zero_tol of 0 were set to exactly 0."
            )
    params, ses = _shape_params(family, theta, se, fit_intercept)
    est = float(np.sqrt(np.sum(se**2)))
    spec = {"family": family, "layout": layout, "n_features": d}
    if family == "kernel":
        spec.update(kernel=kern, X_train=X_train)
    return Extraction(
        algorithm=name,
        params=params,
        n_queries=plan.sent,
        residual=residual,
        cost=plan.cost(),
        estimated_error=est,
        standard_errors=ses,
        output=plan.output,
        condition=cond,
        notes=tuple(plan.notes),
        queries=Q,
        answers=answers,
        _spec=spec,
    )


def _linear_design(plan: _Plan, design: str, d: int, m: int, fit_intercept: bool) -> np.ndarray:
    """Unit-scale design rows u (m, d): a well-conditioned minimal block, then Gaussian rows."""
    minimal = d + fit_intercept
    if design == "random":
        U = plan.rng.standard_normal((m, d))
    else:
        if design == "axes":
            B = np.eye(d)
        else:
            H, R = np.linalg.qr(plan.rng.standard_normal((d, d)))
            B = H * np.sign(np.diag(R))
        block = np.vstack([np.zeros((1, d)), B]) if fit_intercept else B
        U = np.vstack([block, plan.rng.standard_normal((m - minimal, d))])
    return U


def _make_kernel(rest: dict, X_train: np.ndarray) -> Kernel:
    kernel = rest.pop("kernel", "rbf")
    gamma = rest.pop("gamma", None)
    if isinstance(gamma, str):
        if gamma == "scale":
            var = X_train.var()
            gamma = 1.0 / (X_train.shape[1] * var) if var > 0 else 1.0
        elif gamma == "auto":
            gamma = 1.0 / X_train.shape[1]
        else:
            raise InputError(f"gamma must be a number, 'scale' or 'auto', got {gamma!r}.")
    kw = {"gamma": gamma}
    if "degree" in rest:
        kw["degree"] = rest.pop("degree")
    if "coef0" in rest:
        kw["coef0"] = rest.pop("coef0")
    if kernel == "precomputed":
        raise InputError(
            "kernel='precomputed' cannot be queried: the API takes feature rows. Pass the kernel by name."
        )
    return Kernel(kernel, **kw)


def _kernel_design(plan: _Plan, design: str, kern: Kernel, X_train: np.ndarray, m: int,
                   fit_intercept: bool) -> np.ndarray:
    n, d = X_train.shape
    mu, sd = X_train.mean(axis=0), X_train.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    minimal = n + fit_intercept
    if design == "random":
        return mu + sd * plan.rng.standard_normal((m, d))
    rows = [X_train]
    if fit_intercept:
        # choose the extra row that keeps [K(Q, X) 1] best conditioned (costs no query)
        dirs = plan.rng.standard_normal((3, d))
        dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
        span = float(np.ptp(X_train, axis=0).max()) + 1.0
        cands = np.vstack([np.zeros(d), mu, mu + 3 * sd * dirs, mu + 1e3 * span * dirs[:1]])
        K = kern(X_train, X_train)
        best, best_cond = None, np.inf
        for c in cands:
            M = np.vstack([np.column_stack([K, np.ones(n)]), np.append(kern(c[None], X_train)[0], 1.0)])
            M = M / np.where(np.linalg.norm(M, axis=0) > 0, np.linalg.norm(M, axis=0), 1.0)
            cond = np.linalg.cond(M)
            if np.isfinite(cond) and cond < best_cond:
                best, best_cond = c, cond
        rows.append((cands[0] if best is None else best)[None])
    extra = m - minimal
    if extra > 0:
        idx = plan.rng.integers(0, n, size=extra)
        rows.append(X_train[idx] + 0.3 * sd * plan.rng.standard_normal((extra, d)))
    return np.vstack(rows)


def _normalise_softmax(name, theta, se, fit_intercept, plan):
    """Pick the penalty-minimising representative of a softmax's shift class (see module doc)."""
    p = theta.shape[0]
    body = slice(0, p - fit_intercept)
    theta = theta - theta.mean(axis=1, keepdims=True)  # all parts: mean zero over classes
    if name == "logistic_elastic_net":
        plan.notes.append(
            "softmax parameters are identified up to a common shift; coef and intercepts normalised to "
            "sum 0 over classes (the L2 part's minimiser; the elastic-net one depends on l1_ratio)."
        )
    elif name == "logistic_l1":
        theta[body] -= np.median(theta[body], axis=1, keepdims=True)
        plan.notes.append(
            "softmax parameters are identified up to a common shift; coef normalised to per-feature "
            "median 0 over classes (the L1 minimiser), intercepts to sum 0."
        )
    else:
        plan.notes.append(
            "softmax parameters are identified up to a common shift; coef and intercepts normalised to "
            "sum 0 over classes (the L2 minimiser, as scikit-learn's multinomial)."
        )
    return theta, se


def _shape_params(family, theta, se, fit_intercept):
    """Solution (p, k) → the params format (and the standard errors in the same shape)."""
    key = "coef" if family == "linear" else "dual_coef"
    p, k = theta.shape

    def shape(v):
        body = v[: p - fit_intercept]
        icpt = v[p - fit_intercept] if fit_intercept else np.zeros(k)
        if k == 1:
            return {key: body[:, 0].copy(), "intercept": float(icpt[0])}
        # linear: coef (c, d) as scikit-learn; kernel: dual_coef (n, k)
        return {key: (body.T if family == "linear" else body).copy(), "intercept": np.array(icpt)}

    return shape(theta), shape(se)
