"""The names of the learners hypersteal knows: ours, and the paper's (case-insensitive)."""

from __future__ import annotations

from ._validation import InputError, suggest

__all__ = ["ALGORITHMS", "ALIASES", "canonical_name"]

#: Canonical names, in the order of docs/conventions.md, with the paper's abbreviation.
ALGORITHMS: dict[str, str] = {
    "ridge": "RR",
    "lasso": "LASSO",
    "elastic_net": "ENet",
    "kernel_ridge": "KRR",
    "logistic_l2": "L2-LR",
    "logistic_l1": "L1-LR",
    "kernel_logistic_l2": "L2-KLR",
    "kernel_logistic_l1": "L1-KLR",
    "svm_squared_hinge": "SVM-SHL",
    "svm_hinge": "SVM-RHL",
    "kernel_svm_squared_hinge": "KSVM-SHL",
    "kernel_svm_hinge": "KSVM-RHL",
    "mlp_regression": "NN-R",
    "mlp_classification": "NN-C",
    "logistic_elastic_net": "ENet-LR",
}

#: Every accepted spelling (lower-case) → canonical name.
ALIASES: dict[str, str] = {}
for _name, _paper in ALGORITHMS.items():
    ALIASES[_name] = _name
    ALIASES[_paper.lower()] = _name
ALIASES.update(
    {
        "rr": "ridge",
        "ridge_regression": "ridge",
        "elasticnet": "elastic_net",
        "enet": "elastic_net",
        "krr": "kernel_ridge",
        "kernelridge": "kernel_ridge",
        "l2_lr": "logistic_l2",
        "l1_lr": "logistic_l1",
        "lr": "logistic_l2",
        "logistic": "logistic_l2",
        "l2_klr": "kernel_logistic_l2",
        "l1_klr": "kernel_logistic_l1",
        "klr": "kernel_logistic_l2",
        "svm_shl": "svm_squared_hinge",
        "svm_rhl": "svm_hinge",
        "svm": "svm_hinge",
        "ksvm_shl": "kernel_svm_squared_hinge",
        "ksvm_rhl": "kernel_svm_hinge",
        "ksvm": "kernel_svm_hinge",
        "nn": "mlp_regression",
        "nn_regression": "mlp_regression",
        "nn_classification": "mlp_classification",
        "mlp": "mlp_regression",
        "elastic_net_logistic": "logistic_elastic_net",
    }
)


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
