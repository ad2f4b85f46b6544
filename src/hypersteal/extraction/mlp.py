"""Networks of one hidden layer: the query plan, the hyperplanes of ReLU units, and the non-linear fit."""

from __future__ import annotations

import math
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from .._validation import InputError
from ..registry import LEARNERS
from ._common import _ACTIVATIONS, _EXACT, _MAX_FIT, _MAX_FIT_ONLY, _MLP, Extraction, _Plan
from .fit import _fit_restarts, _relu_start, _VarPro
from .relu import _MLPProbe, _progress, _relu_kinks
from .relu_far import _far_kinks


def _extract_mlp(name: str, query, d: int, options: dict) -> Extraction:
    plan = _Plan(name, "mlp", query, d, options, _MLP[name])
    rest = plan.rest
    hidden = rest.pop("hidden_layer_sizes", None)
    if hidden is None:
        raise InputError(
            f"{name} needs the architecture: pass hidden_layer_sizes=h (one hidden layer of h units)."
        )
    if isinstance(hidden, (tuple, list)):
        if len(hidden) != 1:
            raise InputError(
                f"Only one-hidden-layer MLPs can be extracted, got hidden_layer_sizes={tuple(hidden)!r}."
            )
        hidden = hidden[0]
    if isinstance(hidden, bool) or not isinstance(hidden, (int, np.integer)) or hidden < 1:
        raise InputError(f"hidden_layer_sizes must be a positive integer h or (h,), got {hidden!r}.")
    h = int(hidden)
    activation = rest.pop("activation", "relu")
    if activation not in _ACTIVATIONS:
        raise InputError(f"activation must be one of {', '.join(_ACTIVATIONS)}, got {activation!r}.")
    regression = LEARNERS[name].regression
    count_name = "n_outputs" if regression else "n_classes"
    if regression and "n_classes" in rest or not regression and "n_outputs" in rest:
        wrong = "n_classes" if count_name == "n_outputs" else "n_outputs"
        raise TypeError(f"extract_parameters({name!r}) got an unknown option {wrong!r}. Use {count_name}.")
    n_out = rest.pop(count_name, 1 if regression else 2)
    low = 1 if regression else 2
    if isinstance(n_out, bool) or not isinstance(n_out, (int, np.integer)) or n_out < low:
        raise InputError(f"{count_name} must be an integer >= {low}, got {n_out!r}.")
    n_restarts = int(rest.pop("n_restarts", 16))
    max_iter = int(rest.pop("max_iter", 200))
    rebalance = bool(rest.pop("rebalance", True))
    kink_search = rest.pop("kink_search", "auto")
    progress = rest.pop("progress", None)
    if kink_search not in ("auto", True, False):
        raise InputError(f"kink_search must be 'auto', True or False, got {kink_search!r}.")
    assert not rest, rest

    # outputs fitted per row: k values, or c - 1 log-ratios for c classes (one logit when binary)
    o_plan = n_out if regression else n_out - 1
    unknowns = (d + 1) * h + (h + 1) * o_plan
    minimum = int(math.ceil(unknowns / o_plan))
    exact = plan.decimals is None and plan.noise_std is None
    if kink_search == "auto":
        kink_search = activation == "relu" and exact
    if kink_search and activation != "relu":
        raise InputError(f"kink_search needs activation='relu' (piecewise-linear units), got {activation!r}.")
    fixed = plan.n_queries is not None or plan.oversample is not None
    m = plan.rows(minimum, default=20 * minimum)
    if kink_search and not fixed:
        # no count asked for: stop the kink search once every hyperplane is found, then `minimum` rows
        plan.notes[:] = [n for n in plan.notes if "capped by budget" not in n]
        # rows: a budget, else 20 × the minimum and never fewer than ~40 (d + 8) a unit (lines, stencils)
        m = max(m, plan.budget if plan.budget is not None else max(20 * minimum, 40 * h * (d + 8)))

    if not kink_search and (d + 1) * h * o_plan > _MAX_FIT_ONLY:
        why = "rounded or noisy answers have no exact kinks" if activation == "relu" else \
            f"activation={activation!r} has no kinks"
        raise InputError(
            f"{name} with (d + 1)·h·outputs = {(d + 1) * h * o_plan} is beyond the non-linear fit (at most "
            f"{_MAX_FIT_ONLY}), and {why}: it cannot be extracted reliably; no query was sent. Query exact "
            "answers of a ReLU network (no decimals=/noise_std=), or a smaller architecture."
        )

    # ---- phase 1 (ReLU, exact answers): locate every unit's hyperplane from the kinks of f on lines
    probe = _MLPProbe(plan, name)
    planes = []
    if kink_search:
        with _progress(progress, f"{name}: hyperplanes", h) as bar:
            planes = _relu_kinks(probe, d, h, max_rows=m - minimum, bar=bar)
            planes = _far_kinks(probe, planes, d, h, max_rows=m - minimum, bar=bar)
        if not fixed:
            m = plan.sent + minimum
    # ---- phase 2: the rest of the budget as Gaussian rows around center; fit on every answer
    U_rand = plan.rng.standard_normal((m - plan.sent, d))
    probe(U_rand, explore=False)
    U, targets, sigma = probe.data()
    if U.shape[0] < minimum:
        raise InputError(f"Only {U.shape[0]} unsaturated answers remain for {unknowns} unknowns.")
    wts = 1.0 / sigma
    wts /= wts.max()
    layout = probe.layout

    # small dense problems: BLAS threads only add contention
    with threadpool_limits(limits=1, user_api="blas"):
        fit = _VarPro(U, targets, wts, activation, h)
        best_res, best = np.inf, None
        small = (d + 1) * h * o_plan <= (_MAX_FIT if planes else _MAX_FIT_ONLY)
        if planes:
            phi0 = _relu_start(fit, planes, plan)
            if phi0 is not None:
                best, best_res = phi0, fit.residual(phi0)
                if best_res > _EXACT and small:
                    phi, res = fit.run(phi0, max_iter)
                    if res < best_res:
                        best, best_res = phi, res
                how = ("the output layer solved on them." if best_res <= _EXACT else
                       "fit started from them." if small else
                       f"the output layer solved on them (no non-linear fit beyond {_MAX_FIT} parameters).")
                plan.notes.append(f"{len(planes)} ReLU hyperplane(s) located from kinks on lines; {how}")
        if best_res > 1e-9 and not small:
            if best is None:
                raise InputError(
                    f"{name} with (d + 1)·h·outputs = {(d + 1) * h * o_plan} is beyond the non-linear fit (at "
                    f"most {_MAX_FIT_ONLY}); only exact answers of a ReLU network (kink search) reach it, and "
                    + ("the kink search found no hyperplane." if kink_search else "they were not available.")
                    + f" ({plan.sent} queries were spent.)"
                )
        elif best_res > 1e-9:
            # random starts on the plain least-squares landscape (weights near 0 for rows near
            # saturation flatten it), then the winner polished on the weighted one
            plain = _VarPro(U, targets, np.ones_like(wts), activation, h)
            phi, _ = _fit_restarts(plan, plain, n_restarts, max_iter)
            phi, res = fit.run(phi, max_iter)
            if res < best_res:
                best, best_res = phi, res
        W1, b1, W2, b2 = fit.unpack(best)
        est = None if exact else _fit_error(fit, best, sigma, plan, name)
    # back to raw coordinates: u = (x - center) / scale
    W1 = W1 / plan.scale[:, None]
    b1 = b1 - plan.center @ W1
    if layout == "multi" and name == "mlp_classification":
        W2 = np.column_stack([np.zeros(h), W2])
        b2 = np.concatenate([[0.0], b2])
        W2 = W2 - W2.mean(axis=1, keepdims=True)
        b2 = b2 - b2.mean()
        plan.notes.append("softmax output layer normalised to sum 0 over classes (the L2 minimiser).")
    if rebalance and activation == "relu":
        a_in = np.linalg.norm(W1, axis=0)
        a_out = np.linalg.norm(W2, axis=1)
        ok = (a_in > 0) & (a_out > 0)
        a = np.ones(h)
        a[ok] = np.sqrt(a_out[ok] / a_in[ok])
        W1, b1, W2 = W1 * a, b1 * a, W2 / a[:, None]
        plan.notes.append("ReLU units rescaled to balance ‖W1[:, j]‖ = ‖W2[j]‖ (the L2-penalty minimiser).")
    if best_res > 1e-6 and exact:
        if kink_search and len(planes) < h:
            msg = (
                f"only {len(planes)} of {h} ReLU hyperplanes were located ({plan.sent} queries); the extracted "
                f"network is approximate (relative residual {best_res:.2g}): raise the budget or n_queries, or "
                "the architecture has fewer live units than hidden_layer_sizes."
            )
            warnings.warn(msg, UserWarning, stacklevel=3)
        else:
            msg = (
                f"the fit's relative residual is {best_res:.2g}: if the answers are exact, the fit is in a "
                "local minimum; retry with more n_restarts or another random_state."
            )
        plan.notes.append(msg)
    plan.notes.append(
        "hidden units are identified only up to permutation (and sign for tanh/logistic); compare "
        "predictions, not parameters."
    )
    params = {"coefs": [W1, W2], "intercepts": [b1, b2]}
    Q, answers = probe.sent_rows()
    return Extraction(
        algorithm=name,
        params=params,
        n_queries=plan.sent,
        residual=float(best_res),
        cost=plan.cost(),
        estimated_error=est,
        standard_errors=None,
        output=plan.output,
        condition=None,
        notes=tuple(plan.notes),
        queries=Q,
        answers=answers,
        _spec={"family": "mlp", "layout": layout, "n_features": d, "activation": activation},
    )


def _fit_error(fit: _VarPro, phi: np.ndarray, sigma: np.ndarray, plan: _Plan, name: str) -> float:
    """Rounded or noisy answers: the fit's parameter error, or a warning that it is not a fit at all.

    The weighted residuals' error is min(σ) (rows are weighted by min(σ)/σ); a fit whose residual is more
    than 3× what that error explains is a local minimum, not the network: say so.  Otherwise the
    Gauss–Newton covariance σ²(JᵀJ)⁺ of the hidden layer (in query units; the output layer is projected
    out) gives the root-mean-square parameter error, as ``estimated_error`` does for linear models.
    """
    r = fit.fun(phi)
    s_w = float(sigma.min())
    rms = float(np.sqrt(np.mean(r**2)))
    if rms > 3 * s_w:
        msg = (
            f"the fit's residual (RMS {rms:.3g}) is {rms / s_w:.3g}× the answers' known error ({s_w:.3g}): it is "
            "not the network (a local minimum, or the answers are coarser than decimals=/noise_std= say). "
            "Retry with more n_restarts or queries; do not use these parameters."
        )
        warnings.warn(msg, UserWarning, stacklevel=4)
        plan.notes.append(msg)
        return math.inf
    J = fit.jac(phi)
    sv = np.linalg.svd(J, compute_uv=False)
    keep = sv > sv[0] * 1e-10 if sv.size and sv[0] > 0 else np.zeros(0, dtype=bool)
    est = s_w * float(np.sqrt(np.sum(1.0 / sv[keep] ** 2)))
    plan.notes.append(
        f"{name}: fit within the answers' error; estimated_error {est:.3g} is the hidden layer's RMS parameter "
        "error in query units (Gauss–Newton covariance; symmetries excluded)."
    )
    return est
