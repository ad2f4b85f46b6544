"""Every learner hypersteal knows, defined once.

One :class:`Learner` record per learner says what it is: its names (ours, the paper's, other accepted
spellings), its task, its model family, loss and penalty, what a prediction API returns for it, the
objective class that holds its math, whether :func:`hypersteal.learners.train` fits it and whether the
paper's experiments include it. Every other table — the objectives, the trainers' options, the extraction
families, the experiments' learner lists, the platform's catalogue, the command line's list — is a lookup
here, so adding a learner is one record plus one objective class (docs/guide.md).

This module imports nothing heavy: the command line lists learners without loading numpy's dependants.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ._validation import InputError, suggest

__all__ = ["Learner", "LEARNERS", "ALGORITHMS", "ALIASES", "Native", "NATIVE", "canonical_name", "learner", "learners",
           "native"]


@dataclass(frozen=True)
class Learner:
    """What one learner is; see the module docstring."""

    name: str  #: canonical name, e.g. ``"svm_hinge"``
    paper: str  #: the paper's abbreviation, e.g. ``"SVM-RHL"``
    objective: str  #: the class in :mod:`hypersteal.objectives` that holds its math
    task: str  #: ``"regression"`` or ``"classification"``
    family: str  #: ``"linear"``, ``"kernel"`` or ``"mlp"``
    loss: str  #: ``"squared"``, ``"logistic"``, ``"squared_hinge"``, ``"hinge"``, ``"epsilon_insensitive"`` …
    penalty: str  #: ``"l2"``, ``"l1"`` or ``"elastic_net"`` (kernel L2 is the RKHS norm αᵀKα; kernel L1 is ‖α‖₁)
    output: str  #: what a prediction API returns: ``"value"``, ``"probability"`` or ``"score"``
    aliases: tuple[str, ...] = ()  #: other accepted spellings (lower-case)
    multi_output: bool = False  #: regression on several target columns
    multiclass: bool = False  #: ≥ 3 classes in one model (softmax), not only one-vs-rest stacks
    trainer: bool = True  #: :func:`hypersteal.learners.train` fits it
    in_paper: bool = True  #: among the paper's learners (its experiments, Figs. 3–7)

    @property
    def regression(self) -> bool:
        return self.task == "regression"

    @property
    def sparse(self) -> bool:
        """An L1 term: zero weights, and an interval rather than one equation per weight."""
        return self.penalty in ("l1", "elastic_net")

    @property
    def n_lambdas(self) -> int:
        return 2 if self.penalty == "elastic_net" else 1

    @property
    def hinge(self) -> bool:
        """A non-smooth loss (hinge, ε-insensitive): points on its kink carry unknown subgradients."""
        return self.loss in KINKED_LOSSES

    @property
    def fit_intercept(self) -> bool:
        """The default: an unpenalised intercept, except kernel ridge (scikit-learn's KernelRidge has none)."""
        return self.name != "kernel_ridge"

    @property
    def natives(self) -> list[Native]:
        """The scikit-learn estimators that fit this learner, with how each names λ (:data:`NATIVE`)."""
        return [m for m in NATIVE.values() if m.learner == self.name]


#: the losses with a kink whose points carry unknown subgradients (:meth:`hypersteal.objectives.base.Loss.kink`)
KINKED_LOSSES = ("hinge", "epsilon_insensitive")


def _r(name, paper, objective, task, family, loss, penalty, output, *aliases, **flags) -> Learner:
    return Learner(name, paper, objective, task, family, loss, penalty, output, tuple(aliases), **flags)


_REG, _CLF = "regression", "classification"

#: Every learner, in the paper's order (docs/conventions.md).
LEARNERS: dict[str, Learner] = {r.name: r for r in (
    _r("ridge", "RR", "Ridge", _REG, "linear", "squared", "l2", "value", "rr", "ridge_regression",
       multi_output=True),
    _r("lasso", "LASSO", "Lasso", _REG, "linear", "squared", "l1", "value"),
    _r("elastic_net", "ENet", "ElasticNet", _REG, "linear", "squared", "elastic_net", "value",
       "elasticnet", "enet"),
    _r("kernel_ridge", "KRR", "KernelRidge", _REG, "kernel", "squared", "l2", "value", "krr", "kernelridge",
       multi_output=True),
    _r("logistic_l2", "L2-LR", "LogisticL2", _CLF, "linear", "logistic", "l2", "probability",
       "l2_lr", "lr", "logistic", multiclass=True),
    _r("logistic_l1", "L1-LR", "LogisticL1", _CLF, "linear", "logistic", "l1", "probability", "l1_lr"),
    _r("kernel_logistic_l2", "L2-KLR", "KernelLogisticL2", _CLF, "kernel", "logistic", "l2", "probability",
       "l2_klr", "klr"),
    _r("kernel_logistic_l1", "L1-KLR", "KernelLogisticL1", _CLF, "kernel", "logistic", "l1", "probability",
       "l1_klr"),
    _r("svm_squared_hinge", "SVM-SHL", "SVMSquaredHinge", _CLF, "linear", "squared_hinge", "l2", "score",
       "svm_shl"),
    _r("svm_hinge", "SVM-RHL", "SVMHinge", _CLF, "linear", "hinge", "l2", "score", "svm_rhl", "svm"),
    _r("kernel_svm_squared_hinge", "KSVM-SHL", "KernelSVMSquaredHinge", _CLF, "kernel", "squared_hinge", "l2",
       "score", "ksvm_shl"),
    _r("kernel_svm_hinge", "KSVM-RHL", "KernelSVMHinge", _CLF, "kernel", "hinge", "l2", "score",
       "ksvm_rhl", "ksvm"),
    _r("mlp_regression", "NN-R", "MLPRegression", _REG, "mlp", "squared", "l2", "value",
       "nn", "nn_regression", "mlp", multi_output=True),
    _r("mlp_classification", "NN-C", "MLPClassification", _CLF, "mlp", "logistic", "l2", "probability",
       "nn_classification", multiclass=True),
    _r("logistic_elastic_net", "ENet-LR", "LogisticElasticNet", _CLF, "linear", "logistic", "elastic_net",
       "probability", "elastic_net_logistic", trainer=False, in_paper=False),
    _r("svr_epsilon_insensitive", "SVR-EIL", "SVREpsilonInsensitive", _REG, "linear", "epsilon_insensitive", "l2",
       "value", "svr", "linear_svr", trainer=False, in_paper=False),
    _r("svr_squared_epsilon_insensitive", "SVR-SEIL", "SVRSquaredEpsilonInsensitive", _REG, "linear",
       "squared_epsilon_insensitive", "l2", "value", "svr_squared", trainer=False, in_paper=False),
    _r("kernel_svr_epsilon_insensitive", "KSVR-EIL", "KernelSVREpsilonInsensitive", _REG, "kernel",
       "epsilon_insensitive", "l2", "value", "ksvr", "kernel_svr", trainer=False, in_paper=False),
    _r("poisson_regression", "Poisson-R", "PoissonRegression", _REG, "linear", "poisson", "l2", "score", "poisson",
       trainer=False, in_paper=False),
    _r("gamma_regression", "Gamma-R", "GammaRegression", _REG, "linear", "gamma", "l2", "score", "gamma",
       trainer=False, in_paper=False),
    _r("tweedie_regression", "Tweedie-R", "TweedieRegression", _REG, "linear", "tweedie", "l2", "score", "tweedie",
       trainer=False, in_paper=False),
    _r("huber_regression", "Huber-R", "HuberRegression", _REG, "linear", "huber", "l2", "value", "huber",
       trainer=False, in_paper=False),
)}

#: Canonical name → the paper's abbreviation.
ALGORITHMS: dict[str, str] = {r.name: r.paper for r in LEARNERS.values()}

#: Every accepted spelling (lower-case) → canonical name.
ALIASES: dict[str, str] = {
    spelling: r.name for r in LEARNERS.values() for spelling in (r.name, r.paper.lower(), *r.aliases)
}


def canonical_name(algorithm: str) -> str:
    """Resolve any accepted spelling (``"SVM-RHL"``, ``"svm_hinge"``, ``"l2-lr"``) to the canonical name.

    Raises
    ------
    InputError
        For an unknown name; the message lists the valid names and suggests the closest.
    """
    if not isinstance(algorithm, str):
        raise TypeError(f"algorithm must be a string such as 'ridge', got {type(algorithm).__name__}.")
    key = algorithm.strip().lower()
    for candidate in (key, key.replace("-", "_"), key.replace("_", "-"), key.replace(" ", "_")):
        if candidate in ALIASES:
            return ALIASES[candidate]
    valid = [f"{name} ({paper})" for name, paper in ALGORITHMS.items()]
    spellings = list(ALGORITHMS) + list(ALGORITHMS.values())
    raise InputError(
        f"Unknown algorithm {algorithm!r}.{suggest(algorithm, spellings)} "
        f"Valid algorithms (case-insensitive, ours or the paper's name): {', '.join(valid)}."
    )


def learner(algorithm: str) -> Learner:
    """The record of ``algorithm`` (any accepted spelling)."""
    return LEARNERS[canonical_name(algorithm)]


def learners(**where) -> list[str]:
    """Canonical names, in the paper's order, of the learners whose record matches every ``field=value``
    (e.g. ``learners(task="regression", in_paper=True)``, ``learners(family="kernel")``)."""
    for key in where:
        if not hasattr(Learner, key) and key not in Learner.__dataclass_fields__:
            raise TypeError(f"learners() got an unknown field {key!r}.")
    return [r.name for r in LEARNERS.values() if all(getattr(r, k) == v for k, v in where.items())]


# ------------------------------------------------------------------------------------ native hyperparameters

@dataclass(frozen=True)
class Native:
    """How one scikit-learn estimator names one learner's λ.

    ``to_native(lams, n)`` maps the paper's λs (``{"lambda": …}`` or ``{"lambda_l1": …, "lambda_l2": …}``) to
    the estimator's own parameters, ``from_native(values, n)`` the other way; ``n`` is the number of training
    rows (estimators whose loss is a mean over rows scale λ by it). Both are plain arithmetic, so NumPy
    scalars and arrays pass through. ``formula`` is the mapping as docs/conventions.md writes it.
    """

    estimator: str  #: the scikit-learn class name, e.g. ``"Lasso"``
    learner: str  #: the canonical learner name, e.g. ``"lasso"``
    formula: str  #: λ in the estimator's terms, e.g. ``"λ = 2n·alpha"``
    to_native: Callable[[Mapping, int], dict]
    from_native: Callable[[Mapping, int], dict]

    def at(self, lam, n: int = 1) -> dict:
        """The estimator's parameters at λ (a number, or a dict of the λs) on ``n`` rows."""
        return self.to_native(lam if isinstance(lam, Mapping) else {"lambda": lam}, n)


def _scaled(param: str, scale, formula: str):
    """λ = scale(n)·param (``to_native``: param = λ/scale(n))."""
    return (formula, lambda lam, n: {param: lam["lambda"] / scale(n)},
            lambda v, n: {"lambda": scale(n) * v[param]})


def _inverse(param: str, factor: float, formula: str):
    """λ = 1/(factor·param), for C."""
    return (formula, lambda lam, n: {param: 1 / (factor * lam["lambda"])},
            lambda v, n: {"lambda": 1 / (factor * v[param])})


def _enet_to(lam, n):
    alpha = lam["lambda_l1"] / (2 * n) + lam["lambda_l2"] / n
    try:
        return {"alpha": alpha, "l1_ratio": lam["lambda_l1"] / (2 * n) / alpha}
    except ZeroDivisionError:  # no penalty at all: no ratio
        return {"alpha": alpha, "l1_ratio": float("nan")}


def _enet_from(v, n):
    return {"lambda_l1": 2 * n * v["alpha"] * v["l1_ratio"], "lambda_l2": n * v["alpha"] * (1 - v["l1_ratio"])}


def _logistic_enet_to(lam, n):
    s = lam["lambda_l1"] + 2 * lam["lambda_l2"]
    return {"C": 1 / s, "l1_ratio": lam["lambda_l1"] / s}


def _logistic_enet_from(v, n):
    return {"lambda_l1": v["l1_ratio"] / v["C"], "lambda_l2": (1 - v["l1_ratio"]) / (2 * v["C"])}


_ONE, _N, _2N = (lambda n: 1), (lambda n: n), (lambda n: 2 * n)
_HALF, _HALF_N = (lambda n: 0.5), (lambda n: n / 2)

#: (estimator, learner) → how the estimator names λ. Each is tested against real fits (tests/test_registry.py).
NATIVE: dict[tuple[str, str], Native] = {(m.estimator, m.learner): m for m in (
    Native("Ridge", "ridge", *_scaled("alpha", _ONE, "λ = alpha")),
    Native("RidgeClassifier", "ridge", *_scaled("alpha", _ONE, "λ = alpha")),
    Native("KernelRidge", "kernel_ridge", *_scaled("alpha", _ONE, "λ = alpha")),
    Native("Lasso", "lasso", *_scaled("alpha", _2N, "λ = 2n·alpha")),
    Native("ElasticNet", "elastic_net", "λ₁ = 2n·alpha·r, λ₂ = n·alpha·(1 − r)", _enet_to, _enet_from),
    Native("ElasticNet", "ridge", "λ = n·alpha (l1_ratio = 0)", lambda lam, n: {"alpha": lam["lambda"] / n,
           "l1_ratio": 0.0}, lambda v, n: {"lambda": n * v["alpha"]}),
    Native("ElasticNet", "lasso", "λ = 2n·alpha (l1_ratio = 1)", lambda lam, n: {"alpha": lam["lambda"] / (2 * n),
           "l1_ratio": 1.0}, lambda v, n: {"lambda": 2 * n * v["alpha"]}),
    Native("LogisticRegression", "logistic_l2", *_inverse("C", 2, "λ = 1/(2C)")),
    Native("LogisticRegression", "logistic_l1", *_inverse("C", 1, "λ = 1/C")),
    Native("LogisticRegression", "logistic_elastic_net", "λ₁ = r/C, λ₂ = (1 − r)/(2C)", _logistic_enet_to,
           _logistic_enet_from),
    Native("LinearSVC", "svm_squared_hinge", *_inverse("C", 2, "λ = 1/(2C)")),
    Native("LinearSVC", "svm_hinge", *_inverse("C", 2, "λ = 1/(2C)")),
    Native("SVC", "svm_hinge", *_inverse("C", 2, "λ = 1/(2C)")),
    Native("SVC", "kernel_svm_hinge", *_inverse("C", 2, "λ = 1/(2C)")),
    Native("MLPRegressor", "mlp_regression", *_scaled("alpha", _ONE, "λ = alpha")),
    Native("MLPClassifier", "mlp_classification", *_scaled("alpha", _HALF, "λ = alpha/2")),
    Native("SGDRegressor", "ridge", *_scaled("alpha", _N, "λ = n·alpha")),
    Native("SGDRegressor", "lasso", *_scaled("alpha", _2N, "λ = 2n·alpha")),
    Native("SGDRegressor", "elastic_net", "λ₁ = 2n·alpha·r, λ₂ = n·alpha·(1 − r)", _enet_to, _enet_from),
    Native("SGDClassifier", "logistic_l2", *_scaled("alpha", _HALF_N, "λ = n·alpha/2")),
    Native("SGDClassifier", "svm_hinge", *_scaled("alpha", _HALF_N, "λ = n·alpha/2")),
    Native("SGDClassifier", "svm_squared_hinge", *_scaled("alpha", _HALF_N, "λ = n·alpha/2")),
    Native("SGDClassifier", "logistic_l1", *_scaled("alpha", _N, "λ = n·alpha")),
    Native("SGDClassifier", "logistic_elastic_net", "λ₁ = n·alpha·r, λ₂ = n·alpha·(1 − r)/2",
           lambda lam, n: _enet_to({"lambda_l1": 2 * lam["lambda_l1"], "lambda_l2": 2 * lam["lambda_l2"]}, n),
           lambda v, n: {k: x / 2 for k, x in _enet_from(v, n).items()}),
    Native("LinearSVR", "svr_epsilon_insensitive", *_inverse("C", 2, "λ = 1/(2C)")),
    Native("LinearSVR", "svr_squared_epsilon_insensitive", *_inverse("C", 2, "λ = 1/(2C)")),
    Native("SVR", "kernel_svr_epsilon_insensitive", *_inverse("C", 2, "λ = 1/(2C)")),
    Native("SGDRegressor", "svr_epsilon_insensitive", *_scaled("alpha", _HALF_N, "λ = n·alpha/2")),
    Native("SGDRegressor", "svr_squared_epsilon_insensitive", *_scaled("alpha", _HALF_N, "λ = n·alpha/2")),
    Native("LassoLars", "lasso", *_scaled("alpha", _2N, "λ = 2n·alpha")),
    Native("PoissonRegressor", "poisson_regression", *_scaled("alpha", _HALF_N, "λ = n·alpha/2")),
    Native("GammaRegressor", "gamma_regression", *_scaled("alpha", _HALF_N, "λ = n·alpha/2")),
    Native("TweedieRegressor", "tweedie_regression", *_scaled("alpha", _HALF_N, "λ = n·alpha/2")),
    Native("HuberRegressor", "huber_regression", *_scaled("alpha", _ONE, "λ = alpha")),
)}


def native(estimator: str, algorithm: str) -> Native:
    """How ``estimator`` (a scikit-learn class name) names the λ of ``algorithm`` (any accepted spelling)."""
    name = canonical_name(algorithm)
    if (estimator, name) not in NATIVE:
        fits = sorted(m.estimator for m in NATIVE.values() if m.learner == name)
        raise InputError(f"{estimator} does not fit {name}; scikit-learn estimators that do: "
                         f"{', '.join(fits) or 'none'}.")
    return NATIVE[estimator, name]
