"""Conformance over the registry: every registered learner, through every entry point that takes it, works
or is refused with a clear error — and every table of the package agrees with its record (one place).

Ground truth for the round trips is the λ handed to the trainer (scikit-learn or a polished solver:
:mod:`hypersteal.learners`); the stolen λ must come back, or the result must say exactly why not.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
from scipy.special import expit

import hypersteal
from hypersteal import InputError, learners
from hypersteal.registry import ALIASES, LEARNERS, NATIVE, canonical_name, learner, native
from hypersteal.result import Status

RECORDS = list(LEARNERS.values())
IDS = [r.name for r in RECORDS]
LAMBDAS = (0.1, 1.0, 10.0)


def _data(rec, n=60, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    f = X @ np.array([1.5, -2.0, 0.7, 0.0][:d]) + 0.3
    if rec.loss in ("poisson", "gamma", "tweedie"):  # GLMs: positive targets around a log-linear mean
        return X, np.exp(0.3 * f) * rng.gamma(4.0, 0.25, size=n)
    if rec.regression:
        return X, f + 0.5 * rng.normal(size=n)
    return X, (f + 1.5 * rng.normal(size=n) > 0).astype(int)


def _options(rec, d):
    if rec.family == "kernel":
        return {"kernel": "rbf", "gamma": 1.0 / d}
    if rec.family == "mlp":
        return {"hidden_layer_sizes": (3,), "activation": "tanh"}
    return {}


# ------------------------------------------------------------------------------------------ names


@pytest.mark.parametrize("rec", RECORDS, ids=IDS)
def test_every_spelling_resolves_to_its_record(rec):
    for spelling in (rec.name, rec.paper, rec.paper.lower(), rec.name.upper(), *rec.aliases):
        assert canonical_name(spelling) == rec.name
    assert learner(rec.paper) is rec


def test_no_spelling_names_two_learners():
    names = [s for r in RECORDS for s in {r.name, r.paper.lower(), *r.aliases}]
    assert len(names) == len(set(names)) == len(ALIASES)


def test_an_unknown_name_lists_the_valid_ones():
    with pytest.raises(InputError, match=r"Unknown algorithm 'ridg'.*ridge \(RR\)"):
        canonical_name("ridg")


# ------------------------------------------------------------------------------------- objectives


@pytest.mark.parametrize("rec", RECORDS, ids=IDS)
def test_objective_is_the_records(rec):
    from hypersteal.objectives import OBJECTIVES, get_objective

    obj = get_objective(rec.paper)
    assert type(obj) is OBJECTIVES[rec.name] and type(obj).__name__ == rec.objective
    assert obj.learner is rec and obj.paper == rec.paper and obj.regression == rec.regression
    assert len(obj.hyperparameters) == rec.n_lambdas


# ------------------------------------------------------------------------------- train → steal


def _lam(rec, lam):
    return (lam, lam) if rec.n_lambdas == 2 else lam


#: the round trips whose λ the data cannot determine, and why; every other one must come back exact
UNDETERMINED = {
    ("kernel_logistic_l1", 10.0): "every α is zero, the same minimum for every λ above a threshold",
    ("svm_hinge", 0.1): "no point strictly inside the margin's box: one minimum for an interval of λ",
    ("svm_hinge", 1.0): "no point strictly inside the margin's box: one minimum for an interval of λ",
}


@pytest.mark.parametrize("lam", LAMBDAS)
@pytest.mark.parametrize("rec", [r for r in RECORDS if r.trainer], ids=[r.name for r in RECORDS if r.trainer])
def test_train_then_steal_round_trip(rec, lam):
    """Every learner with a trainer, at three λ: exact, or — where :data:`UNDETERMINED` says why — not
    identifiable with an interval that holds the truth."""
    X, y = _data(rec)
    opts = _options(rec, X.shape[1])
    params = learners.train(rec.name, X, y, _lam(rec, lam), **opts)
    steal_opts = {k: v for k, v in opts.items() if k != "hidden_layer_sizes"}
    r = hypersteal.steal(rec.paper, X, y, params, **steal_opts)
    assert r.algorithm == rec.name
    if (rec.name, lam) in UNDETERMINED:
        assert r.status is Status.NOT_IDENTIFIABLE, r.summary()
        lo, hi = r.intervals["lambda"]
        assert lo <= lam <= hi, r.summary()
        if rec.sparse:  # all weights zero: unbounded above, and only then
            assert not np.any(params["dual_coef"]) and hi == np.inf
        else:
            assert np.isfinite(hi) and lo > 0
        return
    assert r.status is Status.EXACT, r.summary()
    for k, v in r.lambdas.items():
        assert v == pytest.approx(lam, rel=1e-5), r.summary()
        lo, hi = r.intervals[k]
        assert lo <= v <= hi


@pytest.mark.parametrize("rec", [r for r in RECORDS if not r.trainer], ids=[r.name for r in RECORDS if not r.trainer])
def test_a_learner_without_trainer_is_refused_clearly(rec):
    X, y = _data(rec)
    with pytest.raises(InputError, match=f"no reference trainer for {rec.name}"):
        learners.train(rec.name, X, y, _lam(rec, 1.0))
    with pytest.raises(InputError, match=f"no reference trainer for {rec.name}"):
        learners.objective_value(rec.name, X, y, {}, _lam(rec, 1.0))


# ------------------------------------------------------------------------------------- extraction


def _api(rec, params, X, opts):
    from hypersteal.experiments._common import decision_function

    def api(Q):
        f = decision_function(rec.name, params, X, np.asarray(Q, dtype=float), opts)
        return expit(f) if rec.output == "probability" else f

    return api


@pytest.mark.parametrize("rec", [r for r in RECORDS if r.trainer and r.family != "mlp"],
                         ids=[r.name for r in RECORDS if r.trainer and r.family != "mlp"])
def test_extraction_then_steal(rec):
    """Linear and kernel learners: the parameters come back through the API's default output, and so does λ.
    (Networks: tests/test_extraction.py, whose searches take longer.)"""
    from hypersteal.extraction import extract_parameters

    X, y = _data(rec)
    opts = _options(rec, X.shape[1])
    params = learners.train(rec.name, X, y, _lam(rec, 1.0), **opts)
    extra = {"X_train": X, **opts} if rec.family == "kernel" else {}
    ext = extract_parameters(rec.name, _api(rec, params, X, opts), X.shape[1], **extra)
    assert ext.output == rec.output
    key = "dual_coef" if rec.family == "kernel" else "coef"
    np.testing.assert_allclose(np.ravel(ext.params[key]), np.ravel(params[key]), rtol=1e-6, atol=1e-8)


def test_extraction_refuses_an_output_the_learner_cannot_give():
    rec = LEARNERS["svm_hinge"]
    from hypersteal.extraction import extract_parameters

    with pytest.raises(InputError, match="output='probability' is not supported for svm_hinge"):
        extract_parameters(rec.name, lambda Q: np.zeros(len(Q)), 3, output="probability")


# ------------------------------------------------------------------------- every table is a lookup


def test_trainer_options_follow_the_record():
    for name, defaults in learners.DEFAULT_OPTIONS.items():
        rec = LEARNERS[name]
        assert rec.trainer
        if rec.family != "mlp":
            assert defaults["fit_intercept"] is rec.fit_intercept
        assert ("kernel" in defaults) == (rec.family == "kernel")
    assert set(learners.DEFAULT_OPTIONS) == {r.name for r in RECORDS if r.trainer}


def test_experiments_cover_the_papers_learners_once():
    from hypersteal.experiments import _settings as s

    listed = s.REGRESSION + s.CLASSIFICATION + s.NEURAL
    assert sorted(listed) == sorted(r.name for r in RECORDS if r.in_paper)
    assert all(LEARNERS[a].regression for a in s.REGRESSION)
    assert not any(LEARNERS[a].regression for a in s.CLASSIFICATION)
    assert s.KERNEL == [r.name for r in RECORDS if r.family == "kernel" and r.in_paper]


def test_platform_catalogue_agrees_with_the_registry():
    from hypersteal.mlaas import training

    for entry in training.LEARNERS.values():
        rec = LEARNERS[entry.objective]
        assert (entry.task, entry.output) == (rec.task, rec.output)
    for spelling in ("RR", "L2-LR", "svm-rhl", "SVM"):
        assert training.canonical(spelling) == canonical_name(spelling)


def test_extraction_families_follow_the_record():
    from hypersteal.extraction import _common as extraction

    families = {"linear": extraction._LINEAR, "kernel": extraction._KERNEL, "mlp": extraction._MLP}
    for rec in RECORDS:
        assert families[rec.family][rec.name] == rec.output
        assert (rec.name in extraction._L1) == rec.sparse


def test_cli_lists_every_learner():
    out = subprocess.run([sys.executable, "-m", "hypersteal", "algorithms"], capture_output=True, text=True,
                         check=True).stdout
    for rec in RECORDS:
        row = next(line for line in out.splitlines() if line.startswith(rec.name + " "))
        assert rec.paper in row and rec.task in row and rec.output in row


# ------------------------------------------------------------------------------------------ native names

#: the paper's λ from each estimator's own parameters, written out here independently of the registry
#: (n rows; docs/conventions.md's table)
INDEPENDENT = {
    ("Ridge", "ridge"): lambda v, n: {"lambda": v["alpha"]},
    ("RidgeClassifier", "ridge"): lambda v, n: {"lambda": v["alpha"]},
    ("KernelRidge", "kernel_ridge"): lambda v, n: {"lambda": v["alpha"]},
    ("Lasso", "lasso"): lambda v, n: {"lambda": 2 * n * v["alpha"]},
    ("ElasticNet", "elastic_net"): lambda v, n: {"lambda_l1": 2 * n * v["alpha"] * v["l1_ratio"],
                                                  "lambda_l2": n * v["alpha"] * (1 - v["l1_ratio"])},
    ("ElasticNet", "ridge"): lambda v, n: {"lambda": n * v["alpha"]},
    ("ElasticNet", "lasso"): lambda v, n: {"lambda": 2 * n * v["alpha"]},
    ("LogisticRegression", "logistic_l2"): lambda v, n: {"lambda": 0.5 / v["C"]},
    ("LogisticRegression", "logistic_l1"): lambda v, n: {"lambda": 1 / v["C"]},
    ("LogisticRegression", "logistic_elastic_net"): lambda v, n: {"lambda_l1": v["l1_ratio"] / v["C"],
                                                                  "lambda_l2": (1 - v["l1_ratio"]) / (2 * v["C"])},
    ("LinearSVC", "svm_squared_hinge"): lambda v, n: {"lambda": 0.5 / v["C"]},
    ("LinearSVC", "svm_hinge"): lambda v, n: {"lambda": 0.5 / v["C"]},
    ("SVC", "svm_hinge"): lambda v, n: {"lambda": 0.5 / v["C"]},
    ("SVC", "kernel_svm_hinge"): lambda v, n: {"lambda": 0.5 / v["C"]},
    ("MLPRegressor", "mlp_regression"): lambda v, n: {"lambda": v["alpha"]},
    ("MLPClassifier", "mlp_classification"): lambda v, n: {"lambda": v["alpha"] / 2},
    ("SGDRegressor", "ridge"): lambda v, n: {"lambda": n * v["alpha"]},
    ("SGDClassifier", "logistic_l2"): lambda v, n: {"lambda": n * v["alpha"] / 2},
    ("SGDClassifier", "svm_hinge"): lambda v, n: {"lambda": n * v["alpha"] / 2},
    ("SGDClassifier", "svm_squared_hinge"): lambda v, n: {"lambda": n * v["alpha"] / 2},
    ("SGDClassifier", "logistic_l1"): lambda v, n: {"lambda": n * v["alpha"]},
    ("SGDRegressor", "lasso"): lambda v, n: {"lambda": 2 * n * v["alpha"]},
    ("SGDRegressor", "elastic_net"): lambda v, n: {"lambda_l1": 2 * n * v["alpha"] * v["l1_ratio"],
                                                    "lambda_l2": n * v["alpha"] * (1 - v["l1_ratio"])},
    ("SGDClassifier", "logistic_elastic_net"): lambda v, n: {"lambda_l1": n * v["alpha"] * v["l1_ratio"],
                                                             "lambda_l2": n * v["alpha"] * (1 - v["l1_ratio"]) / 2},
    # ½‖w‖² + C Σ max(0, |r| − ε)(²) = C (Σ … + ‖w‖²/(2C)); SGD: (1/n) Σ … + (alpha/2)‖w‖²
    ("LinearSVR", "svr_epsilon_insensitive"): lambda v, n: {"lambda": 1 / (2 * v["C"])},
    ("LinearSVR", "svr_squared_epsilon_insensitive"): lambda v, n: {"lambda": 1 / (2 * v["C"])},
    ("SVR", "kernel_svr_epsilon_insensitive"): lambda v, n: {"lambda": 1 / (2 * v["C"])},
    ("SGDRegressor", "svr_epsilon_insensitive"): lambda v, n: {"lambda": v["alpha"] * n / 2},
    ("SGDRegressor", "svr_squared_epsilon_insensitive"): lambda v, n: {"lambda": v["alpha"] * n / 2},
    ("LassoLars", "lasso"): lambda v, n: {"lambda": 2 * n * v["alpha"]},
    ("PoissonRegressor", "poisson_regression"): lambda v, n: {"lambda": n * v["alpha"] / 2},
    ("GammaRegressor", "gamma_regression"): lambda v, n: {"lambda": n * v["alpha"] / 2},
    ("TweedieRegressor", "tweedie_regression"): lambda v, n: {"lambda": n * v["alpha"] / 2},
    ("HuberRegressor", "huber_regression"): lambda v, n: {"lambda": v["alpha"]},
}
NATIVES = list(NATIVE.values())
NATIVE_IDS = [f"{m.estimator}-{m.learner}" for m in NATIVES]


def _native_values(m, rng, choices=None):
    """Native values for one mapping (drawn from ``choices``, else uniformly), with l1_ratio where it has one."""
    keys = m.at({"lambda": 1.0, "lambda_l1": 1.0, "lambda_l2": 1.0}, 7)
    values = {k: float(rng.choice(choices) if choices else rng.uniform(0.05, 5.0)) for k in keys}
    if "l1_ratio" in values:
        values["l1_ratio"] = {"ridge": 0.0, "lasso": 1.0}.get(m.learner, float(rng.choice([0.2, 0.5, 0.8])))
    return values


def test_every_native_mapping_has_an_independent_twin():
    assert set(NATIVE) == set(INDEPENDENT)
    for m in NATIVES:
        assert m.learner in LEARNERS
        assert m in LEARNERS[m.learner].natives


@pytest.mark.parametrize("m", NATIVES, ids=NATIVE_IDS)
def test_native_mapping_both_ways(m):
    rng = np.random.default_rng(0)
    for n in (1, 37, 1000):
        values = _native_values(m, rng)
        lams = m.from_native(values, n)
        truth = INDEPENDENT[m.estimator, m.learner](values, n)
        assert lams.keys() == truth.keys()
        for k in truth:
            assert lams[k] == pytest.approx(truth[k], rel=1e-12)
        back = m.to_native(lams, n)
        for k, v in values.items():
            assert back[k] == pytest.approx(v, rel=1e-12, abs=1e-15)


def test_an_estimator_that_does_not_fit_the_learner_is_refused():
    with pytest.raises(InputError, match="Ridge does not fit lasso.*Lasso"):
        native("Ridge", "lasso")


def _fitted(m, X, y, values):
    """The estimator at ``values``, fitted tightly (SGD: seeded, so replay recovers it)."""
    from sklearn import kernel_ridge, linear_model, neural_network, svm

    settings = {
        "Lasso": {"tol": 1e-12, "max_iter": 100_000}, "ElasticNet": {"tol": 1e-12, "max_iter": 100_000},
        "LogisticRegression": {"tol": 1e-12, "max_iter": 10_000, "solver": "saga" if m.learner != "logistic_l2"
                               else "lbfgs", "random_state": 0},
        "LinearSVC": {"tol": 1e-12, "max_iter": 100_000, "loss": "hinge" if m.learner == "svm_hinge"
                      else "squared_hinge", "random_state": 0},
        "SVC": {"tol": 1e-10, "kernel": "linear" if m.learner == "svm_hinge" else "rbf"},
        "MLPRegressor": {"solver": "lbfgs", "tol": 1e-12, "max_iter": 5000, "hidden_layer_sizes": (3,),
                         "activation": "tanh", "random_state": 0},
        "MLPClassifier": {"solver": "lbfgs", "tol": 1e-12, "max_iter": 5000, "hidden_layer_sizes": (3,),
                          "activation": "tanh", "random_state": 0},
        "KernelRidge": {"kernel": "rbf"},
        "LinearSVR": {"tol": 1e-12, "max_iter": 100_000, "epsilon": 0.1, "random_state": 0,
                      "loss": m.learner.removeprefix("svr_")},
        "SVR": {"tol": 1e-10, "kernel": "rbf", "epsilon": 0.1},
        "PoissonRegressor": {"solver": "newton-cholesky", "tol": 1e-12},
        "GammaRegressor": {"solver": "newton-cholesky", "tol": 1e-12},
        "TweedieRegressor": {"solver": "newton-cholesky", "tol": 1e-12, "power": 1.5},
        "HuberRegressor": {"max_iter": 1000},
    }.get(m.estimator, {})
    if m.estimator.startswith("SGD"):
        rec = LEARNERS[m.learner]
        settings = {"random_state": 0, "penalty": {"l2": "l2", "l1": "l1", "elastic_net": "elasticnet"}[rec.penalty],
                    "loss": {"squared": "squared_error", "logistic": "log_loss"}.get(rec.loss, rec.loss)}
    if m.estimator == "LogisticRegression" and m.learner == "logistic_l1":
        values = {**values, "l1_ratio": 1.0}
    cls = next(getattr(mod, m.estimator) for mod in (linear_model, svm, neural_network, kernel_ridge)
               if hasattr(mod, m.estimator))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cls(**values, **settings).fit(X, y)


@pytest.mark.parametrize("m", NATIVES, ids=NATIVE_IDS)
def test_native_mapping_against_real_fits(m):
    """Each estimator fitted at native values; λ stolen from it equals the independent mapping's λ."""
    rec = LEARNERS[m.learner]
    X, y = _data(LEARNERS["logistic_l2"] if m.estimator == "RidgeClassifier" else rec, n=80)
    rng = np.random.default_rng(1)
    # round values, as people choose them (replay finds SGD's value among them); SGD's alpha is per row
    values = _native_values(m, rng, [1e-4, 1e-3] if m.estimator.startswith("SGD") else [0.1, 0.5, 2.0])
    est = _fitted(m, X, y, values)
    if m.learner in ("lasso", "logistic_l1") and not np.any(est.coef_):
        pytest.fail(f"{m.estimator} at {values} zeroed every weight: choose a smaller penalty")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # networks: the stationarity conditions at a tight L-BFGS fit (replaying Adam-free L-BFGS costs minutes)
        r = hypersteal.steal_from_estimator(est, X, y, replay=rec.family != "mlp")
    truth = INDEPENDENT[m.estimator, m.learner](values, len(X))
    for k, lam in truth.items():
        lo, hi = r.intervals[k]
        if rec.hinge and not r.status.has_value:  # a hinge fit may pin λ to a set only: it holds the truth
            assert lo * (1 - 1e-6) <= lam <= hi * (1 + 1e-6), r.summary()
        else:
            assert r.lambdas[k] == pytest.approx(lam, rel=1e-3), r.summary()


def test_conventions_page_states_every_native_mapping():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "conventions.md").read_text(encoding="utf-8")
    rows = [line for line in page.splitlines() if line.startswith("| `")]
    for m in NATIVES:
        assert any(f"`{m.estimator}(" in row and m.formula in row for row in rows), (m.estimator, m.formula)


@pytest.mark.parametrize("rec", [r for r in RECORDS if r.trainer], ids=[r.name for r in RECORDS if r.trainer])
def test_cli_steal_round_trip(rec, tmp_path):
    """`hypersteal steal` on files, for every learner: the λ it trained at, in the JSON it prints."""
    from typer.testing import CliRunner

    from hypersteal.cli import app
    from hypersteal.io import save_params

    X, y = _data(rec)
    opts = _options(rec, X.shape[1])
    lam = 1.0
    params = learners.train(rec.name, X, y, _lam(rec, lam), **opts)
    np.savez(tmp_path / "data.npz", X=X, y=y)
    save_params(tmp_path / "params.npz", params)
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in opts.items() if k != "hidden_layer_sizes"]
    out = CliRunner().invoke(app, ["steal", "-a", rec.paper, "--data", str(tmp_path / "data.npz"), "--params",
                                   str(tmp_path / "params.npz"), "--json", *flags])
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    if (rec.name, lam) in UNDETERMINED:
        assert report["status"] == "not_identifiable", out.stdout
        lo, hi = report["intervals"]["lambda"]
        assert lo <= lam <= (np.inf if hi is None else hi), out.stdout
        return
    assert report["status"] == "exact", out.stdout
    for v in report["lambdas"].values():
        assert v == pytest.approx(lam, rel=1e-5)
