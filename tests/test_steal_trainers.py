"""Stolen λ for learners scikit-learn does not fit exactly, against hypersteal's reference trainers.

The trainers (``hypersteal.learners``) solve with their own Newton / proximal code and check
optimality with their own gradients; the attack's gradient code is separate. Where scikit-learn
has the learner, ``test_steal_sklearn.py`` ties λ to scikit-learn instead.
"""

import numpy as np
import pytest

import hypersteal
from conftest import LAMBDAS
from hypersteal.learners import train

KERNEL_OPTS = {"kernel": "rbf", "gamma": 0.3}


def check(result, lam, rtol):
    if result.identifiable:
        assert result.lam == pytest.approx(lam, rel=rtol), result.summary()
    else:
        lo, hi = result.interval
        assert lo <= lam * (1 + 1e-9) and hi >= lam * (1 - 1e-9), result.summary()


@pytest.mark.parametrize("lam", LAMBDAS)
@pytest.mark.parametrize("algorithm,opts", [
    ("kernel_logistic_l2", KERNEL_OPTS),
    ("kernel_logistic_l1", KERNEL_OPTS),
    ("kernel_svm_squared_hinge", KERNEL_OPTS),
    ("kernel_svm_squared_hinge", {"kernel": "poly", "degree": 2, "gamma": 0.2}),
    ("logistic_l1", {}),
    ("svm_squared_hinge", {}),
])
@pytest.mark.parametrize("dataset", ["clf-synthetic", "clf-iris"])
def test_classifiers_without_exact_sklearn(datasets, dataset, algorithm, opts, lam):
    X, y = datasets[dataset]
    params = train(algorithm, X, y, lam, **opts)
    result = hypersteal.steal(algorithm, X, y, params, **opts)
    check(result, lam, 1e-6)
    if algorithm.endswith("l1") and not result.identifiable:
        theta = params.get("coef", params.get("dual_coef"))
        assert np.all(np.asarray(theta) == 0)  # only an all-zero L1 model leaves λ open


@pytest.mark.parametrize("lam", LAMBDAS)
@pytest.mark.parametrize("activation", ["tanh", "logistic", "identity"])
def test_mlp_regression(datasets, activation, lam):
    X, y = datasets["reg-synthetic"]
    opts = {"hidden_layer_sizes": (6,), "activation": activation}
    params = train("mlp_regression", X, y, lam, **opts, random_state=0)
    result = hypersteal.steal("mlp_regression", X, y, params, activation=activation)
    check(result, lam, 1e-3)


@pytest.mark.parametrize("lam", LAMBDAS)
@pytest.mark.parametrize("dataset,hidden", [("clf-iris", (4,)), ("clf-synthetic", (5, 3))])
def test_mlp_classification(datasets, dataset, hidden, lam):
    X, y = datasets[dataset]
    params = train("mlp_classification", X, y, lam, hidden_layer_sizes=hidden, activation="tanh", random_state=0)
    result = hypersteal.steal("mlp_classification", X, y, params, activation="tanh")
    check(result, lam, 1e-3)


def test_mlp_multiclass_softmax():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    params = train("mlp_classification", X, y, 0.5, hidden_layer_sizes=(4,), activation="tanh", random_state=0)
    assert params["coefs"][-1].shape == (4, 3)
    assert hypersteal.steal("NN-C", X, y, params, activation="tanh").lam == pytest.approx(0.5, rel=1e-3)


@pytest.mark.parametrize("algorithm", ["svm_hinge", "kernel_svm_hinge"])
@pytest.mark.parametrize("lam", [1e-3, 1e-2, 1e-1])
def test_hinge_on_separable_iris_is_never_a_confident_zero(algorithm, lam):
    """Two-class Iris is separable: below a threshold every λ gives the same hard-margin model.

    Margin points left exactly at |y f − 1| = 0 beside others at 1e-16 once made the attack keep one
    of them and report λ̂ = 0 as "identifiable"; the honest answer is an interval that holds λ.
    """
    from hypersteal import datasets

    ds = datasets.load("iris")
    params = train(algorithm, ds.X, ds.y, lam)
    r = hypersteal.steal(algorithm, ds.X, ds.y, params)
    lo, hi = r.intervals["lambda"]
    assert lo <= lam <= hi
    if r.identifiable:
        assert r.lam == pytest.approx(lam, rel=1e-6)
    else:
        assert np.isnan(r.lam) and hi > lo


# --------------------------------------------------------------------------- parameters that are not a minimum


def _iris2():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    return X[y < 2], y[y < 2]


def test_rounded_single_weight_is_not_an_exact_answer():
    # an L1 model left with one non-zero weight gives one equation in one unknown, solvable exactly
    # whatever the rounding did; the unpenalised intercept's equation ∂loss/∂c = 0 exposes it
    X, y = _iris2()
    p = train("logistic_l1", X, y, 10.0)
    rounded = {k: np.round(v, 1) for k, v in p.items()}
    assert np.count_nonzero(rounded["coef"]) == 1
    exact = hypersteal.steal("logistic_l1", X, y, p)
    assert exact.residual < 1e-12 and exact.warnings == []
    r = hypersteal.steal("logistic_l1", X, y, rounded)
    assert r.residual > 1e-3
    assert any("not an exact minimum" in w for w in r.warnings)
    assert r.n_equations == exact.n_equations == 2  # the weight's equation and the intercept's


def test_estimate_outside_its_own_interval_is_not_identifiable():
    # rounded LASSO weights: the least-squares λ̂ from the non-zero weights falls below the bound
    # |∂loss/∂w_j| ≤ λ of a weight rounded to zero; the conditions contradict each other
    X, y = _iris2()
    X, t = X[:, 1:], X[:, 0]
    p = train("lasso", X, t, 1.0)
    r = hypersteal.steal("lasso", X, t, {k: np.round(v, 3) for k, v in p.items()})
    lo, hi = r.intervals["lambda"]
    assert lo > hi  # the zero weight needs λ ≥ lo, the non-zero ones λ ≤ hi: no λ does both
    assert not lo <= r.estimate["lambda"] <= hi
    assert not r.identifiable and np.isnan(r.lambdas["lambda"])
    assert any("no lambda satisfies every condition" in w for w in r.warnings)
    assert "Not a minimum" in r.summary()


def test_an_equation_without_lambda_does_not_widen_the_interval():
    # b + Aλ = 0 with a second row that holds no λ (an intercept's equation) off by 0.5: λ = 1 exactly
    # from the first row; the second row is residual, not uncertainty about λ
    from hypersteal.attack import solve_system
    from hypersteal.objectives import System

    sol = solve_system(System(b=np.array([-2.0, 0.5]), A=np.array([[2.0], [0.0]])))
    assert sol.lam[0] == 1.0 and sol.residual > 0.2
    lo, hi = sol.intervals[0]
    assert lo <= 1.0 <= hi and hi - lo < 1e-12


def test_rounded_kernel_model_shows_its_intercept_residual():
    # L1 kernel logistic regression with a single non-zero α: as for the linear model above
    X, y = _iris2()
    p = train("kernel_logistic_l1", X, y, 3.0)
    rounded = {k: np.round(v, 1) for k, v in p.items()}
    assert np.count_nonzero(rounded["dual_coef"]) == 1
    assert hypersteal.steal("kernel_logistic_l1", X, y, p).residual < 1e-10
    r = hypersteal.steal("kernel_logistic_l1", X, y, rounded)
    assert r.residual > 1e-3 and r.n_equations == 2


def test_all_zero_lasso_is_stationary_not_a_residual_of_one():
    # every weight at zero leaves only the intercept's equation, which holds no λ: the model is an
    # exact minimum (residual at round-off against the loss gradient), λ only bounded below
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    p = train("lasso", X, y, 1e5)
    assert not np.any(p["coef"])
    r = hypersteal.steal("lasso", X, y, p)
    assert r.residual < 1e-12
    assert not r.identifiable and r.intervals["lambda"][1] == np.inf and r.intervals["lambda"][0] <= 1e5
    assert any("no parameter gives an equation" in w for w in r.warnings)
    assert not any("not an exact minimum" in w for w in r.warnings)
