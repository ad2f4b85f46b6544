"""Class weights and kernel parameters stolen together with λ (hypersteal.steal_jointly).

Ground truth is always a real scikit-learn fit: the class_weight and C (or gamma, degree, coef0 and alpha) it was
given. Tight fits must return them to round-off; default-tolerance fits within their intervals; wrong inputs must
not return a confident number.
"""

from __future__ import annotations

import copy
import json
import warnings

import numpy as np
import pytest
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import HuberRegressor, LogisticRegression
from sklearn.svm import SVC, SVR, LinearSVC, NuSVR
from sklearn.utils.class_weight import compute_class_weight

import hypersteal
from hypersteal import InputError, Status
from hypersteal.objectives import get_objective
from hypersteal.unknowns import JointResult, steal_jointly


@pytest.fixture(scope="module")
def unbalanced():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(240, 4)) * [1.0, 2.0, 0.5, 1.5]
    y = (X @ [1.0, -0.5, 2.0, 0.3] + rng.normal(size=240) > 1.2).astype(int)
    return X, y


@pytest.fixture(scope="module")
def regression():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(120, 3))
    return X, np.sin(X[:, 0]) + X[:, 1] ** 2 - 0.5 * X[:, 2] + 0.1 * rng.normal(size=120)


def _lambda_per_first_weight(estimator, algorithm, y):
    """The true λ at the first class's weight 1: the fit with weights (w_0, w_1) and C is the fit with (1, w_1/w_0)
    and C·w_0 (scikit-learn multiplies C by the weights), mapped by the registry's NATIVE record."""
    w = compute_class_weight(estimator.class_weight, classes=estimator.classes_, y=y)
    mapping = hypersteal.registry.native(type(estimator).__name__, algorithm)
    return mapping.from_native({"C": estimator.C * w[0]}, len(y))["lambda"]


TIGHT = dict(tol=1e-12, max_iter=100_000)
CLASS_WEIGHT_FITS = [
    ("logreg-lbfgs", lambda cw, tight: LogisticRegression(C=2.0, class_weight=cw, **(TIGHT if tight else {}))),
    ("logreg-liblinear", lambda cw, tight: LogisticRegression(C=0.7, class_weight=cw, solver="liblinear",
                                                               **(TIGHT if tight else {}))),
    ("linearsvc", lambda cw, tight: LinearSVC(C=0.3, class_weight=cw, **(TIGHT if tight else {}))),
]


@pytest.mark.parametrize("tight", [True, False], ids=["tight", "default"])
@pytest.mark.parametrize("class_weight", [{0: 1.0, 1: 4.0}, {0: 2.5, 1: 0.5}, "balanced"],
                         ids=["dict-1-4", "dict-2.5-0.5", "balanced"])
@pytest.mark.parametrize("name, make", CLASS_WEIGHT_FITS, ids=[f[0] for f in CLASS_WEIGHT_FITS])
def test_class_weight_of_linear_models(name, make, class_weight, tight, unbalanced):
    X, y = unbalanced
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # liblinear at its default tolerance may warn of convergence
        est = make(class_weight, tight).fit(X, y)
    r = steal_jointly(est, X, y, unknown="class_weight")
    w = compute_class_weight(class_weight, classes=est.classes_, y=y)
    ratio = w[1] / w[0]
    lo, hi = r.intervals["class_weight"][1]
    assert lo <= ratio <= hi, r.summary()  # calibrated: the truth is inside, tight or not
    assert r.balanced is (class_weight == "balanced"), r.summary()
    assert r.invariance and r.class_weight[0] == 1.0
    lam = _lambda_per_first_weight(est, r.algorithm, y)
    lo, hi = r.intervals["lambda"]
    assert lo <= lam <= hi, r.summary()
    assert r.native["class_weight"] == ("balanced" if class_weight == "balanced" else r.class_weight)
    if tight:  # the fit is a minimum to round-off: every value is the truth
        assert r.status.has_value and r.residual < 1e-6
        assert r.class_weight[1] == pytest.approx(ratio, rel=1e-6)
        assert r.hyperparameters["lambda"] == pytest.approx(lam, rel=1e-6)
        assert r.native["C"] == pytest.approx(est.C if class_weight == "balanced" else est.C * w[0], rel=1e-6)


def test_multinomial_class_weights():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 3))
    y = np.digitize(X @ [1.0, 0.5, -1.0] + rng.normal(scale=0.5, size=300), [-1.0, 0.8])
    cw = {0: 1.0, 1: 3.0, 2: 0.4}
    est = LogisticRegression(C=1.5, class_weight=cw, **TIGHT).fit(X, y)
    r = steal_jointly(est, X, y, unknown="class_weight")
    assert list(r.class_weight.values()) == pytest.approx([1.0, 3.0, 0.4], rel=1e-6)
    assert r.native["C"] == pytest.approx(1.5, rel=1e-6)
    assert r.status.has_value and r.balanced is False


def test_scale_invariance_is_what_the_result_says(unbalanced):
    """(c·class_weight, C/c) is the same fit: both read the same, with the first class's weight 1."""
    X, y = unbalanced
    a = LogisticRegression(C=2.0, class_weight={0: 1.0, 1: 3.0}, **TIGHT).fit(X, y)
    b = LogisticRegression(C=0.5, class_weight={0: 4.0, 1: 12.0}, **TIGHT).fit(X, y)
    ra, rb = (steal_jointly(e, X, y, unknown="class_weight") for e in (a, b))
    assert ra.class_weight[1] == pytest.approx(rb.class_weight[1], rel=1e-6)
    assert ra.native["C"] == pytest.approx(rb.native["C"], rel=1e-6) == pytest.approx(2.0, rel=1e-6)


def test_per_class_gradients_match_finite_differences(unbalanced):
    """The system's columns: Σ_k w_k b_k + λ a is the gradient of Σ_k w_k Σ_{y_i=k} ℓ_i + λ‖w‖² (central
    differences of the objective's value)."""
    X, y = unbalanced
    obj = get_objective("logistic_l2", fit_intercept=False)
    rng = np.random.default_rng(0)
    params = {"coef": rng.normal(size=4), "intercept": np.zeros(1)}
    weights, lam = np.array([0.7, 2.3]), 0.9
    data = obj.weigh(obj.prepare(X, y), weights[y])
    params = obj.check_params(params, data)
    from dataclasses import replace

    cols = [obj.system(obj.weigh(replace(data, w=None), (y == k).astype(float)), params).b for k in (0, 1)]
    analytic = weights[0] * cols[0] + weights[1] * cols[1] + lam * obj.penalty_gradients(data, params)[:, 0]
    theta, h = obj.pack(params), 1e-6
    numeric = np.array([(obj.value(data, obj.unpack(theta + h * e, params), [lam])
                         - obj.value(data, obj.unpack(theta - h * e, params), [lam])) / (2 * h)
                        for e in np.eye(theta.size)])
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("class_weight", [{0: 1.0, 1: 4.0}, "balanced"], ids=["dict", "balanced"])
@pytest.mark.parametrize("tol", [1e-10, 1e-3], ids=["tight", "default"])
def test_class_weight_of_svc(class_weight, tol, unbalanced):
    X, y = unbalanced
    est = SVC(C=0.8, gamma=0.2, class_weight=class_weight, tol=tol).fit(X, y)
    r = steal_jointly(est, X, y, unknown="class_weight")
    w = compute_class_weight(class_weight, classes=est.classes_, y=y)
    lo, hi = r.intervals["class_weight"][1]
    assert lo <= w[1] / w[0] <= hi, r.summary()
    assert r.balanced is (class_weight == "balanced")
    if tol < 1e-6:  # libsvm's default tolerance leaves margin points off by ~1e-3: the ratio may be a range
        assert r.status.has_value, r.summary()
    if r.status.has_value:
        assert r.class_weight[1] == pytest.approx(w[1] / w[0], rel=1e-6 if tol < 1e-6 else 1e-2)
        C = r.native["C"] if r.balanced else r.native["C"] * w[0]
        assert C == pytest.approx(0.8, rel=1e-6 if tol < 1e-6 else 1e-2)


KERNEL_FITS = [
    ("rbf-gamma", dict(kernel="rbf", gamma=0.3), "gamma"),
    ("laplacian-gamma", dict(kernel="laplacian", gamma=0.5), "gamma"),
    ("sigmoid-gamma", dict(kernel="sigmoid", gamma=0.05, coef0=0.2), "gamma"),
    ("poly-gamma", dict(kernel="poly", gamma=0.4, degree=2, coef0=1.0), "gamma"),
    ("poly-degree", dict(kernel="poly", gamma=0.3, degree=3, coef0=1.0), "degree"),
    ("poly-degree-gamma", dict(kernel="poly", gamma=0.25, degree=2, coef0=1.0), "degree,gamma"),
    ("poly-coef0", dict(kernel="poly", gamma=0.3, degree=3, coef0=0.6), "coef0"),
    ("sigmoid-coef0", dict(kernel="sigmoid", gamma=0.05, coef0=0.2), "coef0"),
]


@pytest.mark.parametrize("name, kw, unknown", KERNEL_FITS, ids=[f[0] for f in KERNEL_FITS])
def test_kernel_ridge_kernel_parameters(name, kw, unknown, regression):
    X, y = regression
    est = KernelRidge(alpha=0.2, **kw).fit(X, y)
    r = steal_jointly(est, X, y, unknown=unknown)
    for key in unknown.split(","):
        lo, hi = r.intervals[key]
        assert lo <= kw[key] <= hi, r.summary()
        assert r.hyperparameters[key] == pytest.approx(kw[key], rel=1e-5, abs=1e-7)
    assert r.native["alpha"] == pytest.approx(0.2, rel=1e-5)
    assert r.status.has_value, r.summary()


@pytest.mark.slow
@pytest.mark.parametrize("tol", [1e-10, 1e-3], ids=["tight", "default"])
def test_svc_gamma(tol, unbalanced):
    X, y = unbalanced
    est = SVC(C=1.5, gamma=0.15, tol=tol).fit(X, y)
    r = steal_jointly(est, X, y, unknown="gamma")
    lo, hi = r.intervals["gamma"]
    assert lo <= 0.15 <= hi, r.summary()
    assert r.hyperparameters["gamma"] == pytest.approx(0.15, rel=1e-5 if tol < 1e-6 else 2e-2)
    assert r.native["C"] == pytest.approx(1.5, rel=1e-6)
    assert hi / lo < (1.0 + 1e-4 if tol < 1e-6 else 1.1)  # determined: the margin points pin γ


def test_wrong_kernel_is_no_confident_number(regression):
    """KernelRidge trained with an rbf kernel, attacked as a laplacian one with γ unknown: no γ makes it a minimum."""
    X, y = regression
    est = KernelRidge(alpha=0.2, kernel="rbf", gamma=0.3).fit(X, y)
    r = steal_jointly("kernel_ridge", X, y, {"dual_coef": est.dual_coef_}, unknown="gamma", kernel="laplacian")
    assert not r.status.has_value, r.summary()
    assert r.residual > 1e-3


def test_named_learner_and_round_trip(regression):
    X, y = regression
    est = KernelRidge(alpha=0.5, kernel="rbf", gamma=0.7).fit(X, y)
    r = hypersteal.steal_jointly("KRR", X, y, {"dual_coef": est.dual_coef_}, unknown=["gamma"], kernel="rbf")
    assert r.hyperparameters["gamma"] == pytest.approx(0.7, rel=1e-6)
    assert r.hyperparameters["lambda"] == pytest.approx(0.5, rel=1e-6)
    assert not r.native  # no estimator: no native names
    back = JointResult.from_dict(json.loads(json.dumps(r.to_dict())))
    assert back.hyperparameters == pytest.approx(r.hyperparameters)
    assert back.status is r.status
    np.testing.assert_allclose(np.array(back.curve), np.array(r.curve))
    assert "gamma" in r.summary() and "JointResult" in repr(r)


@pytest.mark.parametrize("model, kw, unknown, match", [
    ("kernel_ridge", {"kernel": "rbf"}, "gama", "unknown must name"),
    ("kernel_ridge", {"kernel": "poly"}, "gamma,coef0", "only their ratio"),
    ("kernel_ridge", {"kernel": "rbf"}, "degree", "no parameter 'degree'"),
    ("kernel_ridge", {"kernel": "rbf"}, "class_weight", "regression learner"),
    ("kernel_logistic_l2", {"kernel": "rbf"}, "class_weight,gamma", "not stolen together"),
    ("ridge", {}, "gamma", "not a kernel learner"),
    ("kernel_ridge", {"kernel": "rbf"}, "epsilon", "has no ε to steal"),
    ("kernel_svr_epsilon_insensitive", {"kernel": "rbf"}, "epsilon,gamma", "stolen alone"),
])
def test_bad_unknowns_are_refused(model, kw, unknown, match, regression):
    X, y = regression
    params = {"coef": np.zeros(3)} if model == "ridge" else {"dual_coef": np.zeros(len(y))}
    yy = (y > 0).astype(int) if model.startswith("kernel_logistic") else y
    with pytest.raises(InputError, match=match):
        steal_jointly(model, X, yy, params, unknown=unknown, **kw)


@pytest.mark.parametrize("make", [lambda: SVR(C=2.0, epsilon=0.3, gamma=0.5, tol=1e-10),
                                  lambda: NuSVR(C=2.0, nu=0.4, gamma=0.5, tol=1e-10)], ids=["SVR", "NuSVR"])
def test_svr_epsilon_with_every_entry_point(make, regression):
    """A kernel SVR's ε, unknown, comes back with C from steal_jointly, steal_from_estimator(epsilon=None) and the
    command line alike; NuSVR's ε is what libsvm's ν chose, checked by refitting an SVR at the stolen (C, ε)."""
    X, y = regression
    est = make().fit(X, y)
    joint = steal_jointly(est, X, y, unknown="epsilon")
    plain = hypersteal.steal_from_estimator(est, X, y, epsilon=None)
    eps = joint.hyperparameters["epsilon"]
    assert joint.identifiable and joint.native["C"] == pytest.approx(2.0, rel=1e-8), joint.summary()
    assert plain.shape["epsilon"]["value"] == pytest.approx(eps, rel=1e-12) and plain.native["C"] == pytest.approx(2.0)
    assert hypersteal.StealResult.from_dict(json.loads(json.dumps(plain.to_dict()))).shape == plain.shape
    lo, hi = joint.intervals["epsilon"]
    assert lo <= eps <= hi
    if isinstance(est, SVR):
        assert lo <= 0.3 <= hi and eps == pytest.approx(0.3, rel=1e-6)
    refit = SVR(C=joint.native["C"], epsilon=eps, gamma=0.5, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(refit.predict(X), est.predict(X), atol=1e-6 * np.abs(y).max())


@pytest.fixture(scope="module")
def with_outliers():
    from sklearn.datasets import make_regression

    X, y = make_regression(300, 10, noise=5.0, random_state=0)
    y[::15] += 200.0  # 20 gross outliers
    return X, y


@pytest.mark.parametrize("epsilon", [1.1, 1.35, 2.0])
def test_huber_epsilon_from_the_scale_condition(epsilon, with_outliers):
    """HuberRegressor at its defaults (L-BFGS-B, tol 1e-5): ε from the scale's condition, alpha at that ε, each
    interval holding the truth."""
    X, y = with_outliers
    est = HuberRegressor(alpha=0.1, epsilon=epsilon).fit(X, y)
    r = steal_jointly(est, X, y, unknown="epsilon")
    assert r.identifiable, r.summary()
    assert r.hyperparameters["epsilon"] == pytest.approx(epsilon, rel=1e-3)
    lo, hi = r.intervals["epsilon"]
    assert lo <= epsilon <= hi and (hi - lo) / epsilon < 1e-2, r.summary()
    assert r.native["alpha"] == pytest.approx(0.1, rel=1e-3) and r.native["epsilon"] == r.hyperparameters["epsilon"]


def test_huber_epsilon_without_outliers_is_a_lower_bound(with_outliers):
    """No residual beyond ε·σ: ε enters no condition, so only a lower bound; a wrong scale is no minimum."""
    X, y = with_outliers
    clean = y.copy()
    clean[::15] -= 200.0
    est = HuberRegressor(alpha=0.1, epsilon=5.0).fit(X, clean)
    r = steal_jointly(est, X, clean, unknown="epsilon")
    lo, hi = r.intervals["epsilon"]
    assert not r.identifiable and np.isnan(r.hyperparameters["epsilon"]) and lo <= 5.0 and hi == np.inf, r.summary()
    assert r.native["alpha"] == pytest.approx(0.1, rel=1e-3)
    est = HuberRegressor(alpha=0.1, epsilon=1.35).fit(X, y)
    wrong = copy.copy(est)
    wrong.scale_ = 2 * est.scale_
    assert steal_jointly(wrong, X, y, unknown="epsilon").status is Status.NOT_A_MINIMUM


def test_hinge_class_weights_need_two_classes():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(90, 2))
    y = np.digitize(X[:, 0], [-0.5, 0.5])
    est = SVC(class_weight={0: 2.0}).fit(X, y)
    with pytest.raises(InputError, match="two classes"):
        steal_jointly(est, X, y, unknown="class_weight")


def test_cli_unknown(tmp_path, regression):
    X, y = regression
    est = KernelRidge(alpha=0.4, kernel="rbf", gamma=0.6).fit(X, y)
    np.savez(tmp_path / "train.npz", X=X, y=y)
    np.savez(tmp_path / "model.npz", dual_coef=est.dual_coef_)
    from typer.testing import CliRunner

    from hypersteal.cli import app

    out = CliRunner().invoke(app, ["steal", "-a", "kernel_ridge", "--data", str(tmp_path / "train.npz"), "--params",
                                   str(tmp_path / "model.npz"), "--kernel", "rbf", "--unknown", "gamma", "--json"])
    assert out.exit_code == 0, out.output
    found = json.loads(out.stdout)
    assert found["hyperparameters"]["gamma"] == pytest.approx(0.6, rel=1e-6)
    assert found["status"] in (Status.EXACT.value, Status.APPROXIMATE.value)
    refused = CliRunner().invoke(app, ["steal", "-a", "kernel_ridge", "--data", str(tmp_path / "train.npz"),
                                       "--params", str(tmp_path / "model.npz"), "--kernel", "poly",
                                       "--unknown", "gamma,coef0"])
    assert refused.exit_code == 2 and "only their ratio" in refused.output


@pytest.mark.slow
def test_reproduce_section_cells_on_the_tiny_grid():
    """The `unknowns` section of reproduce: each cell ties the stolen values to the scikit-learn fit's own."""
    from hypersteal.experiments import get_settings, unknowns

    settings = get_settings("tiny")
    rows = [{**unknowns.run_cell(spec), "status": "ok"} for spec in unknowns.cells(settings)]
    kinds = {r["kind"] for r in rows}
    assert kinds == {"class_weight", "kernel", "shape"}
    for r in rows:
        if r["kind"] == "class_weight":
            assert r["ratio_covered"] and r["balanced_found"] == r["balanced_truth"]
            assert r["ratio_rel_error"] < 1e-2
        elif r["kind"] == "shape":  # ε in its interval; a value only where that interval is narrow
            assert r["epsilon_covered"], r
            if r["joint_status"] in ("exact", "approximate"):
                assert r["epsilon_rel_error"] <= max(r["epsilon_rel_width"], 1e-9) <= 0.1, r
            else:
                assert r["epsilon_rel_width"] > 0.1 or r["epsilon_rel_error"] == np.inf, r
        else:
            assert r["gamma_covered"] and r["gamma_rel_error"] < 1e-6 and r["identify_right"]
            assert min(s for _, s in r["curve"]) == pytest.approx(r["residual"])
    summary = unknowns.summarise(settings, rows)
    assert summary["class_weight_covered"] == f"{len(summary['class_weight'])}/{len(summary['class_weight'])}"
    (_, _, cw_rows), (_, _, kernel_rows), (_, _, shape_rows) = unknowns.tables(summary)
    assert len(cw_rows) == len(summary["class_weight"]) and len(kernel_rows) == len(summary["kernel"])
    assert len(shape_rows) == len(summary["shape"]) == 2
    assert unknowns.findings(settings, summary)


def test_class_weight_of_a_kernel_learner():
    """Kernel logistic regression with class weights, trained here by Newton's method on its own written-out
    objective Σ_i w_{y_i} CE(y_i, (Kα)_i + c) + λ αᵀKα (an oracle independent of hypersteal's objectives)."""
    from scipy.special import expit
    from sklearn.metrics.pairwise import rbf_kernel

    rng = np.random.default_rng(8)
    X = rng.normal(size=(70, 2))
    y = (X[:, 0] + X[:, 1] ** 2 + 0.3 * rng.normal(size=70) > 1.0).astype(int)
    K, w, lam = rbf_kernel(X, gamma=0.5), np.where(y == 1, 2.5, 1.0), 0.3
    Kc = np.column_stack([K, np.ones(70)])  # scores F = Kc z, z = (α, c)
    R = np.zeros((71, 71))
    R[:70, :70] = 2 * lam * K
    z = np.zeros(71)
    for _ in range(40):
        p = expit(Kc @ z)
        grad = Kc.T @ (w * (p - y)) + R @ z
        hess = Kc.T @ (Kc * (w * p * (1 - p))[:, None]) + R
        z -= np.linalg.lstsq(hess, grad, rcond=None)[0]
    r = steal_jointly("kernel_logistic_l2", X, y, {"dual_coef": z[:-1], "intercept": z[-1]}, unknown="class_weight",
                      kernel="rbf", gamma=0.5)
    assert r.class_weight[1] == pytest.approx(2.5, rel=1e-5), r.summary()
    assert r.hyperparameters["lambda"] == pytest.approx(0.3, rel=1e-5)
    lo, hi = r.intervals["class_weight"][1]
    assert lo <= 2.5 <= hi
