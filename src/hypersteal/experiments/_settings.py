"""The grids of ``reproduce``: ``quick`` (minutes), ``full`` (the paper's grid) and a hidden ``tiny``.

Every number that decides what is computed lives here, so that ``results.json`` can record the
settings a run used and the cache can key each cell on them. ``reproduce(settings=...)`` overrides
any entry (a shallow update per top-level key; nested dicts are merged one level deep).
"""

from __future__ import annotations

import copy

from ..registry import LEARNERS, learners

__all__ = ["MODES", "REGRESSION", "CLASSIFICATION", "KERNEL", "NEURAL", "get_settings"]

#: The paper's learners of each task, in its order (from the registry).
REGRESSION = [*learners(task="regression", family="linear", in_paper=True),
              *learners(task="regression", family="kernel", in_paper=True)]
CLASSIFICATION = [n for n in learners(task="classification", in_paper=True) if LEARNERS[n].family != "mlp"]
KERNEL = learners(family="kernel", in_paper=True)
NEURAL = learners(family="mlp", in_paper=True)

DECADES = [1e-3, 1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3]

_COMMON = {
    "random_state": 0,
    # kernel learners: RBF with gamma = 1/d (scikit-learn's default), passed explicitly to both sides
    "kernel": "rbf",
    # networks: one hidden layer of 10 tanh units (the trainer's default; the attack is told the same)
    "mlp": {"hidden_layer_sizes": [10], "activation": "tanh"},
}

_QUICK = {
    **_COMMON,
    # seconds after which a cell is abandoned (reported as "timeout", retried on the next run)
    "cell_timeout": 60,
    "accuracy": {
        "regression_datasets": ["diabetes", "geoorig", "ujiindoorloc"],
        "classification_datasets": ["iris", "madelon", "bank"],
        # rows used per dataset (None = all); kernel learners use min(rows, kernel_rows)
        "rows": {"geoorig": 300, "ujiindoorloc": 300, "madelon": 300, "bank": 300},
        "kernel_rows": 300,
        # λ grid per dataset; datasets not named use "default"
        "lambdas": {"default": DECADES},
        "neural_datasets": ["diabetes", "iris"],
        "neural_rows": None,
        "neural_lambdas": DECADES,
    },
    "theorem2": {"dataset": "diabetes", "lam": 1.0, "n_steps": 30, "dw_min": 1e-4, "dw_max": 1.0,
                 "extended_max": 1e4, "parameter": "max_gradient"},
    "black_box": {
        "regression_dataset": "diabetes",
        "classification_dataset": "iris",
        "regression": ["ridge", "lasso", "elastic_net", "kernel_ridge"],
        "classification": ["logistic_l2", "logistic_l1", "svm_squared_hinge", "svm_hinge"],
        "lambdas": DECADES,
        # kernel extraction sends n + 1 queries and solves an n-unknown system; rows per kernel model
        "kernel_rows": 150,
    },
    "defence": {
        "regression_dataset": "diabetes",
        "classification_dataset": "bank",
        "rows": {"bank": 600},
        "kernel_rows": 600,
        "test_fraction": 0.5,
        "decimals": [1, 2, 3, 4, 5],
        "lambdas": [1.0],
        "algorithms": REGRESSION + CLASSIFICATION,
    },
    # beyond λ (hypersteal.steal_jointly, hypersteal.identify): scikit-learn fits at their default tolerance
    "unknowns": {
        "class_weight_datasets": ["iris", "madelon", "bank"],
        "class_weight_estimators": ["LogisticRegression", "LinearSVC"],
        "class_weights": [{"0": 1.0, "1": 3.0}, "balanced"],
        "rows": 300,
        # (dataset, estimator, kernel, unknown): γ of an rbf KernelRidge, the degree (with γ) of a polynomial one,
        # γ of an SVC (about 10 s together, the section's budget in quick mode)
        "kernel_cells": [["diabetes", "KernelRidge", "rbf", "gamma"],
                         ["diabetes", "KernelRidge", "poly", "degree,gamma"], ["iris", "SVC", "rbf", "gamma"]],
        "kernel_rows": 150,
        # (dataset, estimator): ε of an SVR's tube, Huber's ε (each well under a second)
        "shape_cells": [["diabetes", "SVR"], ["diabetes", "HuberRegressor"], ["geoorig", "HuberRegressor"]],
    },
    # Figs. 8-10 on the embedded platform (hypersteal.mlaas.study); the platform's own grid and folds
    # are its secret (7 values 1e-3..1e3, 5 folds)
    "mlaas": {
        "study_mode": "quick",
        "subsample": None,  # rows of UJIIndoorLoc / Bank (None = all)
        "fig8_fractions": [0.01, 0.02, 0.03, 0.05, 0.1],
        "fig9_max_n": 10**5,
        "fig9_ladder": None,  # None: the study's ladder for the mode
        "amazon_fractions": [0.01, 0.03],
        "amazon_passes": 10,
    },
}

_FULL = copy.deepcopy(_QUICK)
_FULL["cell_timeout"] = 1200
_FULL["accuracy"].update(
    rows={},  # every row of every dataset for linear learners
    kernel_rows=1000,
    lambdas={"default": DECADES},
)
_FULL["black_box"].update(kernel_rows=None)
_FULL["defence"].update(rows={"bank": 4000}, kernel_rows=1000, lambdas=[1e-2, 1.0, 1e2])
_FULL["unknowns"].update(
    class_weight_estimators=["LogisticRegression", "LinearSVC", "SVC"], rows=1000, kernel_rows=400,
    kernel_cells=[*_QUICK["unknowns"]["kernel_cells"],
                  *[[d, "KernelRidge", "rbf", "gamma"] for d in ("geoorig", "ujiindoorloc")],
                  ["madelon", "SVC", "rbf", "gamma"], ["bank", "SVC", "rbf", "gamma"],
                  ["diabetes", "KernelRidge", "laplacian", "gamma"]])
_FULL["mlaas"].update(study_mode="full", fig8_fractions=[q / 100 for q in range(1, 11)], fig9_max_n=10**7,
                      amazon_fractions=[0.01, 0.02, 0.03, 0.05, 0.1])

_TINY = copy.deepcopy(_QUICK)
_TINY["accuracy"].update(
    regression_datasets=["diabetes"],
    classification_datasets=["iris"],
    rows={},
    kernel_rows=60,
    lambdas={"default": [1e-2, 1.0]},
    neural_datasets=["iris"],
    neural_lambdas=[1.0],
)
_TINY["theorem2"].update(n_steps=8)
_TINY["black_box"].update(regression=["ridge", "kernel_ridge"], classification=["logistic_l2", "svm_hinge"],
                          lambdas=[1.0], kernel_rows=40)
_TINY["defence"].update(classification_dataset="iris", rows={}, kernel_rows=60, decimals=[1, 3],
                        algorithms=["ridge", "lasso", "kernel_ridge", "logistic_l2", "svm_hinge"])
_TINY["unknowns"].update(class_weight_datasets=["iris"], class_weight_estimators=["LogisticRegression"],
                         rows=100, kernel_rows=60, kernel_cells=[["diabetes", "KernelRidge", "rbf", "gamma"]],
                         shape_cells=[["diabetes", "SVR"], ["diabetes", "HuberRegressor"]])
_TINY["mlaas"].update(subsample=2000, fig8_fractions=[0.05], fig9_max_n=10**3, fig9_ladder=[0.3],
                      amazon_fractions=[0.05])

MODES = {"quick": _QUICK, "full": _FULL, "tiny": _TINY}


def get_settings(mode: str, overrides: dict | None = None) -> dict:
    """A deep copy of the grid of ``mode``, with ``overrides`` merged in.

    Parameters
    ----------
    mode : {"quick", "full", "tiny"}
        ``tiny`` is a seconds-long configuration for the test suite.
    overrides : dict, optional
        Top-level keys replace; a dict value for a dict entry (e.g. ``{"accuracy": {"lambdas": ...}}``)
        updates that entry.

    Returns
    -------
    dict
    """
    if mode not in MODES:
        raise ValueError(f"mode must be 'quick' or 'full', got {mode!r}.")
    settings = copy.deepcopy(MODES[mode])
    for key, value in (overrides or {}).items():
        if isinstance(value, dict) and isinstance(settings.get(key), dict):
            settings[key].update(copy.deepcopy(value))
        else:
            settings[key] = copy.deepcopy(value)
    settings["mode"] = mode
    return settings
