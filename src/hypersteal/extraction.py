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
  (up to 36 units) or a relaxation.  The output layer is then a linear solve; the search stops as
  soon as all h hyperplanes are found.  Measured sizes and query counts: docs/extraction.md.
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
import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy import linalg, optimize
from threadpoolctl import threadpool_limits

from ._validation import InputError, check_array, check_options, check_positive
from .kernels import Kernel
from .registry import LEARNERS, canonical_name
from .result import StealResult

__all__ = ["Extraction", "extract_parameters", "steal_from_api", "steal_black_box", "EXTRACTION_OPTIONS"]

_EPS = np.finfo(float).eps

#: family → {learner: the output its API returns by default} (from the registry)
_LINEAR, _KERNEL, _MLP = (
    {r.name: r.output for r in LEARNERS.values() if r.family == f} for f in ("linear", "kernel", "mlp"))
_L1 = {r.name for r in LEARNERS.values() if r.sparse}
_ACTIVATIONS = ("relu", "tanh", "logistic", "identity")
_SCREEN_NFEV, _POLISH = 40, 2  # MLP fit: evaluations per screened start, starts polished
_PRECISE = 1e-10  # kink search: largest relative error of a normal measured before lines stop bringing any
_EXACT = 1e-9  # relative residual below which a located-hyperplane start is taken as is
_MAX_FIT_ONLY = 2500  # (d + 1)·h·outputs beyond which a network without kinks is refused before any query
_MAX_FIT = 300  # (d + 1)·h·outputs beyond which no non-linear fit is run (its cost grows as their square)

_COMMON = {
    "output",
    "budget",
    "price_per_query",
    "random_state",
    "n_queries",
    "oversample",
    "scale",
    "center",
    "decimals",
    "noise_std",
    "saturated",
    "batch_size",
    "fit_intercept",
}
_LINEAR_OPTIONS = _COMMON | {"design", "zero_tol"}
_KERNEL_OPTIONS = (_COMMON - {"center", "scale"}) | {
    "design", "zero_tol", "X_train", "kernel", "gamma", "degree", "coef0"
}
_MLP_OPTIONS = (_COMMON - {"fit_intercept"}) | {
    "hidden_layer_sizes",
    "activation",
    "n_restarts",
    "max_iter",
    "n_outputs",
    "n_classes",
    "rebalance",
    "kink_search",
    "progress",
}

#: Options that only the extraction uses; :func:`steal_black_box` passes the others to the model.
EXTRACTION_OPTIONS = frozenset(
    _COMMON
    | {"design", "zero_tol", "X_train", "hidden_layer_sizes", "n_restarts", "max_iter", "n_outputs",
       "n_classes", "rebalance", "kink_search", "progress"}
) - {"fit_intercept"}
#: Options both the extraction and the model need.
_SHARED_OPTIONS = frozenset({"fit_intercept", "kernel", "gamma", "degree", "coef0", "activation"})


# --------------------------------------------------------------------------------------------------
# The result


@dataclass(eq=False)
class Extraction(Mapping):
    """Parameters extracted through a prediction API, with what they cost and how good they are.

    It is also a read-only mapping of :attr:`params` (``ext["coef"]``), so it can be passed wherever a
    params dict is expected.

    Attributes
    ----------
    algorithm : str
        Canonical algorithm name.
    params : dict
        The parameters, in the ``params`` format of :func:`hypersteal.steal` (see the module doc).
    n_queries : int
        Rows sent to the API.
    residual : float
        Relative residual ‖Aθ̂ − t‖ / ‖t‖ of the solved system (t: the answers after the link).
    cost : float or None
        ``n_queries × price_per_query``, or None when no price was given.
    estimated_error : float or None
        Estimated root-mean-square norm of the parameter error (all parameters together); None for
        MLPs, whose parameters are identified only up to symmetries.
    standard_errors : dict or None
        Per-parameter standard errors, shaped like ``params`` (linear and kernel families).
    output : str
        What the API answered: ``"value"``, ``"score"`` or ``"probability"``.
    condition : float or None
        Condition number of the (weighted, column-equilibrated) design.
    notes : tuple of str
        Anything the caller should know (clipping, rank deficiency, normalisations).
    queries, answers : ndarray
        The rows sent and the answers received.
    """

    algorithm: str
    params: dict
    n_queries: int
    residual: float
    cost: float | None = None
    estimated_error: float | None = None
    standard_errors: dict | None = field(default=None, repr=False)
    output: str = "value"
    condition: float | None = None
    notes: tuple = ()
    queries: np.ndarray | None = field(default=None, repr=False)
    answers: np.ndarray | None = field(default=None, repr=False)
    _spec: dict = field(default_factory=dict, repr=False)

    # Mapping of the params
    def __getitem__(self, key):
        return self.params[key]

    def __iter__(self):
        return iter(self.params)

    def __len__(self):
        return len(self.params)

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def __repr__(self) -> str:
        def shape(v):
            if isinstance(v, list):
                return "[" + ", ".join(shape(x) for x in v) + "]"
            a = np.asarray(v)
            return "float" if a.ndim == 0 else str(a.shape)

        shapes = ", ".join(f"{k}: {shape(v)}" for k, v in self.params.items())
        fmt = lambda x: "None" if x is None else f"{x:.3g}"  # noqa: E731
        return (
            f"Extraction(algorithm={self.algorithm!r}, output={self.output!r}, "
            f"n_queries={self.n_queries}, residual={fmt(self.residual)}, "
            f"estimated_error={fmt(self.estimated_error)}, cost={fmt(self.cost)}, params={{{shapes}}})"
        )

    def predict(self, X) -> np.ndarray:
        """The extracted model's answers to ``X``, in the API's output and layout."""
        spec = self._spec
        X = check_array(X, "X", ndim=2)
        if X.shape[1] != spec["n_features"]:
            raise InputError(f"X has {X.shape[1]} features; the extracted model has {spec['n_features']}.")
        if spec["family"] == "linear":
            coef = np.asarray(self.params["coef"])
            f = X @ coef.T + self.params["intercept"]
        elif spec["family"] == "kernel":
            f = spec["kernel"](X, spec["X_train"]) @ np.asarray(self.params["dual_coef"])
            f = f + self.params["intercept"]
        else:
            f = _mlp_forward(self.params, X, spec["activation"])
            if f.shape[1] == 1:
                f = f[:, 0]
        return _from_link(f, self.output, spec["layout"])


def _from_link(f: np.ndarray, output: str, layout: str) -> np.ndarray:
    """Map linear predictors back to the API's answers (the inverse of the link)."""
    if output != "probability":
        return f
    if layout == "multi":
        z = f - f.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)
    p = 1.0 / (1.0 + np.exp(-np.asarray(f, dtype=float).reshape(-1)))
    return np.column_stack([1 - p, p]) if layout == "binary2" else p


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
# Shared plumbing


class _Plan:
    """Parsed common options and the query plan."""

    def __init__(self, name: str, family: str, query, d: int, options: dict, default_output: str):
        self.name, self.family, self.d, self.query = name, family, d, query
        o = dict(options)
        self.output = o.pop("output", default_output)
        allowed = _allowed_outputs(name, family)
        if self.output not in allowed:
            raise InputError(_output_message(name, self.output, allowed))
        self.budget = o.pop("budget", None)
        if self.budget is not None:
            if isinstance(self.budget, bool) or not isinstance(self.budget, (int, np.integer)):
                raise TypeError(f"budget must be an integer number of rows, got {self.budget!r}.")
            if self.budget < 0:
                raise InputError(f"budget must be >= 0 rows, got {self.budget}.")
        price = o.pop("price_per_query", None)
        self.price = None if price is None else check_positive(price, "price_per_query", strict=False)
        self.rng = np.random.default_rng(o.pop("random_state", None))
        self.n_queries = o.pop("n_queries", None)
        if self.n_queries is not None and (
            isinstance(self.n_queries, bool) or not isinstance(self.n_queries, (int, np.integer))
        ):
            raise TypeError(f"n_queries must be an integer, got {self.n_queries!r}.")
        self.oversample = o.pop("oversample", None)
        if self.oversample is not None:
            self.oversample = check_positive(self.oversample, "oversample")
            if self.oversample < 1:
                raise InputError(f"oversample must be >= 1 (a factor of the minimum), got {self.oversample}.")
            if self.n_queries is not None:
                raise InputError("Pass n_queries or oversample, not both.")
        self.decimals = o.pop("decimals", None)
        if self.decimals is not None and (
            isinstance(self.decimals, bool) or not isinstance(self.decimals, (int, np.integer))
        ):
            raise TypeError(f"decimals must be an integer, got {self.decimals!r}.")
        noise = o.pop("noise_std", None)
        self.noise_std = None if noise is None else check_positive(noise, "noise_std", strict=False)
        self.saturated = o.pop("saturated", "raise")
        if self.saturated not in ("raise", "drop", "clip"):
            raise InputError(f"saturated must be 'raise', 'drop' or 'clip', got {self.saturated!r}.")
        self.batch_size = o.pop("batch_size", None)
        if self.batch_size is not None:
            if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, (int, np.integer)) \
                    or self.batch_size < 1:
                raise InputError(f"batch_size must be a positive integer, got {self.batch_size!r}.")
        self.center = _vector(o.pop("center", 0.0), d, "center", positive=False)
        self.scale = _vector(o.pop("scale", 1.0), d, "scale", positive=True)
        self.rest = o
        self.sent = 0
        self.notes: list[str] = []

    def rows(self, minimum: int, default: int | None = None) -> int:
        """How many rows to send; refuse (before any query) a budget or n_queries below ``minimum``."""
        what = f"{self.name} needs at least {minimum} queries to determine its parameters"
        if self.n_queries is not None:
            if self.n_queries < minimum:
                raise InputError(f"n_queries={self.n_queries} is too few: {what}.")
            m = int(self.n_queries)
        elif self.oversample is not None:
            m = int(math.ceil(self.oversample * minimum))
        else:
            m = minimum if default is None else default
        if self.budget is not None:
            if self.budget < minimum:
                raise InputError(
                    f"budget={self.budget} is too small: {what}; no query was sent. "
                    f"Raise the budget to at least {minimum}."
                )
            if m > self.budget:
                if self.n_queries is not None or self.oversample is not None:
                    raise InputError(
                        f"n_queries={m} exceeds budget={self.budget}; no query was sent. "
                        "Lower n_queries/oversample or raise the budget."
                    )
                self.notes.append(f"default of {m} queries capped by budget={self.budget}.")
                m = int(self.budget)
        return m

    def ask(self, Q: np.ndarray) -> np.ndarray:
        """Send ``Q`` (in batches), count the rows, check the answers' shape and values."""
        m = Q.shape[0]
        if self.budget is not None and self.sent + m > self.budget:  # pragma: no cover - planned above
            raise InputError(f"Sending {m} rows would exceed budget={self.budget}.")
        step = m if self.batch_size is None else self.batch_size
        parts = []
        for i in range(0, m, step):
            batch = Q[i : i + step].copy()
            self.sent += batch.shape[0]
            a = np.asarray(self.query(batch))
            if a.ndim == 2 and a.shape[1] == 1:
                a = a[:, 0]
            if a.ndim not in (1, 2) or a.shape[0] != batch.shape[0]:
                raise InputError(
                    f"query returned answers of shape {a.shape} for {batch.shape[0]} rows; it must return "
                    f"one answer per row: shape ({batch.shape[0]},) or ({batch.shape[0]}, k)."
                )
            parts.append(a)
        if any(p.ndim != parts[0].ndim or p.shape[1:] != parts[0].shape[1:] for p in parts):
            raise InputError("query returned answers of different shapes for different batches.")
        answers = np.concatenate(parts, axis=0)
        try:
            answers = answers.astype(float)
        except (TypeError, ValueError):
            raise TypeError(f"query must return numbers, got dtype {answers.dtype}.") from None
        bad = int(answers.size - np.count_nonzero(np.isfinite(answers)))
        if bad:
            raise InputError(
                f"query returned {bad} NaN or infinite answer(s) out of {answers.size}; the API failed on "
                f"some rows — check it (and the query scale) and retry. ({self.sent} queries were spent.)"
            )
        return answers

    def cost(self) -> float | None:
        return None if self.price is None else self.sent * self.price


def _allowed_outputs(name: str, family: str) -> tuple[str, ...]:
    return {"value": ("value", "score"), "score": ("score",), "probability": ("probability", "score")}[
        LEARNERS[name].output]


def _output_message(name: str, output, allowed) -> str:
    msg = f"output={output!r} is not supported for {name}; use " + " or ".join(repr(a) for a in allowed)
    if LEARNERS[name].output == "score" and output == "probability":
        msg += (
            ". An SVM's probabilities (Platt scaling, fitted by cross-validation) are not a known "
            "function of its parameters; query its decision scores"
        )
    if output == "label":
        msg += ". Label-only APIs need retraining attacks, which hypersteal does not implement"
    return msg + "."


def _vector(value, d: int, name: str, *, positive: bool) -> np.ndarray:
    arr = check_array(value, name, ndim=(0, 1))
    if arr.ndim == 0:
        arr = np.full(d, float(arr))
    if arr.shape != (d,):
        raise InputError(f"{name} must be a number or a vector of {d} values, got shape {arr.shape}.")
    if positive and np.any(arr <= 0):
        raise InputError(f"{name} must be > 0, got {arr.min()!r}.")
    return arr


def _quantum(plan: _Plan, answers: np.ndarray) -> float:
    """Known standard deviation of an answer's error (rounding, noise), 0 if unknown."""
    s = 0.0
    if plan.decimals is not None:
        s = max(s, 0.5 * 10.0 ** (-plan.decimals) / math.sqrt(3.0))
    if plan.noise_std is not None:
        s = max(s, plan.noise_std)
    return s


def _link(plan: _Plan, answers: np.ndarray):
    """Answers → linear targets T (m, k), noise multipliers G (m, k), layout, kept rows."""
    m = answers.shape[0]
    keep = np.ones(m, dtype=bool)
    if plan.output != "probability":
        T = answers.reshape(m, -1)
        return T, np.ones_like(T), ("1d" if answers.ndim == 1 else "2d"), keep
    P = answers.reshape(m, -1)
    if np.any(P < 0) or np.any(P > 1):
        raise InputError(
            "query returned probabilities outside [0, 1] (min "
            f"{P.min():.3g}, max {P.max():.3g}); if these are decision scores, pass output='score'."
        )
    if P.shape[1] >= 2:
        tol = 1e-6 + (P.shape[1] * 0.5 * 10.0 ** (-plan.decimals) if plan.decimals is not None else 0.0)
        tol = max(tol, 3 * (plan.noise_std or 0.0) * P.shape[1])
        dev = np.abs(P.sum(axis=1) - 1).max()
        if dev > tol:
            raise InputError(
                f"query returned {P.shape[1]} probabilities per row that do not sum to 1 (off by up to "
                f"{dev:.3g}); one-vs-rest probabilities are not a softmax — query decision scores with "
                "output='score' instead."
            )
    cols = P if P.shape[1] >= 2 else np.column_stack([1 - P[:, 0], P[:, 0]])
    sat = np.any(cols <= 0, axis=1)
    if sat.any():
        msg = (
            f"{int(sat.sum())} of {m} answers saturate (a probability of exactly 0 or 1), whose logit "
            "is infinite"
        )
        if plan.saturated == "raise":
            raise InputError(
                f"{msg}; reduce the query scale (scale=), move center= towards the decision boundary, or "
                f"pass saturated='drop' or 'clip'. ({plan.sent} queries were spent.)"
            )
        if plan.saturated == "drop":
            keep = ~sat
            cols = cols.copy()
            cols[sat] = 1.0 / cols.shape[1]  # placeholders, left out of the solve
            plan.notes.append(f"{msg}; those rows were left out of the solve.")
        else:
            floor = 0.5 * 10.0 ** (-plan.decimals) if plan.decimals is not None else 1e-12
            cols = np.clip(cols, floor, None)
            cols = cols / cols.sum(axis=1, keepdims=True)
            plan.notes.append(f"{msg}; they were clipped to {floor:.3g} (biased; prefer a smaller scale).")
    with np.errstate(divide="ignore"):
        L = np.log(cols)
    if P.shape[1] == 1 or P.shape[1] == 2:
        p1, p0 = cols[:, 1], cols[:, 0]
        T = (L[:, 1] - L[:, 0])[:, None]
        # d logit = dp / (p (1 - p)); with two columns, 1/p1 + 1/p0 bounds both correlated and
        # independent column errors
        G = (1.0 / p1 + 1.0 / p0)[:, None]
        layout = "pos" if P.shape[1] == 1 else "binary2"
    else:
        c = P.shape[1]
        T = L - L.mean(axis=1, keepdims=True)
        inv2 = 1.0 / cols**2
        G = np.sqrt((1 - 2.0 / c) * inv2 + inv2.sum(axis=1, keepdims=True) / c**2)
        layout = "multi"
    return T, G, layout, keep


def _wls(A: np.ndarray, T: np.ndarray, G: np.ndarray, sigma_known: float, sigma_floor: float):
    """Weighted least squares per target column, with covariance.

    Returns solution Z (p, k), covariances (k, p, p), relative residual, rank, condition number.
    """
    m, p = A.shape
    k = T.shape[1]
    Z = np.zeros((p, k))
    covs = np.zeros((k, p, p))
    rank_min, cond_max = p, 0.0
    for j in range(k):
        w = 1.0 / G[:, j]
        Aw = A * w[:, None]
        tw = T[:, j] * w
        col = np.linalg.norm(Aw, axis=0)
        col[col == 0] = 1.0
        As = Aw / col
        U, s, Vt = linalg.svd(As, full_matrices=False, lapack_driver="gesvd")
        tol = s[0] * max(m, p) * _EPS if s.size and s[0] > 0 else 0.0
        r = int(np.sum(s > tol))
        rank_min = min(rank_min, r)
        cond_max = max(cond_max, s[0] / s[r - 1] if r else np.inf)
        Vr = Vt[:r].T / s[:r]
        z = Vr @ (U[:, :r].T @ tw)
        resid = As @ z - tw
        Z[:, j] = z / col
        dof = m - r
        var = max(sigma_known**2, sigma_floor**2)
        if dof > 0:
            var = max(var, float(resid @ resid) / dof)
        covs[j] = var * (Vr @ Vr.T) / np.outer(col, col)
    res_abs = np.linalg.norm(A @ Z - T)
    res_rel = res_abs / max(np.linalg.norm(T), np.finfo(float).tiny)
    return Z, covs, float(res_rel), rank_min, float(cond_max)


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


# --------------------------------------------------------------------------------------------------
# One-hidden-layer MLPs: non-linear least squares


def _act(name: str, z: np.ndarray):
    """Activation and its derivative."""
    if name == "relu":
        return np.maximum(z, 0.0), (z > 0).astype(float)
    if name == "tanh":
        t = np.tanh(z)
        return t, 1.0 - t**2
    if name == "logistic":
        s = 0.5 * (1.0 + np.tanh(0.5 * z))
        return s, s * (1.0 - s)
    return z, np.ones_like(z)


def _mlp_forward(params, X, activation):
    W1, W2 = params["coefs"]
    b1, b2 = params["intercepts"]
    H, _ = _act(activation, X @ W1 + b1)
    return H @ W2 + b2


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


class _progress:
    """A rich progress bar of located hyperplanes and queries sent; shown when ``progress`` is True, or
    when it is None (the default) and stderr is a terminal."""

    def __init__(self, progress, what: str, total: int):
        import sys

        self.on = bool(sys.stderr.isatty()) if progress is None else bool(progress)
        self.what, self.total, self._bar = what, total, None

    def __enter__(self):
        if not self.on:
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TextColumn("{task.fields[sent]} queries"), TimeElapsedColumn(), transient=True)
        self._bar.start()
        task = self._bar.add_task(self.what, total=self.total, sent=0)
        return lambda done, sent: self._bar.update(task, completed=done, sent=sent)

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.stop()
        return False


class _MLPProbe:
    """Ask rows given in unit coordinates u (x = center + scale·u); keep targets and their noise.

    Targets are what the network's output layer computes: values, the logit (binary) or the log-ratios
    to class 0 (softmax).  ``sigma`` is each row's error: the known rounding / noise level, or the
    floating-point floor, propagated through the link (∞ for a saturated probability).
    """

    def __init__(self, plan: _Plan, name: str):
        self.plan, self.name = plan, name
        self.U, self.T, self.S, self.Q, self.A = [], [], [], [], []
        self.layout = None

    def __call__(self, U: np.ndarray, *, explore: bool = True):
        plan = self.plan
        U = np.atleast_2d(U)
        if U.shape[0] == 0:
            return np.zeros((0, 1)), np.zeros(0)
        Q = plan.center + plan.scale * U
        answers = plan.ask(Q)
        if explore:  # our own probing: saturated rows are simply unknown, not the user's concern
            saved, n_notes = plan.saturated, len(plan.notes)
            plan.saturated = "drop"
            try:
                T, G, layout, keep = _link(plan, answers)
            finally:
                plan.saturated = saved
                del plan.notes[n_notes:]
        else:
            T, G, layout, keep = _link(plan, answers)
        if self.layout is None:
            self.layout = layout
        elif layout != self.layout:
            raise InputError("query returned answers of different shapes for different batches.")
        if not LEARNERS[self.name].regression and layout == "multi":
            T, G = T[:, 1:] - T[:, :1], np.maximum(G[:, 1:], G[:, :1])
        # floating-point floor: a softmax's probabilities carry a relative error of a few ulps (exp of the
        # logits), a binary probability an absolute one (the other class is 1 − p)
        absolute = plan.output == "probability" and layout != "multi"
        floor = 8 * _EPS * (np.abs(T).max(axis=1) + (G.max(axis=1) if absolute else 1.0))
        S = np.maximum(_quantum(plan, answers) * G.max(axis=1), floor)
        S[~keep] = np.inf
        for lst, v in ((self.U, U), (self.T, T), (self.S, S), (self.Q, Q), (self.A, answers)):
            lst.append(v)
        return T, S

    def data(self):
        """Every usable row so far: U, targets, sigma."""
        U, T, S = (np.concatenate(x) for x in (self.U, self.T, self.S))
        ok = np.isfinite(S)
        return U[ok], T[ok], S[ok]

    def sent_rows(self):
        return np.concatenate(self.Q), np.concatenate(self.A)


def _relu_kinks(probe: _MLPProbe, d: int, h: int, max_rows: int, bar=None) -> list:
    """Locate the hyperplanes n·u + b = 0 of a one-hidden-layer ReLU network from exact answers.

    Along a line u(t) = a + t·v the network's output is piecewise linear in t with a kink wherever the
    line crosses a unit's hyperplane (Jagielski et al. 2020; Carlini et al. 2020).  A grid on the line
    brackets the kinks (non-zero second differences), the two linear pieces around a bracket meet at the
    kink (checked with one query; brackets holding several kinks are refined), and the jump of the
    gradient across the kink, measured by finite differences on either side, is ∝ the unit's normal n.
    Lines are drawn until h distinct hyperplanes are found, ``max_rows`` are spent or several lines in a
    row add nothing.  Returns a list of (n, b, jump) with ‖n‖ = 1, in unit coordinates.
    """
    plan = probe.plan
    rng = plan.rng
    half = max(3.0, 1.5 * math.sqrt(d))
    n_grid = 64
    planes: list = []
    r = None
    idle, max_idle = 0, 20
    lenient = False
    cost_line = n_grid + 4 * (2 * d + 3)
    while len(planes) < h and idle < max_idle and plan.sent + cost_line <= max_rows:
        a = 0.5 * rng.standard_normal(d)
        v = rng.standard_normal(d)
        v /= np.linalg.norm(v)
        ts = np.linspace(-half, half, n_grid)
        T, S = probe(a + ts[:, None] * v)
        if r is None:
            r = rng.standard_normal(T.shape[1]) if T.shape[1] > 1 else np.ones(1)
        line = _Line(probe, a, v, r)
        s_line = S * np.abs(r).sum()
        if np.mean(~np.isfinite(S)) > 0.25 and half > 1.0:
            half = max(1.0, 0.7 * half)  # saturated answers hide kinks: shorter lines from now on
        kinks = line.scan(ts, T @ r, s_line, max_rows)
        found = 0
        for t, eps, jump in kinks:
            if plan.sent + 2 * d + 14 > max_rows:  # stencil, then up to four 3-row checks
                break
            # the normal's relative error is about the answers' error over the stencil's step, over the
            # jump: measure it first where the answers are precise (not near saturation), and elsewhere
            # only once lines stop bringing precise kinks
            with np.errstate(invalid="ignore"):
                imprecision = np.interp(t, ts, np.where(np.isfinite(s_line), s_line, 1e300)) / (
                    0.1 * eps * abs(jump))
            if imprecision > _PRECISE and not lenient:
                continue
            u = a + t * v
            if any(abs(p[0] @ u + p[1]) <= 1e-6 * (1.0 + abs(p[1])) for p in planes):
                continue  # a hyperplane we know already
            plane = line.normal(u, eps, jump)
            if plane is None or not _on_plane(probe, plane, r, d):
                continue
            n, b = plane[:2]
            if any(abs(n @ p[0]) > 1 - 1e-6 and abs(b - np.sign(n @ p[0]) * p[1]) < 1e-4 * (1 + abs(b))
                   for p in planes):
                continue
            planes.append(plane)
            found += 1
            if bar is not None:
                bar(len(planes), plan.sent)
        idle = 0 if found else idle + 1
        if idle >= max_idle // 2 and not lenient:
            lenient, idle = True, 0
    return _remeasure(probe, planes, r, d, max_rows)


def _remeasure(probe: _MLPProbe, planes: list, r, d: int, max_rows: int) -> list:
    """Measure again, where the answers are more precise, the normals that were measured imprecisely.

    A normal measured near saturation (a logit known only to ~1e-8) is re-measured on lines through the
    point of its plane nearest the centre of the queries, crossing no other known plane within the
    stencil; the more precise of the measurements is kept (up to three tries a plane).
    """
    plan = probe.plan
    rng = plan.rng
    out = list(planes)
    if not planes:
        return out
    N = np.column_stack([p[0] for p in planes])
    B = np.array([p[1] for p in planes])
    for i, (n, b, g, _imp) in enumerate(planes):
        for _ in range(3):
            if out[i][3] <= _PRECISE or plan.sent + 2 * d + 2 > max_rows:
                break
            x0 = -b * n + 0.3 * (rng.standard_normal(d) @ (np.eye(d) - np.outer(n, n)))
            v = n + 0.3 * rng.standard_normal(d) / math.sqrt(d)
            v /= np.linalg.norm(v)
            with np.errstate(divide="ignore"):
                t_other = -(x0 @ N + B) / (v @ N)
            t_other[i] = np.inf
            eps = 0.3 * float(np.min(np.abs(t_other)))
            if not np.isfinite(eps) or eps < 1e-6:
                continue
            line = _Line(probe, x0, v, r)
            new = line.normal(x0, eps, (n @ v) * (g @ r))
            if new is not None and abs(new[0] @ n) > 1 - 1e-6 and new[3] < out[i][3]:
                out[i] = new
    return out


def _on_plane(probe: _MLPProbe, plane, r: np.ndarray, d: int) -> bool:
    """Check a located hyperplane elsewhere: f must kink by the measured jump where it is crossed at
    random points of it (3 queries a try), else the measurement mixed two units.  A try counts only
    where the answers are precise enough to tell (not near saturation); two such tries must agree, and
    none may disagree, within four tries."""
    n, b, g = plane[:3]
    jump = g @ r
    passed = 0
    for _ in range(4):
        x = probe.plan.rng.standard_normal(d)
        x -= (n @ x + b) * n
        eps = 1e-3
        T, S = probe(x + np.outer([-eps, 0.0, eps], n))
        if not np.all(np.isfinite(S)):
            continue
        y = T @ r
        noise = _Line._C * 4 * S.max() * np.abs(r).sum() / eps
        if noise > 1e-3 * abs(jump):
            continue  # too imprecise here to tell
        if abs((y[0] - 2 * y[1] + y[2]) / eps - jump) > 1e-4 * abs(jump) + noise:
            return False
        passed += 1
        if passed == 2:
            return True
    return False


class _Line:
    """Kink search along one line of the query space (see :func:`_relu_kinks`)."""

    _C = 1e3  # collinearity tolerance, in units of the answers' error

    def __init__(self, probe, a, v, r):
        self.probe, self.a, self.v, self.r = probe, a, v, r

    def f(self, ts):
        T, S = self.probe(self.a + np.atleast_1d(ts)[:, None] * self.v)
        return T @ self.r, S * np.abs(self.r).sum()

    def scan(self, ts, g, s, max_rows, depth=0):
        """Kinks (t, clearance, slope jump) between the grid points ``ts`` with values g ± s."""
        plan = self.probe.plan
        n = len(ts)
        if n < 4:
            return []
        with np.errstate(invalid="ignore"):
            frac = (ts[1:-1] - ts[:-2]) / (ts[2:] - ts[:-2])
            defect = np.abs(g[1:-1] - g[:-2] - (g[2:] - g[:-2]) * frac)
            tol = self._C * (s[:-2] + s[1:-1] + s[2:])
            flat = (defect <= tol) & np.isfinite(tol)
        zero = np.concatenate([[False], flat, [False]])  # point i: neighbours i - 1, i, i + 1 collinear
        clean = zero[:-1] | zero[1:]  # interval j = [t_j, t_j+1]
        clean &= np.isfinite(s[:-1]) & np.isfinite(s[1:])
        kinks = []
        j = 0
        while j < n - 1:
            if clean[j]:
                j += 1
                continue
            lo = j
            while j < n - 1 and not clean[j]:
                j += 1
            hi = j  # dirty intervals lo .. hi - 1, i.e. [t_lo, t_hi]
            if lo == 0 or hi == n - 1 or not np.all(np.isfinite(s[lo - 1 : hi + 2])):
                continue
            sl = (g[lo] - g[lo - 1]) / (ts[lo] - ts[lo - 1])
            sr = (g[hi + 1] - g[hi]) / (ts[hi + 1] - ts[hi])
            if sl == sr or plan.sent + 1 > max_rows:
                continue
            t = (g[hi] - sr * ts[hi] - g[lo] + sl * ts[lo]) / (sl - sr)
            if ts[lo] < t < ts[hi]:
                gt, st = self.f(t)
                pred = g[lo] + sl * (t - ts[lo])
                tol = self._C * (st[0] + s[lo] + s[hi])
                if abs(gt[0] - pred) <= tol:
                    eps = 0.5 * min(t - ts[lo - 1], ts[hi + 1] - t)
                    kinks.append((float(t), eps, sr - sl))
                    continue
                extra_t, extra_g, extra_s = [t], [gt[0]], [st[0]]
            else:
                extra_t, extra_g, extra_s = [], [], []
            if depth >= 6 or plan.sent + 10 > max_rows:
                continue
            new = np.linspace(ts[lo], ts[hi], 10)[1:-1]
            gn, sn = self.f(new)
            tt = np.concatenate([ts[lo - 1 : hi + 2], new, extra_t])
            gg = np.concatenate([g[lo - 1 : hi + 2], gn, extra_g])
            ss = np.concatenate([s[lo - 1 : hi + 2], sn, extra_s])
            order = np.argsort(tt)
            kinks += self.scan(tt[order], gg[order], ss[order], max_rows, depth + 1)
        return kinks

    def normal(self, u, eps, jump):
        """The hyperplane through kink u: the gradient jump across it, by finite differences (a step of
        0.1 × the clearance)."""
        return self._normal(u, eps, jump, 0.1 * eps)

    def _normal(self, u, eps, jump, delta):
        d = u.size
        base = np.vstack([u - eps * self.v, u + eps * self.v])
        stencil = np.vstack([base, (base[:, None, :] + delta * np.eye(d)[None]).reshape(2 * d, d)])
        T, S = self.probe(stencil)
        if not np.all(np.isfinite(S)):
            return None
        J = (T[2:].reshape(2, d, -1) - T[:2, None, :]) / delta  # (side, d, o)
        D = J[1] - J[0]  # jump of the Jacobian crossing the hyperplane along +v
        Uu, sv, Vt = np.linalg.svd(D, full_matrices=False)
        if sv[0] == 0 or (sv.size > 1 and sv[1] > 1e-4 * sv[0]):
            return None
        n, g = Uu[:, 0], sv[0] * Vt[0]
        if n @ self.v < 0:
            n, g = -n, -g
        # the jump along v must match the one the line measured (else a stencil crossed a kink)
        along = (n @ self.v) * (g @ self.r)
        if abs(along - jump) > 1e-3 * abs(jump):
            return None
        imprecision = 2.0 * float(S.max()) / delta / sv[0]  # relative error of the normal's entries
        # where the two linear pieces meet along v: the kink, to the answers' precision
        y = T[:2] @ self.r
        sl = np.einsum("d,sdo,o->s", self.v, J, self.r)
        if sl[0] != sl[1]:
            t = (y[1] - y[0] - (sl[0] + sl[1]) * eps) / (sl[0] - sl[1])
            if abs(t) < eps:
                u = u + t * self.v
        return n, float(-(n @ u)), g, imprecision


class _VarPro:
    """Weighted least squares for a one-hidden-layer network by variable projection.

    For a fixed hidden layer (W1, b1) the output layer is a linear least-squares solve, so only the
    hidden layer φ = (W1, b1) is optimised (scipy ``least_squares``, Kaufman's Jacobian).  Rows are
    weighted by the inverse of their error (a logit near saturation is known only roughly).
    """

    def __init__(self, U, T, w, activation, h):
        self.U, self.T, self.w, self.activation, self.h = U, T, w, activation, h
        self.Tw = T * w[:, None]
        self.tnorm = max(np.linalg.norm(self.Tw), np.finfo(float).tiny)

    def inner(self, phi):
        U, w, h = self.U, self.w, self.h
        m, d = U.shape
        W1, b1 = phi[: d * h].reshape(d, h), phi[d * h :]
        H, dH = _act(self.activation, U @ W1 + b1)
        Hb = np.column_stack([H, np.ones(m)]) * w[:, None]
        Ub, s, Vt = np.linalg.svd(Hb, full_matrices=False)
        r = max(int(np.sum(s > s[0] * max(Hb.shape) * _EPS)), 1)
        Ub = Ub[:, :r]
        B = Vt[:r].T @ ((Ub.T @ self.Tw) / s[:r, None])
        return dH, Ub, B, Hb @ B - self.Tw

    def fun(self, phi):
        return self.inner(phi)[-1].ravel(order="F")

    def jac(self, phi):
        dH, Ub, B, _ = self.inner(phi)
        U, w, h = self.U, self.w, self.h
        m, d = U.shape
        blocks = []
        for k in range(B.shape[1]):
            g = dH * B[:h, k] * w[:, None]
            Jk = np.column_stack([(U[:, :, None] * g[:, None, :]).reshape(m, d * h), g])
            blocks.append(Jk - Ub @ (Ub.T @ Jk))
        return np.vstack(blocks)

    def residual(self, phi) -> float:
        return float(np.linalg.norm(self.inner(phi)[-1]) / self.tnorm)

    def run(self, phi, nfev):
        try:
            sol = optimize.least_squares(
                self.fun, phi, jac=self.jac, method="trf", ftol=1e-15, xtol=1e-15, gtol=1e-15, max_nfev=nfev
            )
        except (np.linalg.LinAlgError, ValueError):  # a degenerate start (SVD did not converge)
            return phi, np.inf
        return sol.x, float(np.linalg.norm(sol.fun) / self.tnorm)

    def unpack(self, phi):
        d, h = self.U.shape[1], self.h
        _, _, B, _ = self.inner(phi)
        return phi[: d * h].reshape(d, h).copy(), phi[d * h :].copy(), B[:h], B[h]


def _relu_start(fit: _VarPro, planes: list, plan: _Plan):
    """A hidden layer from located hyperplanes: choose each unit's active side, fill spare units.

    relu(z) = relu(−z) + z, so the hyperplanes fix the function only up to which side of each one its
    unit is active on; the network has no linear term, so the active sides are the subset F of units
    whose flipped linear parts cancel the linear part β of the fit Σ αⱼ relu(nⱼ·u + bⱼ) + βᵀu + c
    (a subset sum, solved by meeting in the middle).  A linear part left over (units active on every
    query) goes to spare units whose hyperplanes lie beyond the queries.
    """
    U, T, w, h = fit.U, fit.T, fit.w, fit.h
    m, d = U.shape
    k = len(planes)
    if k > h:
        plan.notes.append(f"found {k} kinks' hyperplanes for {h} units; kink start abandoned.")
        return None
    N = np.column_stack([p[0] for p in planes])
    b = np.array([p[1] for p in planes])
    Phi = np.column_stack([np.maximum(U @ N + b, 0.0), U, np.ones(m)]) * w[:, None]
    coef = np.linalg.lstsq(Phi, T * w[:, None], rcond=None)[0]
    alpha, beta = coef[:k], coef[k : k + d]  # (k, o), (d, o)
    V = np.einsum("dj,jo->jdo", N, alpha).reshape(k, -1)
    flip = _subset_sum(V, -beta.ravel())
    W1 = np.zeros((d, h))
    b1 = np.zeros(h)
    sgn = np.where(flip, -1.0, 1.0)
    W1[:, :k], b1[:k] = N * sgn, b * sgn
    left = (beta.ravel() + V[flip].sum(axis=0)).reshape(d, -1)
    if k < h and np.linalg.norm(left) > 1e-8 * max(np.linalg.norm(beta), 1e-300):
        Ul, sl, _ = np.linalg.svd(left, full_matrices=False)
        for i in range(min(h - k, int(np.sum(sl > 1e-8 * sl[0])))):
            n = Ul[:, i]
            W1[:, k + i] = n
            b1[k + i] = 1.0 - (U @ n).min()  # active on every query: linear there
    return np.concatenate([W1.ravel(), b1])


def _subset_sum(V: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The subset of the rows of V whose sum is nearest target (exact for up to 36 rows)."""
    k = V.shape[0]
    if k == 0:
        return np.zeros(0, dtype=bool)
    # the subset's indicator solves Vᵀc = target; when V has full row rank it is that solution, rounded
    Wv, sv, Zt = np.linalg.svd(V, full_matrices=False)
    rank = int(np.sum(sv > sv[0] * max(V.shape) * _EPS)) if sv.size and sv[0] > 0 else 0
    if rank == k:
        c = Wv @ ((Zt @ target) / sv)
        if np.all(np.abs(c - np.rint(c)) < 1e-3) and np.all((np.rint(c) == 0) | (np.rint(c) == 1)):
            return np.rint(c).astype(bool)
    if k > 36 or rank == k:  # relaxation, then rounding (no exact subset: some hyperplane is missing)
        c = optimize.lsq_linear(V.T, target, bounds=(0.0, 1.0)).x
        return c > 0.5
    # meet in the middle, in the coordinates of V's row space (at most k of them)
    V, target = V @ Zt[:rank].T, Zt[:rank] @ target

    def sums(rows):
        S = np.zeros((1, V.shape[1]))
        for v in rows:
            S = np.vstack([S, S + v])
        return S  # index i: the subset of the bits of i

    k1 = k // 2
    from scipy.spatial import cKDTree

    left, right = sums(V[:k1]), sums(V[k1:])
    dist, idx = cKDTree(left).query(target - right)
    j = int(np.argmin(dist))
    i = int(idx[j])
    return np.array([(i >> t) & 1 for t in range(k1)] + [(j >> t) & 1 for t in range(k - k1)], dtype=bool)


def _fit_restarts(plan, fit: _VarPro, n_restarts: int, max_iter: int):
    """The fit from random starts whose hyperplanes cross the query cloud: screen short runs from
    ``n_restarts`` starts, polish the best ``_POLISH`` to ``max_iter`` evaluations.  Returns φ, residual.
    """
    U = fit.U
    m, d = U.shape
    h = fit.h
    screened = []
    for _ in range(max(n_restarts, 1)):
        W1 = plan.rng.standard_normal((d, h)) / math.sqrt(d)
        anchors = U[plan.rng.integers(0, m, size=h)]
        b1 = -np.einsum("hd,dh->h", anchors, W1)  # each unit's hyperplane crosses the queries
        phi, res = fit.run(np.concatenate([W1.ravel(), b1]), min(_SCREEN_NFEV, max_iter))
        screened.append((res, phi))
        if res < 1e-10:
            break
    screened.sort(key=lambda t: t[0])
    best_res, best = screened[0]
    for res, phi in screened[:_POLISH]:
        if best_res < 1e-10:
            break
        phi, res = fit.run(phi, max_iter)
        if res < best_res:
            best, best_res = phi, res
    return best, float(best_res)


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
