"""What every extraction shares: options, the :class:`Extraction` result, the query plan (budget, price, link,
quantisation) and the weighted least-squares solve."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy import linalg

from .._validation import InputError, check_array, check_positive
from ..objectives.neural import ACTIVATIONS, forward
from ..registry import LEARNERS

_EPS = np.finfo(float).eps

#: family → {learner: the output its API returns by default} (from the registry)
_LINEAR, _KERNEL, _MLP = (
    {r.name: r.output for r in LEARNERS.values() if r.family == f} for f in ("linear", "kernel", "mlp"))
_L1 = {r.name for r in LEARNERS.values() if r.sparse}
_ACTIVATIONS = tuple(ACTIVATIONS)
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
            f = forward(self.params, X, spec["activation"])
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


def _act(name: str, z: np.ndarray):
    """Activation and its derivative (the objectives' table)."""
    f, df = ACTIVATIONS[name]
    a = f(z)
    return a, df(z, a)
