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

from dataclasses import dataclass

from ._validation import InputError, suggest

__all__ = ["Learner", "LEARNERS", "ALGORITHMS", "ALIASES", "canonical_name", "learner", "learners"]


@dataclass(frozen=True)
class Learner:
    """What one learner is; see the module docstring."""

    name: str  #: canonical name, e.g. ``"svm_hinge"``
    paper: str  #: the paper's abbreviation, e.g. ``"SVM-RHL"``
    objective: str  #: the class in :mod:`hypersteal.objectives` that holds its math
    task: str  #: ``"regression"`` or ``"classification"``
    family: str  #: ``"linear"``, ``"kernel"`` or ``"mlp"``
    loss: str  #: ``"squared"``, ``"logistic"``, ``"squared_hinge"`` or ``"hinge"``
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
        """A non-smooth loss: margin points carry unknown subgradients."""
        return self.loss == "hinge"

    @property
    def fit_intercept(self) -> bool:
        """The default: an unpenalised intercept, except kernel ridge (scikit-learn's KernelRidge has none)."""
        return self.name != "kernel_ridge"


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
