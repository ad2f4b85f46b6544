"""hypersteal.identify and ``hypersteal identify``: which learner trained the parameters.

Ground truth is always the learner that was trained: exact fits of the reference trainers must be
identified; degenerate parameters (all weights zero, an elastic net whose λ₁ is below what the
parameters resolve) must be "cannot tell" with the truth among the tied; default-tolerance scikit-learn
fits must never be identified as another learner.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import hypersteal
from hypersteal import learners
from hypersteal.identification import CLEAR_RATIO, EXIT_CODES, Identification, Verdict, identify


@pytest.fixture(scope="module")
def regression():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 5))
    y = X @ np.array([1.5, -2.0, 0.0, 0.7, 0.2]) + 0.5 + rng.normal(scale=0.5, size=80)
    return X, y


@pytest.fixture(scope="module")
def binary():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(90, 4))
    y = np.where(X @ np.array([1.0, -1.5, 0.5, 0.0]) + rng.normal(scale=0.8, size=90) > 0, "yes", "no")
    return X, y


EXACT = [
    ("ridge", 3.0), ("lasso", 5.0), ("elastic_net", (2.0, 4.0)),
    ("logistic_l2", 0.5), ("logistic_l1", 0.5), ("svm_squared_hinge", 2.0), ("svm_hinge", 2.0),
    ("svm_hinge", 0.05),
]


@pytest.mark.parametrize("name, lam", EXACT, ids=[f"{n}-{lam}" for n, lam in EXACT])
def test_exact_fits_are_identified(name, lam, regression, binary):
    X, y = regression if hypersteal.registry.learner(name).regression else binary
    params = learners.train(name, X, y, lam)
    found = identify(X, y, params)
    assert found.verdict is Verdict.IDENTIFIED, found.summary()
    assert found.best == name and found.tied == [name]
    assert found.exit_code == 0
    best = found.candidate(name)
    for true, (lo, hi) in zip(np.atleast_1d(lam), best.intervals.values()):
        assert lo * (1 - 1e-6) <= true <= hi * (1 + 1e-6)  # a hinge SVM's λ may be a range: it holds the truth
    if best.status.has_value:
        assert list(found.hyperparameters.values()) == pytest.approx(np.atleast_1d(lam), rel=1e-5)
    # every other competing candidate is clearly worse
    others = [c.score for c in found.candidates if c.name != name and not c.excluded]
    assert all(s + 1e-9 > CLEAR_RATIO * (best.score + 1e-9) for s in others)


@pytest.mark.parametrize("name, lam", [("kernel_ridge", 0.7), ("kernel_svm_hinge", 0.3),
                                       ("kernel_logistic_l2", 0.3)])
def test_kernel_fits_are_identified_with_their_kernel(name, lam, regression, binary):
    X, y = regression if hypersteal.registry.learner(name).regression else binary
    params = learners.train(name, X, y, lam, gamma=0.4)
    found = identify(X, y, params, kernel="rbf", gamma=0.4)
    assert (found.verdict, found.best) == (Verdict.IDENTIFIED, name), found.summary()
    assert found.hyperparameters["lambda"] == pytest.approx(lam, rel=1e-5)
    assert found.family == "kernel"
    # with another gamma no kernel learner is a minimum: no confident name
    wrong = identify(X, y, params, kernel="rbf", gamma=4.0)
    assert wrong.verdict is not Verdict.IDENTIFIED or wrong.best == name


def test_network_is_identified(regression):
    X, y = regression
    params = learners.train("mlp_regression", X[:40], y[:40], 1.0, hidden_layer_sizes=(3,))
    found = identify(X[:40], y[:40], params)
    assert (found.verdict, found.best) == (Verdict.IDENTIFIED, "mlp_regression"), found.summary()
    assert "mlp_classification" in found.incompatible


def test_penalised_intercept_is_one_constant_feature_for_every_candidate(binary):
    """liblinear's intercept_scaling: X is augmented once, and the answer is steal()'s own."""
    X, y = binary
    params = learners.train("svm_squared_hinge", X, y, 1.5, intercept_scaling=2.0)
    found = identify(X, y, params, intercept_scaling=2.0)
    assert (found.verdict, found.best) == (Verdict.IDENTIFIED, "svm_squared_hinge"), found.summary()
    direct = hypersteal.steal("svm_squared_hinge", X, y, params, intercept_scaling=2.0)
    assert found.hyperparameters["lambda"] == pytest.approx(direct.lam, rel=1e-12)
    assert found.options == {"intercept_scaling": 2.0}
    # without the option the intercept is taken as unpenalised: not a minimum of any candidate
    assert identify(X, y, params).verdict is not Verdict.IDENTIFIED


def test_all_zero_weights_cannot_tell_the_l1_learners(regression, binary):
    """w = 0 is a minimum of every L1 learner above λ_max: LASSO and the elastic net (any λ₂) alike."""
    X, y = regression
    params = learners.train("lasso", X, y, 1e6)
    assert not np.any(params["coef"])
    found = identify(X, y, params)
    assert found.verdict is Verdict.CANNOT_TELL and found.exit_code == 3
    assert set(found.tied) == {"lasso", "elastic_net"}
    assert found.candidate("ridge").score > 0.1  # ridge's w = 0 is not a minimum unless Xᵀ(y − ȳ) = 0
    X, y = binary
    found = identify(X, y, learners.train("logistic_l1", X, y, 1e6))
    assert found.verdict is Verdict.CANNOT_TELL and set(found.tied) == {"logistic_l1", "logistic_elastic_net"}


def test_elastic_net_below_resolution_cannot_tell_ridge(regression):
    """λ₁ = 1e-9 leaves ridge a residual ~1e-10, within what exact solvers leave: the two are tied.
    A λ₁ the parameters resolve (1e-5) is identified as the elastic net."""
    X, y = regression
    found = identify(X, y, learners.train("elastic_net", X, y, (1e-9, 1.0)))
    assert found.verdict is Verdict.CANNOT_TELL and set(found.tied) == {"ridge", "elastic_net"}, found.summary()
    found = identify(X, y, learners.train("elastic_net", X, y, (1e-5, 1.0)))
    assert (found.verdict, found.best) == (Verdict.IDENTIFIED, "elastic_net"), found.summary()


def test_exact_ridge_is_not_tied_with_the_elastic_net_that_contains_it(regression):
    X, y = regression
    found = identify(X, y, learners.train("ridge", X, y, 2.0))
    enet = found.candidate("elastic_net")
    assert enet.excluded.startswith("reduces to ridge") and found.tied == ["ridge"]


def test_hinge_model_without_margin_points_is_not_stationary_for_a_hinge_loss(binary):
    """A logistic model on separable data leaves every point outside the margin: the hinge learners'
    conditions then hold only at λ = 0, so they do not compete."""
    X, y = binary
    Xs = X[:, :2] * 4.0
    ys = np.where(Xs[:, 0] > 0, 1, 0)
    found = identify(Xs, ys, learners.train("logistic_l2", Xs, ys, 0.01))
    assert (found.verdict, found.best) == (Verdict.IDENTIFIED, "logistic_l2"), found.summary()
    assert "λ = 0" in found.candidate("svm_hinge").excluded


@pytest.mark.parametrize("make", ["Ridge", "Lasso", "LogisticRegression", "LinearSVC", "LinearSVC-hinge"])
def test_realistic_fits_are_never_confidently_wrong(make, regression, binary):
    from sklearn.linear_model import Lasso, LogisticRegression, Ridge
    from sklearn.svm import LinearSVC

    from hypersteal.adapters.sklearn import leaf_problems

    estimators = {
        "Ridge": (Ridge(alpha=2.0), "ridge"),
        "Lasso": (Lasso(alpha=0.05), "lasso"),
        "LogisticRegression": (LogisticRegression(C=0.7), "logistic_l2"),
        "LinearSVC": (LinearSVC(C=0.7, random_state=0), "svm_squared_hinge"),
        "LinearSVC-hinge": (LinearSVC(C=0.7, loss="hinge", random_state=0), "svm_hinge"),
    }
    est, truth = estimators[make]
    X, y = regression if hypersteal.registry.learner(truth).regression else binary
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    (problem,) = leaf_problems(type(est).__name__, est, X, y)
    found = identify(X, y, problem.params, **problem.options)
    assert found.verdict is not Verdict.IDENTIFIED or found.best == truth, found.summary()
    if found.verdict is Verdict.CANNOT_TELL:
        assert truth in found.tied


def test_unconverged_squared_hinge_on_separable_data_is_not_named_a_hinge_svm():
    """More features than rows: liblinear stops with nearly every point on the margin, so the hinge SVM's free
    margin weights explain the parameters at residual 0 (score 3e-4, the margin distance) with λ ∈ [0, 15]
    (no penalty needed), while the true squared hinge reads 0.07 away from its minimum. Before the rule for
    such weak fits this was identified, wrongly, as svm_hinge (the madelon cell of docs/identify.md)."""
    from sklearn.svm import LinearSVC

    from hypersteal.adapters.sklearn import leaf_problems

    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(60, 120)), (rng.random(60) > 0.5).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = LinearSVC(C=50, random_state=0).fit(X, y)
    (problem,) = leaf_problems("LinearSVC", est, X, y)
    found = identify(X, y, problem.params, **problem.options)
    assert found.candidate("svm_hinge").score < found.candidate("svm_squared_hinge").score / CLEAR_RATIO
    assert found.verdict is Verdict.CANNOT_TELL and set(found.tied) == {"svm_hinge", "svm_squared_hinge"}


def test_an_elastic_net_with_as_many_lambdas_as_equations_is_no_evidence():
    """liblinear's L1 logistic regression on two-class Iris keeps 2 weights: the elastic-net logistic
    regression then has 2 equations for its 2 λs and fits them exactly (residual 1e-16), while the true L1-LR
    reads 3e-3 (liblinear's tolerance). That was identified, wrongly, as the elastic net."""
    from sklearn.linear_model import LogisticRegression

    from hypersteal import datasets
    from hypersteal.adapters.sklearn import leaf_problems

    iris = datasets.load("iris")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn ≥ 1.8 prefers l1_ratio=1 to penalty="l1"
        est = LogisticRegression(C=1.0, penalty="l1", solver="liblinear", random_state=0).fit(iris.X, iris.y)
    (problem,) = leaf_problems("LogisticRegression", est, iris.X, iris.y)
    found = identify(iris.X, iris.y, problem.params, **problem.options)
    enet = found.candidate("logistic_elastic_net")
    assert enet.n_equations == enet.n_unknowns == 2 and enet.score < 1e-12
    assert found.verdict is Verdict.CANNOT_TELL
    assert set(found.tied) == {"logistic_l1", "logistic_elastic_net"}, found.summary()


def test_incompatible_params_are_reported(binary):
    X, y = binary
    # a one-row coef for three classes: no linear classifier takes it, each says why
    y3 = np.arange(len(y)) % 3
    found = identify(X, y3, {"coef": np.ones(X.shape[1]), "intercept": 0.0}, task="classification")
    assert found.verdict is Verdict.NO_MATCH and found.best is None and found.exit_code == 4
    assert "logistic_l2" in found.incompatible and "3 classes" in found.incompatible["logistic_l2"]
    assert "ridge" in found.incompatible  # a regression learner, y read as class labels
    with pytest.raises(hypersteal.InputError, match="exactly one of"):
        identify(X, y, {"intercept": 0.0})
    with pytest.raises(TypeError, match="unknown option 'gamma'"):
        identify(X, y, {"coef": np.ones(X.shape[1])}, gamma=0.5)


def test_task_is_read_from_y(regression, binary):
    from hypersteal.identification import _tasks

    assert _tasks(regression[1], None) == ["regression"]
    assert _tasks(binary[1], None) == ["classification"]
    assert _tasks(np.array([0, 1, 2, 1, 0]), None) == ["regression", "classification"]
    assert _tasks(np.array([0, 1, 2, 1, 0]), "regression") == ["regression"]


def test_json_round_trip(binary):
    X, y = binary
    found = identify(X, y, learners.train("svm_squared_hinge", X, y, 1.0))
    text = json.dumps(found.to_dict())
    back = Identification.from_dict(json.loads(text))
    assert back.to_dict() == found.to_dict()
    assert (back.verdict, back.best, back.tied) == (found.verdict, found.best, found.tied)
    assert back.candidate("svm_squared_hinge").status is found.candidate("svm_squared_hinge").status
    assert "identified: svm_squared_hinge" in back.summary()


def test_the_function_stays_the_package_attribute(regression):
    """``hypersteal.identify`` is the function, also after its module is imported."""
    import hypersteal.identification  # noqa: F401

    X, y = regression
    assert hypersteal.identify(X, y, learners.train("ridge", X, y, 1.0)).best == "ridge"


def _cli(*args, cwd):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    return subprocess.run([sys.executable, "-m", "hypersteal", "identify", *args], capture_output=True,
                          text=True, cwd=cwd, env=env)


def test_cli_end_to_end(tmp_path, regression):
    """A real subprocess on a CSV and an npz written here (JSON out, exit status 0)."""
    import pandas as pd

    from hypersteal.io import save_params

    X, y = regression
    pd.DataFrame(np.column_stack([X, y]), columns=[*(f"x{j}" for j in range(X.shape[1])), "y"]).to_csv(
        tmp_path / "data.csv", index=False)
    save_params(tmp_path / "lasso.npz", learners.train("lasso", X, y, 5.0))
    out = _cli("--data", "data.csv", "--target", "y", "--params", "lasso.npz", "--json", cwd=tmp_path)
    assert out.returncode == EXIT_CODES["identified"] == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["verdict"] == "identified" and doc["best"] == "lasso"
    assert doc["candidates"][0]["lambdas"]["lambda"] == pytest.approx(5.0, rel=1e-6)


def test_cli_exit_status_and_bad_input(tmp_path, regression):
    """In process (typer's runner): cannot tell exits 3, bad input 2 with a message, identified 0."""
    from typer.testing import CliRunner

    from hypersteal.cli import app
    from hypersteal.io import save_params

    X, y = regression
    np.savez(tmp_path / "data.npz", X=X, y=y)
    save_params(tmp_path / "ridge.npz", learners.train("ridge", X, y, 1.0))
    base = ["identify", "--data", str(tmp_path / "data.npz"), "--params", str(tmp_path / "ridge.npz")]
    out = CliRunner().invoke(app, [*base, "--gamma", "0.5"])
    assert out.exit_code == 2 and "unknown option 'gamma'" in out.output
    out = CliRunner().invoke(app, [*base, "--task", "ranking"])
    assert out.exit_code == 2 and "task must be" in out.output
    out = CliRunner().invoke(app, base)
    assert out.exit_code == 0 and "identified: ridge (RR)" in out.output
    # all-zero weights: cannot tell, its own exit status
    save_params(tmp_path / "zero.npz", learners.train("lasso", X, y, 1e6))
    out = CliRunner().invoke(app, ["identify", "--data", str(tmp_path / "data.npz"), "--params",
                                   str(tmp_path / "zero.npz")])
    assert out.exit_code == EXIT_CODES["cannot_tell"] == 3
    assert "cannot tell: lasso (LASSO), elastic_net (ENet)" in out.output


def test_identify_takes_sparse_X_for_linear_parameters():
    """Sparse X as it is for the linear candidates (liblinear's constant column too); the same answer as dense."""
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = sp.random(300, 40, density=0.1, format="csr", random_state=0)
    y = (X @ rng.normal(size=40) + 0.1 * rng.normal(size=300) > 0).astype(int)
    for est, opts in ((LogisticRegression(C=2.0, tol=1e-12, max_iter=10_000), {}),
                      (LogisticRegression(C=2.0, solver="liblinear", tol=1e-12, max_iter=10_000,
                                          intercept_scaling=2.0), {"intercept_scaling": 2.0})):
        est.fit(X, y)
        params = {"coef": est.coef_, "intercept": est.intercept_}
        sparse, dense = identify(X, y, params, **opts), identify(X.toarray(), y, params, **opts)
        assert sparse.verdict is Verdict.IDENTIFIED and sparse.best == dense.best == "logistic_l2"
        lam = sparse.candidate("logistic_l2").lambdas["lambda"]
        assert lam == pytest.approx(dense.candidate("logistic_l2").lambdas["lambda"], rel=1e-9)
        assert lam == pytest.approx(1 / (2 * 2.0), rel=1e-6)
