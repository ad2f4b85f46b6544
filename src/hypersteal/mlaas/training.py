"""The platform's learners: what each one minimises, how it is trained, and how Protocol I tunes λ.

The catalogue (:data:`LEARNERS`) is public — like a real platform's documentation it says which
objective each learner minimises, whether the intercept is penalised and how the hyperparameter maps
to the library's own.  The tuning recipe (λ grid, folds, seed) is the platform's secret and lives in
:class:`~hypersteal.mlaas.settings.Settings`.

Every λ here is in the paper's units (docs/conventions.md: sum losses, penalties without ½).  Training uses
scikit-learn, imported only when a job runs.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np

from .._validation import InputError, suggest
from ..registry import LEARNERS as REGISTRY
from ..registry import canonical_name, native

__all__ = ["Learner", "LEARNERS", "canonical", "make_estimator", "fit", "tune", "model_params", "score", "learner",
           "NotOffered", "not_offered"]


@dataclass(frozen=True)
class Learner:
    """Public description of one platform learner."""

    name: str
    objective: str  #: the hypersteal algorithm whose objective this learner minimises
    task: str  #: "regression" or "classification" (binary)
    estimator: str  #: how the platform trains it
    native: str  #: how λ maps to the library's hyperparameter
    penalised_intercept: bool
    intercept_scaling: float | None  #: liblinear's constant feature (when the intercept is penalised)
    output: str  #: what ``scores`` of a prediction are: value, probability (of classes[1]) or score
    cost: str  #: what a training's compute grows with
    sgd: bool = False

    def steal_options(self) -> dict:
        """Model options for :func:`hypersteal.steal` on this learner's parameters."""
        return {"intercept_scaling": self.intercept_scaling} if self.penalised_intercept else {}

    def to_dict(self) -> dict:
        return asdict(self)


_EXACT = "rows × features² + features³ per fit (Cholesky); Protocol I fits folds × grid + 1 times"
_ITER = "rows × features × solver iterations per fit; Protocol I fits folds × grid + 1 times"
_SGD = "rows × passes × features per fit, whatever λ (Amazon ML style); Protocol I fits folds × grid + 1 times"

def _learner(name: str, objective: str, estimator: str, native: str, scaling: float | None, cost: str,
             sgd: bool = False) -> Learner:
    """A catalogue entry; its task and prediction output are the registry's for ``objective``."""
    rec = REGISTRY[objective]
    return Learner(name, objective, rec.task, estimator, native, scaling is not None, scaling, rec.output, cost,
                   sgd)


LEARNERS: dict[str, Learner] = {x.name: x for x in (
    _learner("ridge", "ridge", "sklearn Ridge (Cholesky)", "alpha = λ", None, _EXACT),
    _learner("lasso", "lasso", "sklearn Lasso (coordinate descent, tol 1e-6)", "alpha = λ / (2n)", None, _ITER),
    _learner("logistic_l2", "logistic_l2", "sklearn LogisticRegression (lbfgs, tol 1e-6)", "C = 1 / (2λ)", None,
             _ITER),
    _learner("logistic_l1", "logistic_l1",
             "sklearn LogisticRegression (liblinear, l1_ratio = 1, intercept_scaling = 1)", "C = 1 / λ", 1.0,
             _ITER),
    _learner("svm_squared_hinge", "svm_squared_hinge",
             "sklearn LinearSVC (liblinear, squared hinge, intercept_scaling = 1)", "C = 1 / (2λ)", 1.0, _ITER),
    _learner("svm_hinge", "svm_hinge", "sklearn LinearSVC (liblinear dual, hinge, intercept_scaling = 1)",
             "C = 1 / (2λ)", 1.0, _ITER),
    _learner("sgd_ridge", "ridge", "sklearn SGDRegressor (squared loss, L2, `passes` epochs, no early stop)",
             "alpha = λ / n", None, _SGD, True),
    _learner("sgd_logistic_l2", "logistic_l2",
             "sklearn SGDClassifier (log loss, L2, `passes` epochs, no early stop)", "alpha = 2λ / n", None, _SGD,
             True),
    _learner("sgd_logistic_l1", "logistic_l1",
             "sklearn SGDClassifier (log loss, L1, `passes` epochs, no early stop)", "alpha = λ / n", None, _SGD,
             True),
)}

#: spellings of the platform's own (``linear_svm``); the paper's and hypersteal's names resolve by the registry
_ALIASES = {"linear_svm": "svm_squared_hinge"}


def canonical(name: str) -> str:
    """A learner's name from any accepted spelling (case-insensitive; the paper's short names)."""
    key = str(name).strip().lower()
    key = _ALIASES.get(key, key).replace("-", "_")
    if key in LEARNERS:
        return key
    try:
        return canonical_name(key)
    except InputError:
        return key


class NotOffered(KeyError, ValueError):
    """A learner the platform does not train; ``str()`` is the one-line message of :func:`not_offered`."""

    def __str__(self) -> str:
        return str(self.args[0])


def not_offered(name: str, offered=None) -> str:
    """Why the platform refuses ``name``, and what it trains instead (``offered``: its catalogue's names)."""
    offered = list(LEARNERS if offered is None else offered)
    key = canonical(name)
    rec = REGISTRY.get(key)
    if rec is None:
        return f"Unknown algorithm {name!r}.{suggest(str(name), offered)} This platform trains {', '.join(offered)}."
    if rec.family != "linear":
        why = "kernel learners" if rec.family == "kernel" else "neural networks"
    else:
        why = "learners with two λs (elastic net)" if rec.n_lambdas == 2 else "this learner"
    return (f"{rec.name} ({rec.paper}) is a hypersteal learner, but this platform does not train it ({why}: it "
            f"trains linear models with one λ, binary classifiers). It trains {', '.join(offered)}.")


def learner(name: str) -> Learner:
    """Look a learner up by name (any spelling :func:`canonical` accepts); :class:`NotOffered` otherwise."""
    key = canonical(name)
    if key not in LEARNERS:
        raise NotOffered(not_offered(name))
    return LEARNERS[key]


def make_estimator(name: str, lam: float, n: int, *, passes: int = 10, seed: int = 0):
    """A scikit-learn estimator minimising the paper's objective at λ on n rows (its λ named as
    :data:`hypersteal.registry.NATIVE` says)."""
    from sklearn import linear_model, svm

    sgd = {"penalty": "l2", "max_iter": passes, "tol": None, "random_state": seed}
    liblinear = {"tol": 1e-4, "max_iter": 20_000, "intercept_scaling": 1.0}
    table = {  # name → (estimator, learner, its other settings)
        "ridge": ("Ridge", "ridge", {"solver": "cholesky"}),
        "lasso": ("Lasso", "lasso", {"tol": 1e-6, "max_iter": 100_000}),
        "logistic_l2": ("LogisticRegression", "logistic_l2", {"solver": "lbfgs", "tol": 1e-6, "max_iter": 10_000}),
        "logistic_l1": ("LogisticRegression", "logistic_l1", {"l1_ratio": 1.0, "solver": "liblinear", "tol": 1e-6,
                                                              "max_iter": 10_000, "intercept_scaling": 1.0}),
        "svm_squared_hinge": ("LinearSVC", "svm_squared_hinge", {"loss": "squared_hinge", "dual": "auto", **liblinear}),
        "svm_hinge": ("LinearSVC", "svm_hinge", {"loss": "hinge", "dual": True, **liblinear}),
        "sgd_ridge": ("SGDRegressor", "ridge", sgd),
        "sgd_logistic_l2": ("SGDClassifier", "logistic_l2", {"loss": "log_loss", **sgd}),
        "sgd_logistic_l1": ("SGDClassifier", "logistic_l1", {"loss": "log_loss", **sgd, "penalty": "l1"}),
    }
    if name not in table:
        raise KeyError(name)
    estimator, learner, settings = table[name]
    cls = getattr(linear_model, estimator, None) or getattr(svm, estimator)
    return cls(**native(estimator, learner).at(float(lam), n), **settings)


def fit(name: str, X: np.ndarray, y: np.ndarray, lam: float, *, passes: int = 10, seed: int = 0):
    """Train one model; returns the fitted estimator and the number of convergence warnings."""
    from sklearn.exceptions import ConvergenceWarning

    est = make_estimator(name, lam, X.shape[0], passes=passes, seed=seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        est.fit(X, y)
    n_warn = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    return est, n_warn


def score(est, X: np.ndarray, y: np.ndarray, task: str) -> float:
    """MSE (regression) or accuracy (classification)."""
    pred = est.predict(X)
    if task == "regression":
        return float(np.mean((np.asarray(pred, dtype=float) - y) ** 2))
    return float(np.mean(pred == y))


def tune(name: str, X: np.ndarray, y: np.ndarray, grid, folds: int, *, seed: int, passes: int = 10):
    """Protocol I: k-fold cross-validation over the grid. Returns (best λ, table, convergence warnings).

    Regression keeps the λ of least mean validation MSE, classification the largest mean accuracy;
    ties go to the larger λ (the simpler model)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    task = LEARNERS[name].task
    splitter = (StratifiedKFold if task == "classification" else KFold)(n_splits=folds, shuffle=True,
                                                                          random_state=seed)
    grid = [float(g) for g in grid]
    table = {g: [] for g in grid}
    n_warn = 0
    for train, valid in splitter.split(X, y):
        for lam in grid:
            est, w = fit(name, X[train], y[train], lam, passes=passes, seed=seed)
            n_warn += w
            table[lam].append(score(est, X[valid], y[valid], task))
    means = {g: float(np.mean(v)) for g, v in table.items()}
    sign = 1.0 if task == "regression" else -1.0  # minimise sign · score
    best = min(grid, key=lambda g: (sign * means[g], -g))
    return best, [{"lam": g, "score": means[g], "folds": table[g]} for g in grid], n_warn


def model_params(est, task: str) -> dict:
    """The fitted parameters in hypersteal's format (binary models: coef (d,), intercept float)."""
    coef = np.asarray(est.coef_, dtype=float)
    if coef.ndim == 2 and coef.shape[0] == 1:
        coef = coef[0]
    intercept = np.asarray(est.intercept_, dtype=float).reshape(-1)
    params = {"coef": coef, "intercept": np.asarray(float(intercept[0]) if intercept.size == 1 else intercept)}
    if task == "classification":
        params["classes"] = np.asarray(est.classes_)
    return params
