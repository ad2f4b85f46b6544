"""Steal a model's parameters through its prediction API by equation solving (Tramèr et al., 2016).

A platform that never releases parameters still answers queries.  Each answer is an equation in the
unknown parameters; enough of them determine the parameters, and :func:`hypersteal.steal` then
recovers the hyperparameters from those (docs/conventions.md).

Families and the number of queries (rows sent to the API) on exact answers:

=================================================== ============== ===================================
algorithm                                           output         minimal rows (unknowns solved)
=================================================== ============== ===================================
ridge, lasso, elastic_net                           value          d + 1   (w, c)
svm_hinge, svm_squared_hinge                        score          d + 1   (w, c)
logistic_l1, logistic_l2, logistic_elastic_net      probability    d + 1   logit(p) = xᵀw + c
  (binary)
logistic_* (c classes, softmax)                     probability    d + 1   centred log p is linear
kernel_ridge                                        value          n       (α; no intercept, as in
                                                                           scikit-learn and docs/conventions.md)
kernel_logistic_*, kernel_svm_*                     prob. / score  n + 1   f = K(Q, X_train) α + c
mlp_regression, mlp_classification (1 hidden layer) value / prob.  default 20 × the minimum, i.e.
                                                                           20 × unknowns for one output
                                                                           (ReLU: kinks, then a fit;
                                                                           others: non-linear least
                                                                           squares)
=================================================== ============== ===================================

``fit_intercept=False`` removes the intercept and one query.  Logistic and kernel-logistic models also
accept ``output="score"`` (decision values, linear in the parameters).

Conventions of the returned parameters (the ``params`` format of :func:`hypersteal.steal`):

* linear: ``{"coef": (d,) or (c, d), "intercept": float or (c,)}``; kernel:
  ``{"dual_coef": (n,) or (n, k), "intercept": float or (k,)}`` with f(x) = Σ αᵢ k(xᵢ, x) + c;
  MLP: ``{"coefs": [W1 (d, h), W2 (h, out)], "intercepts": [b1 (h,), b2 (out,)]}`` (scikit-learn
  layout; out = 1 for regression and binary classification, c for softmax).
* **Softmax** parameters are identified only up to a common shift of every class's (w, c).  We return
  the representative that minimises the penalty, which is the one an exact regularised learner returns:
  ``logistic_l2`` coefficients sum to zero over classes (as scikit-learn's multinomial does),
  ``logistic_l1`` coefficients have per-feature median zero over classes; intercepts (unpenalised)
  always sum to zero.  Softmax MLP output layers are centred the same way.
* **MLP** queries, first measured in one setting, the size of Tramèr et al.'s benchmark (d = 10,
  h = 20, binary ``MLPClassifier``, probabilities, queries around the data's mean and standard
  deviation, agreement of the predicted class on 10,000 fresh points): ReLU networks are extracted
  exactly from ~2,000 queries; smooth (tanh) networks rely on the fit alone: 98.3–100% at the default
  4,820.  Wider and multiclass ReLU networks, against a learning surrogate: docs/extraction.md.
* **MLP** hidden units are identified only up to permutation (and sign for tanh / logistic), which
  leave the penalty unchanged; ReLU units are also identified only up to a positive rescaling
  (W1[:, j]·a, b1[j]·a, W2[j]/a), which does change the L2 penalty: we return the rescaling that
  minimises it (``rebalance=True``), as a regularised optimum must.  Identical copies of a unit
  (common in strongly regularised networks) reach the API only as their sum, so the extraction has
  one unit where the network had c; :func:`steal_black_box` splits them back (c = sqrt(λ_w / λ_a)
  from each unit's two stationarity equations) before stealing λ.  Judge an MLP extraction by the
  agreement of :meth:`Extraction.predict` with the API on fresh points, not by parameter error.
* **ReLU MLPs, exact answers** (``kink_search``, Jagielski et al. 2020, Carlini et al. 2020): along a
  line the network is piecewise linear, with a kink where the line crosses a unit's hyperplane.
  Kinks are bracketed on a 64-point grid, located where the neighbouring linear pieces meet, and
  each new hyperplane's normal is the jump of the gradient across it (finite differences, 2d + 2
  queries), checked at two random points of the plane where the answers are precise enough to tell.
  A normal's error is the answers' error over the stencil's step: near saturation a logit is known
  only to ~1e-8, so kinks are measured first where the answers are precise, and normals measured
  imprecisely are measured again near the plane's point closest to the queries' centre.  Which side
  of each hyperplane its unit is active on is the subset of units whose linear parts cancel (a
  network has no linear term): a linear solve when it determines the subset, else meet in the middle
  (up to 36 units) or a relaxation.  Units active on (nearly) the whole query region, whose
  hyperplanes random lines seldom cross, are searched for along the linear part the located units
  leave unexplained; dead units change no answer and are not searched for.  The output layer is then
  a linear solve; the search stops as soon as all h hyperplanes are found.  Measured sizes and query
  counts: docs/extraction.md.
* **MLPs, rounded or noisy answers** use the fit alone (networks with (d + 1)·h·o ≤ 2500); its
  ``estimated_error`` is the hidden layer's RMS parameter error from the Gauss–Newton covariance, or
  ``inf`` with a warning when the fit's residual exceeds what the stated rounding / noise explains.
* **L1 models** (lasso, elastic_net, logistic_l1, kernel_logistic_l1): parameters (the intercept
  included) within ``zero_tol`` of zero (default: 3 standard errors, which on exact answers is a few
  rounding units) are set to exactly zero so that ``sign(w)`` is right.

Probabilities of exactly 0 or 1 are never log-transformed: by default the extraction refuses them
(``saturated="raise"``: reduce ``scale=`` or move ``center=``); ``"drop"`` solves without those rows,
``"clip"`` clips them to half a rounding step (and says so in ``notes``).

Error estimate: answers may be rounded (``decimals=k``: error uniform within 0.5·10⁻ᵏ) or noisy
(``noise_std=``); no query count is chosen for you — pass ``n_queries`` or ``oversample`` (the error
falls as 1/sqrt(rows); ``tools/rounding_table.py`` measures the λ error this leaves).  Every row's
error is propagated through the link (logit, log) to a weighted least-squares solve; the covariance
σ²(AᵀWA)⁻¹ gives per-parameter ``standard_errors`` and ``estimated_error`` = sqrt(trace) = the expected
root-mean-square of ‖θ̂ − θ‖ over all parameters.  σ is the largest of: the known rounding / noise
level, the residual estimate when there are more rows than unknowns, and the floating-point floor.
MLPs on exact answers report no ``estimated_error`` (their parameters are identified only up to
symmetries; judge them by agreement).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from .._validation import InputError, check_array, check_options
from ..registry import LEARNERS, canonical_name
from ..result import StealResult
from ._common import (
    _KERNEL,
    _KERNEL_OPTIONS,
    _LINEAR,
    _LINEAR_OPTIONS,
    _MLP,
    _MLP_OPTIONS,
    _SHARED_OPTIONS,
    EXTRACTION_OPTIONS,
    Extraction,
    _act,
)
from .linear import _extract_linear_in_params
from .mlp import _extract_mlp

__all__ = ["Extraction", "extract_parameters", "steal_from_api", "steal_black_box", "EXTRACTION_OPTIONS"]


# --------------------------------------------------------------------------------------------------
# Entry point


def extract_parameters(algorithm: str, query: Callable, n_features: int, **options) -> Extraction:
    """Steal a model's parameters through its prediction API by equation solving.

    Parameters
    ----------
    algorithm : str
        Any accepted name (``"ridge"``, ``"L2-LR"``, ``"svm_squared_hinge"``, ``"KSVM-RHL"``, ...).
    query : callable
        Takes an (m, d) float array, returns the API's answers: real values (m,) or (m, k), decision
        scores (m,) or (m, c), the positive-class probability (m,) or class probabilities (m, c).
    n_features : int
        d, the number of input features.
    **options
        output : {"value", "score", "probability"}
            What ``query`` returns. Default: regression → value, logistic / MLP classifier →
            probability, SVM → score.
        budget : int
            Maximum rows ever sent; a budget too small for the unknowns is refused before any query.
        price_per_query : float
            Price of one row; ``.cost`` is the bill.
        n_queries : int, or oversample : float
            Send this many rows (or this factor times the minimum) and solve by least squares; use it
            for rounded or noisy answers.
        decimals : int, noise_std : float
            What is known about the answers' error (rounded to ``decimals``; additive noise).
        scale, center : float or (d,) array
            Linear and MLP models: query rows are ``center + scale · u`` for a unit design u (default 1
            and 0). Reduce ``scale`` if probabilities saturate. Kernel models place their queries
            from ``X_train`` instead.
        design : str
            Linear: ``"axes"`` (default: the origin plus unit vectors), ``"orthogonal"`` (a random
            orthogonal design) or ``"random"`` (Gaussian rows). Kernel: ``"train"`` (default: the
            training points plus one extra chosen for conditioning) or ``"random"``. Rows beyond the
            minimum are Gaussian around ``center`` (linear) or jittered training points (kernel).
        random_state : int or Generator
            Reproducibility of random designs, extra rows and MLP fits.
        fit_intercept : bool
            Whether the model has an intercept (default True; False for kernel_ridge).
        saturated : {"raise", "drop", "clip"}
            What to do with probabilities of exactly 0 or 1 (default ``"raise"``).
        zero_tol : float or None
            Snap |θ| ≤ zero_tol to 0 (default for L1 models: 3 standard errors; None: never).
        batch_size : int
            Send at most this many rows per call of ``query``.
        X_train, kernel, gamma, degree, coef0 : kernel models
            The known training points and kernel (scikit-learn's names; ``gamma`` may be ``"scale"``
            or ``"auto"`` as in ``SVC``).
        hidden_layer_sizes, activation, n_outputs, n_restarts, max_iter, rebalance, kink_search, progress : MLPs
            One hidden layer of h units (int or ``(h,)``, required); activation as in scikit-learn
            (default ``"relu"``); ``n_outputs`` (regression, default 1) or ``n_classes``
            (classification, default 2) set the minimum, ``ceil(unknowns / equations per row)`` with
            unknowns (d + 1)h + (h + 1)o and o = n_outputs or n_classes − 1.  Default query count:
            20 × that minimum (Tramèr et al.: ~5,000 queries for 20 hidden units; here d = 10,
            h = 20 gives 4,820), except for the kink search, which stops once all h hyperplanes are
            located (or after 20 lines in a row bring none, or at max(20 × minimum, 40·h·(d + 8)) rows, or
            at ``budget``) and then sends ``minimum`` Gaussian rows.
            ``kink_search`` (default ``"auto"``: ReLU with exact answers) first locates the units'
            hyperplanes from kinks on lines; with ``n_queries`` it uses up to all but the minimum of the
            rows and the rest are Gaussian rows around ``center``.  On located hyperplanes the output
            layer is a linear solve; when that leaves a relative residual above 1e-9 and the network is
            small ((d + 1)·h·o ≤ 300), a weighted variable-projection fit (rows weighted by the inverse of
            their error: a logit near saturation is known only roughly) starts from them, or else from
            ``n_restarts`` random starts (default 16, 40 evaluations each), the best two polished to
            ``max_iter`` (default 200) evaluations.  Without kinks (rounded or noisy answers, smooth
            activations) networks with (d + 1)·h·o > 2500 are refused before any query.  ``progress`` (default: when
            stderr is a terminal) shows a rich progress bar of located hyperplanes and queries.

    Returns
    -------
    Extraction
    """
    name = canonical_name(algorithm)
    if not callable(query):
        raise TypeError(f"query must be a callable taking an (m, d) array, got {type(query).__name__}.")
    if isinstance(n_features, bool) or not isinstance(n_features, (int, np.integer)) or n_features < 1:
        raise InputError(f"n_features must be a positive integer, got {n_features!r}.")
    d = int(n_features)
    if name in _LINEAR:
        check_options(options, _LINEAR_OPTIONS, where=f"extract_parameters({name!r})")
        return _extract_linear_in_params(name, "linear", query, d, options)
    if name in _KERNEL:
        check_options(options, _KERNEL_OPTIONS, where=f"extract_parameters({name!r})")
        return _extract_linear_in_params(name, "kernel", query, d, options)
    if name not in _MLP:
        known = ", ".join(sorted({*_LINEAR, *_KERNEL, *_MLP}))
        raise InputError(f"extract_parameters does not know how to extract {name!r}; it extracts: {known}.")
    check_options(options, _MLP_OPTIONS, where=f"extract_parameters({name!r})")
    return _extract_mlp(name, query, d, options)


# --------------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------------
# Extraction, then stealing


def steal_from_api(algorithm: str, query: Callable, X, y, **options) -> StealResult:
    """Steal a model's parameters through its prediction API, then its hyperparameters.

    (``steal_black_box`` is the same function under its first name.)

    Options of the extraction (see :func:`extract_parameters`: budget, price_per_query, n_queries,
    decimals, ...) go to the extraction; the kernel options, ``fit_intercept`` and ``activation`` go to
    both; every other option goes to :func:`hypersteal.steal`.  By default the queries are centred on
    the data (``center = X.mean(0)``, ``scale = X.std(0)``; linear and MLP models) and kernel models
    use ``X_train = X``.

    Returns :func:`hypersteal.steal`'s result with ``.n_queries`` and ``.extraction`` attached.
    """
    from hypersteal import steal  # the core; imported lazily

    name = canonical_name(algorithm)
    Xa = check_array(X, "X", ndim=2)
    ext_opts = {k: options.pop(k) for k in list(options) if k in EXTRACTION_OPTIONS}
    shared = {k: options[k] for k in list(options) if k in _SHARED_OPTIONS}
    if name in _MLP:
        shared.pop("fit_intercept", None)
        for k in ("kernel", "gamma", "degree", "coef0"):
            shared.pop(k, None)
    elif name in _LINEAR:
        for k in ("kernel", "gamma", "degree", "coef0", "activation"):
            shared.pop(k, None)
    else:
        shared.pop("activation", None)
        ext_opts.setdefault("X_train", Xa)
    if name not in _KERNEL:
        sd = Xa.std(axis=0)
        ext_opts.setdefault("center", Xa.mean(axis=0))
        ext_opts.setdefault("scale", np.where(sd > 0, sd, 1.0))
    extraction = extract_parameters(name, query, Xa.shape[1], **ext_opts, **shared)
    result = steal(name, X, y, extraction.params, **options)
    if name in _MLP and result.residual > 1e-6:
        split = _split_merged_units(name, extraction, Xa, y)
        if split is not None:
            alt = steal(name, X, y, split, **options)
            if alt.residual < 0.1 * result.residual:
                alt.warnings.append(
                    "the extracted network's units were split into the duplicate copies the trained "
                    "network must have had (a query API sees only their sum); λ is stolen from the split "
                    "network, whose function is the same."
                )
                result = alt
    return _attach(result, n_queries=extraction.n_queries, extraction=extraction)


#: the first name of :func:`steal_from_api`, kept
steal_black_box = steal_from_api


def _split_merged_units(name: str, extraction: Extraction, X: np.ndarray, y) -> dict | None:
    """Undo the merging of duplicate hidden units that a query API cannot see.

    A regularised network often has c identical copies of a unit (same (w, b), output weights a each);
    its function, hence any extraction, has one unit with output weight A = c·a.  For one copy the
    stationarity equations read ∂L/∂w + 2λw = 0 and ∂L/∂a + 2λa = 0; for the merged unit the first
    gives c·λ and the second λ/c, so c = sqrt(λ_w / λ_a) is read off every unit.  Returns the params
    with each unit split into round(c) equal copies (and units that contribute nothing zeroed), or
    None when nothing is merged or the copies do not fit in the h units.
    """
    activation = extraction._spec["activation"]
    if activation not in ("tanh", "logistic"):
        return None
    W1, W2 = (np.array(w, dtype=float) for w in extraction["coefs"])
    b1, b2 = (np.array(b, dtype=float) for b in extraction["intercepts"])
    d, h = W1.shape
    Z = X @ W1 + b1
    H, dH = _act(activation, Z)
    F = H @ W2 + b2
    y = np.asarray(y)
    if LEARNERS[name].regression:
        R = 2.0 * (F - y.reshape(F.shape))
    elif F.shape[1] == 1:
        classes = np.unique(y)
        R = 1.0 / (1.0 + np.exp(-F)) - (y == classes[-1]).reshape(-1, 1)
    else:
        classes = np.unique(y)
        E = np.exp(F - F.max(axis=1, keepdims=True))
        R = E / E.sum(axis=1, keepdims=True) - (y[:, None] == classes[None, :])
    contrib = np.abs(H - H.mean(axis=0)).max(axis=0) * np.linalg.norm(W2, axis=1)
    live = contrib > 1e-9 * contrib.max()
    G2 = H.T @ R  # (h, o)
    G1 = X.T @ ((R @ W2.T) * dH)  # (d, h)
    with np.errstate(divide="ignore", invalid="ignore"):
        lam_w = -np.einsum("dj,dj->j", G1, W1) / (2 * np.einsum("dj,dj->j", W1, W1))
        lam_a = -np.einsum("jo,jo->j", G2, W2) / (2 * np.einsum("jo,jo->j", W2, W2))
        c = np.sqrt(lam_w / lam_a)
    if not np.all(np.isfinite(c[live])) or np.any(c[live] < 0.5):
        return None
    copies = np.where(live, np.rint(c), 0).astype(int)
    if copies.sum() > h or np.all(copies[live] == 1) or np.any(np.abs(c[live] - copies[live]) > 0.1):
        return None
    cols, bias, rows = [], [], []
    for j in np.flatnonzero(live):
        for _ in range(copies[j]):
            cols.append(W1[:, j])
            bias.append(b1[j])
            rows.append(W2[j] / copies[j])
    spare = h - len(cols)
    W1s = np.column_stack(cols + [np.zeros(d)] * spare)
    b1s = np.array(bias + [0.0] * spare)
    W2s = np.vstack(rows + [np.zeros(W2.shape[1])] * spare)
    # a unit that does not vary over X is a constant there: move it to the output bias
    b2s = b2 + H[:, ~live].mean(axis=0) @ W2[~live]
    return {"coefs": [W1s, W2s], "intercepts": [b1s, b2s]}


def _attach(result, **extra):
    """Add attributes to the core's result, whatever kind of object it is."""
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        names = {f.name for f in dataclasses.fields(result)}
        if set(extra) <= names:
            return dataclasses.replace(result, **extra)
    try:
        for k, v in extra.items():
            object.__setattr__(result, k, v)
        return result
    except (AttributeError, TypeError):
        return _WithExtraction(result, extra)


class _WithExtraction:
    """Wraps a result that takes no new attributes (slots): its own attributes, plus the extras."""

    def __init__(self, result, extra):
        self._result = result
        self.__dict__.update(extra)

    def __getattr__(self, key):
        return getattr(self._result, key)

    def __repr__(self) -> str:
        return f"{self._result!r} + n_queries={self.__dict__['n_queries']}"
