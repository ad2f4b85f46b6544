"""What every trainer shares: options and their defaults (from the registry), validation, label encoding."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .._validation import (
    InputError,
    check_array,
    check_binary_labels,
    check_options,
    check_positive,
    check_X_y,
    suggest,
)
from ..kernels import Kernel
from ..objectives.neural import ACTIVATIONS
from ..registry import LEARNERS, Learner, canonical_name

# =========================================================================== option handling


_KERNEL = {"kernel": "rbf", "gamma": None, "degree": 3, "coef0": 1.0}
_MLP = {"hidden_layer_sizes": (10,), "activation": "tanh", "random_state": 0, "tol": None, "max_iter": None}


def _default_options(rec: Learner) -> dict:
    """The options :func:`train` accepts for ``rec``, with their defaults (by family; see :func:`train`)."""
    if rec.family == "mlp":
        return dict(_MLP)
    o = {**(_KERNEL if rec.family == "kernel" else {}), "fit_intercept": rec.fit_intercept, "tol": None}
    if rec.name not in ("ridge", "kernel_ridge"):  # closed forms: nothing to iterate
        o["max_iter"] = None
    if rec.family == "linear" and rec.loss != "hinge" and rec.penalty != "elastic_net" and not rec.regression:
        o["intercept_scaling"] = None  # liblinear's penalised intercept
    return o


#: algorithm → the options :func:`train` accepts, with their defaults
DEFAULT_OPTIONS: dict[str, dict] = {name: _default_options(rec) for name, rec in LEARNERS.items() if rec.trainer}

_DEFAULT_TOL = {"svm_hinge": 1e-10, "kernel_svm_hinge": 1e-10}


@dataclass
class _Setup:
    """Validated inputs of one call."""

    name: str
    X: np.ndarray
    y: np.ndarray
    lam: float | tuple[float, float]
    o: dict
    classes: np.ndarray | None = None
    K: np.ndarray | None = None


def _setup(algorithm, X, y, lam, options, where) -> _Setup:
    name = canonical_name(algorithm)
    if not LEARNERS[name].trainer:
        raise InputError(
            f"There is no reference trainer for {name} yet: fit it with scikit-learn (for logistic_elastic_net, "
            "LogisticRegression(l1_ratio=r, solver='saga', tol=1e-12)) and steal from that estimator. Trainers "
            f"exist for: {', '.join(DEFAULT_OPTIONS)}."
        )
    defaults = DEFAULT_OPTIONS[name]
    check_options(options, defaults, where=f"{where}({name!r})")
    o = {**defaults, **options}
    lam = _check_lambda(name, lam)

    rec = LEARNERS[name]
    regression, multi_output = rec.regression, rec.multi_output
    X, y = check_X_y(X, y, y_ndim=(1, 2) if multi_output else (1,))
    classes = None
    if regression:
        y = check_array(y, "y", ndim=(1, 2))
    else:
        y, classes = _encode(name, y)

    if "fit_intercept" in o and not isinstance(o["fit_intercept"], (bool, np.bool_)):
        raise TypeError(f"fit_intercept must be True or False, got {o['fit_intercept']!r}.")
    if o.get("intercept_scaling") is not None:
        o["intercept_scaling"] = check_positive(o["intercept_scaling"], "intercept_scaling")
        if not o["fit_intercept"]:
            raise InputError(
                "intercept_scaling (a penalised intercept on a constant feature, liblinear style) needs "
                "fit_intercept=True; drop one of the two."
            )
    if rec.hinge and not o["fit_intercept"]:
        raise InputError(
            f"{name} is fitted with an unpenalised intercept (as libsvm does); "
            "fit_intercept=False is not supported."
        )
    tol = o.get("tol")
    o["tol"] = _DEFAULT_TOL.get(name, 1e-12) if tol is None else check_positive(tol, "tol")
    max_iter = o.get("max_iter")
    if max_iter is None:
        o["max_iter"] = None
    elif isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise InputError(f"max_iter must be an integer >= 1, got {max_iter!r}.")

    K = None
    if "kernel" in o:
        K = Kernel(o["kernel"], gamma=o["gamma"], degree=o["degree"], coef0=o["coef0"])(X)
        if K.shape[0] != K.shape[1]:
            raise InputError(
                f"With kernel='precomputed', X must be the square Gram matrix of the training points; "
                f"got shape {K.shape}."
            )
    if rec.family == "mlp":
        o["hidden_layer_sizes"] = _check_layers(o["hidden_layer_sizes"])
        if o["activation"] not in ACTIVATIONS:
            raise InputError(
                f"Unknown activation {o['activation']!r}.{suggest(str(o['activation']), ACTIVATIONS)} "
                f"Valid activations: {', '.join(ACTIVATIONS)}."
            )
    return _Setup(name=name, X=X, y=y, lam=lam, o=o, classes=classes, K=K)


def _check_lambda(name, lam):
    if LEARNERS[name].n_lambdas == 2:
        if isinstance(lam, Mapping) or np.ndim(lam) != 1 or len(lam) != 2:
            raise InputError(
                f"elastic_net takes lam = (λ1, λ2) for λ1‖w‖₁ + λ2‖w‖², got {lam!r}; pass a pair."
            )
        l1 = check_positive(lam[0], "lam[0] (λ1, the L1 weight)", strict=False)
        l2 = check_positive(lam[1], "lam[1] (λ2, the L2 weight)", strict=False)
        if l1 == 0 and l2 == 0:
            raise InputError("elastic_net needs λ1 > 0 or λ2 > 0, got both 0.")
        return (l1, l2)
    if isinstance(lam, (Sequence, np.ndarray)) and not isinstance(lam, str):
        if np.size(lam) != 1:
            raise InputError(f"{name} has a single λ, got {np.size(lam)} values ({lam!r}).")
        lam = np.asarray(lam).ravel()[0]
    return check_positive(lam, "lam")


def _check_layers(sizes) -> tuple[int, ...]:
    if isinstance(sizes, (int, np.integer)) and not isinstance(sizes, bool):
        sizes = (sizes,)
    try:
        sizes = tuple(sizes)
    except TypeError:
        raise TypeError(f"hidden_layer_sizes must be an int or a tuple of ints, got {sizes!r}.") from None
    if not sizes or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1 for s in sizes):
        raise InputError(f"hidden_layer_sizes must be one or more integers >= 1, got {sizes!r}.")
    return tuple(int(s) for s in sizes)


def _encode(name, y):
    """Labels → {0, 1} (cross-entropy), {−1, +1} (hinge) or one-hot (multi-class)."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise InputError(f"{name} needs one class label per row (1-D y), got shape {y.shape}.")
    classes = np.unique(y)
    rec = LEARNERS[name]
    if len(classes) > 2 and rec.multiclass:
        return (y[:, None] == classes[None, :]).astype(float), classes
    hinge = rec.loss in ("hinge", "squared_hinge")
    return check_binary_labels(y, encoding=(-1.0, 1.0) if hinge else (0.0, 1.0), algorithm=name)


def _with_column(X, fit_intercept, scaling):
    """Design matrix Z and the mask of penalised columns."""
    d = X.shape[1]
    if not fit_intercept:
        return X, np.ones(d, dtype=bool)
    col = np.full((X.shape[0], 1), 1.0 if scaling is None else scaling)
    return np.hstack([X, col]), np.append(np.ones(d, dtype=bool), scaling is not None)


def _linear_out(theta, d, fit_intercept, scaling):
    coef = np.array(theta[:d], dtype=float)
    if not fit_intercept:
        return {"coef": coef, "intercept": 0.0}
    c = float(theta[d]) * (1.0 if scaling is None else scaling)
    return {"coef": coef, "intercept": c}


def _iters(o, default):
    return default if o["max_iter"] is None else int(o["max_iter"])
