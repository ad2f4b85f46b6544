"""Every objective's loss and regulariser gradients against central finite differences."""

import numpy as np
import pytest

from hypersteal import InputError
from hypersteal.objectives import OBJECTIVES, get_objective

rng = np.random.default_rng(0)
N, D = 40, 5
X = rng.normal(size=(N, D))
Y_REG = X @ rng.normal(size=D) + 0.3 * rng.normal(size=N)
Y_BIN = (X[:, 0] + 0.5 * rng.normal(size=N) > 0).astype(int)
Y_MULTI = np.digitize(X[:, 0] + 0.3 * rng.normal(size=N), [-0.5, 0.5])  # three classes


def random_params(objective, data, *, outputs=1, hidden=(4, 3)):
    g = np.random.default_rng(1)
    name = objective.name
    if name.startswith("mlp"):
        sizes = [D, *hidden, outputs]
        return {
            "coefs": [0.5 * g.normal(size=(a, b)) for a, b in zip(sizes[:-1], sizes[1:])],
            "intercepts": [0.1 * g.normal(size=b) for b in sizes[1:]],
        }
    if name.startswith("kernel"):
        return {"dual_coef": 0.3 * g.normal(size=(N, outputs)).squeeze(-1) if outputs == 1
                else 0.3 * g.normal(size=(N, outputs)), "intercept": 0.2}
    coef = 0.4 * g.normal(size=(outputs, D))
    return {"coef": coef, "intercept": 0.1 * g.normal(size=outputs), **FITTED.get(name, {})}


#: positive targets for the GLMs (Poisson y ≥ 0, Gamma y > 0, Tweedie either)
Y_POS = np.exp(0.4 * Y_REG)
GLMS = ("poisson_regression", "gamma_regression", "tweedie_regression")


def targets_for(name, multi=False):
    if name in GLMS:
        return Y_POS
    regression = name in ("ridge", "lasso", "elastic_net", "kernel_ridge", "mlp_regression")
    if regression:
        return Y_REG
    return Y_MULTI if multi else Y_BIN


def fd_check(objective, data, params):
    theta = objective.pack(params)
    h = 1e-6

    def f(t, which):
        p = objective.unpack(t, params)
        return objective.loss_value(data, p) if which == "loss" else objective.penalty_values(data, p)

    num_b = np.empty_like(theta)
    num_A = np.empty((theta.size, len(objective.penalties)))
    for j in range(theta.size):
        tp, tm = theta.copy(), theta.copy()
        tp[j] += h
        tm[j] -= h
        num_b[j] = (f(tp, "loss") - f(tm, "loss")) / (2 * h)
        num_A[j] = (f(tp, "pen") - f(tm, "pen")) / (2 * h)
    b = objective.loss_gradient(data, params)
    A = objective.penalty_gradients(data, params)
    np.testing.assert_allclose(b, num_b, rtol=1e-6, atol=1e-6 * np.max(np.abs(num_b)))
    np.testing.assert_allclose(A, num_A, rtol=1e-6, atol=1e-7)


#: fitted parameters besides the weights and intercept (Huber's scale σ: rows on both sides of ε·σ)
FITTED = {"huber_regression": {"scale": 0.5}}
#: the options a learner cannot do without
REQUIRED = {"tweedie_regression": {"power": 1.5}}
CASES = [(name, REQUIRED.get(name, {})) for name in OBJECTIVES]
CASES += [(k, {"kernel": kern, **extra}) for k in ("kernel_ridge", "kernel_logistic_l2", "kernel_svm_squared_hinge")
          for kern, extra in [("linear", {}), ("poly", {"degree": 2, "gamma": 0.3}),
                              ("sigmoid", {"gamma": 0.1}), ("laplacian", {"gamma": 0.5})]]
CASES += [(m, {"activation": a}) for m in ("mlp_regression", "mlp_classification")
          for a in ("identity", "logistic", "tanh", "relu")]
CASES += [("tweedie_regression", {"power": p, "link": link}) for p, link in
          [(0, "auto"), (0, "log"), (1.5, "log"), (3, "log"), (-1, "log")]]  # identity links with p > 0 need μ > 0:
# tests/test_sklearn_regressors.py


@pytest.mark.parametrize("name,options", CASES, ids=[f"{n}-{o}" for n, o in CASES])
def test_gradients_match_finite_differences(name, options):
    objective = get_objective(name, **options)
    data = objective.prepare(X, targets_for(name))
    params = objective.check_params(random_params(objective, data), data)
    fd_check(objective, data, params)


@pytest.mark.parametrize("name", ["logistic_l2", "svm_squared_hinge", "mlp_classification"])
def test_multiclass_gradients(name):
    objective = get_objective(name)
    data = objective.prepare(X, Y_MULTI)
    params = objective.check_params(random_params(objective, data, outputs=3), data)
    fd_check(objective, data, params)


def test_multi_output_ridge_and_penalised_intercept():
    Y2 = np.column_stack([Y_REG, -2 * Y_REG + 1])
    objective = get_objective("ridge")
    data = objective.prepare(X, Y2)
    fd_check(objective, data, objective.check_params(random_params(objective, data, outputs=2), data))
    objective = get_objective("svm_squared_hinge", intercept_scaling=3.0)
    data = objective.prepare(X, Y_BIN)
    params = objective.check_params({"coef": np.ones(D) * 0.2, "intercept": 0.6}, data)
    assert params["coef"].shape == (1, D + 1) and params["coef"][0, -1] == pytest.approx(0.2)
    fd_check(objective, data, params)


def test_kernel_reduced_form_is_full_form_without_K():
    objective = get_objective("kernel_ridge", kernel="rbf", gamma=0.2)
    data = objective.prepare(X, Y_REG)
    params = objective.check_params(random_params(objective, data), data)
    full = objective.system(data, params, form="full")
    reduced = objective.system(data, params, form="reduced")
    n = data.K.shape[0]  # rows after n: the intercept's equation ∂loss/∂c = 0, the same in both forms
    assert len(full.b) == len(reduced.b) == n + 1
    np.testing.assert_allclose(data.K @ reduced.b[:n], full.b[:n], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(data.K @ reduced.A[:n], full.A[:n], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(reduced.b[n:], full.b[n:], rtol=1e-12)
    assert not np.any(full.A[n:]) and not np.any(reduced.A[n:])


def test_objective_value_is_loss_plus_penalties():
    objective = get_objective("elastic_net")
    data = objective.prepare(X, Y_REG)
    params = objective.check_params({"coef": np.arange(D) - 2.0, "intercept": 0.5}, data)
    w = np.arange(D) - 2.0
    expected = np.sum((Y_REG - X @ w - 0.5) ** 2) + 0.3 * np.abs(w).sum() + 0.7 * (w @ w)
    assert objective.value(data, params, [0.3, 0.7]) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("loss", ["squared", "logistic", "squared_hinge"])
def test_loss_second_derivatives_match_finite_differences(loss):
    """The losses' per-score ∂²ℓ/∂f² (Newton's method in the trainers) against differences of the gradient,
    away from the squared hinge's kink."""
    from hypersteal.objectives.base import LOGISTIC, SquaredHingeLoss, SquaredLoss

    L = {"squared": SquaredLoss(), "logistic": LOGISTIC, "squared_hinge": SquaredHingeLoss()}[loss]
    F = np.random.default_rng(2).normal(size=50) * 2
    Y = {"squared": np.random.default_rng(3).normal(size=50), "logistic": (F > 0.3).astype(float),
         "squared_hinge": np.where(F > 0.3, 1.0, -1.0)}[loss]
    keep = np.abs(Y * F - 1) > 1e-3  # off the squared hinge's kink
    F, Y = F[keep], Y[keep]
    h = 1e-6
    fd = (L.grad(F + h, Y) - L.grad(F - h, Y)) / (2 * h)
    g, H = L.derivatives(F, Y)
    assert np.allclose(H, fd, rtol=1e-6, atol=1e-8)
    assert np.allclose(H, L.hess(F, Y)) and np.allclose(g, L.grad(F, Y))
    fd1 = np.array([(L.value(F + h * e, Y) - L.value(F - h * e, Y)) / (2 * h) for e in np.eye(len(F))])
    assert np.allclose(g, fd1, rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------------------------------------ known row weights
WEIGHTS = np.random.default_rng(5).uniform(0.1, 3.0, N)
WEIGHTED = [name for name in OBJECTIVES if get_objective(name).accepts_weights]


def test_weights_are_taken_by_the_linear_and_kernel_learners():
    assert {"ridge", "logistic_l2", "logistic_l1", "logistic_elastic_net", "svm_squared_hinge", "svm_hinge",
            "kernel_ridge", "kernel_logistic_l2", "kernel_svm_hinge"} <= set(WEIGHTED)
    objective = get_objective("mlp_regression")
    with pytest.raises(InputError, match="mlp_regression does not take sample_weight"):
        objective.weigh(objective.prepare(X, Y_REG), WEIGHTS)


@pytest.mark.parametrize("name", WEIGHTED)
def test_weighted_gradients_match_finite_differences(name):
    """Σ w_i ℓ_i: the gradient X̃ᵀ(w ∘ ∂ℓ/∂f) against differences of the weighted loss."""
    objective = get_objective(name, **REQUIRED.get(name, {}))
    data = objective.weigh(objective.prepare(X, targets_for(name)), WEIGHTS)
    params = objective.check_params(random_params(objective, data), data)
    fd_check(objective, data, params)
    plain = objective.prepare(X, targets_for(name))  # and the weights do change it
    assert not np.allclose(objective.loss_gradient(plain, params), objective.loss_gradient(data, params))


@pytest.mark.parametrize("name", ["logistic_l2", "svm_squared_hinge", "svm_hinge"])
def test_weighted_multiclass_gradients_per_row_and_per_output(name):
    objective = get_objective(name)
    params = None
    for w in (WEIGHTS, np.random.default_rng(6).uniform(0.1, 3.0, (N, 3))):
        if name == "logistic_l2" and w.ndim == 2:
            continue  # a softmax row has one weight
        data = objective.weigh(objective.prepare(X, Y_MULTI), w)
        params = params or objective.check_params(random_params(objective, data, outputs=3), data)
        fd_check(objective, data, params)


@pytest.mark.parametrize("name", ["svm_hinge", "kernel_svm_hinge"])
def test_weighted_hinge_margin_columns_scale_by_the_weight(name):
    """A margin point's β column is w_i times its unweighted column, and is what it adds to b when inside."""
    objective = get_objective(name, fit_intercept=True)
    plain = objective.prepare(X, Y_BIN)
    params = objective.check_params(random_params(objective, plain), plain)
    delta = objective.margins(plain, params)
    margin = np.zeros(delta.shape, dtype=bool)
    i = int(np.flatnonzero(delta[:, 0] < 0)[0])  # a point inside the margin, declared on it
    margin[i, 0] = True
    weighted = objective.weigh(objective.prepare(X, Y_BIN), WEIGHTS)
    kw = {} if name == "svm_hinge" else {"form": "full"}
    s0 = objective.system(plain, params, margin=margin, **kw)
    s1 = objective.system(weighted, params, margin=margin, **kw)
    np.testing.assert_allclose(s1.B[:, 0], WEIGHTS[i] * s0.B[:, 0], rtol=1e-12)
    inside = objective.system(weighted, params, **kw)  # the same point, inside: β = 1
    np.testing.assert_allclose(s1.b + s1.B[:, 0], inside.b, rtol=1e-10, atol=1e-12)


def test_unit_weights_change_nothing_and_bad_weights_are_refused():
    objective = get_objective("logistic_l2")
    data = objective.prepare(X, Y_BIN)
    params = objective.check_params(random_params(objective, data), data)
    ones = objective.weigh(objective.prepare(X, Y_BIN), np.ones(N))
    np.testing.assert_allclose(objective.loss_gradient(ones, params), objective.loss_gradient(data, params),
                               rtol=1e-15)
    for bad, match in ((np.ones(N - 1), "has 39 values but X has 40 rows"), (-WEIGHTS, "negative"),
                       (np.full(N, np.nan), "NaN or infinite"), (np.ones((N, 2)), "2 columns but the model has 1")):
        with pytest.raises(InputError, match=match):
            objective.weigh(objective.prepare(X, Y_BIN), bad)
    with pytest.raises(InputError, match="one weight per row, not one per row and output"):
        objective.weigh(objective.prepare(X, Y_MULTI), np.ones((N, 3)))


@pytest.mark.parametrize("name,y_kind", [("mlp_regression", "reg"), ("mlp_classification", "bin"),
                                         ("mlp_classification", "multi")])
def test_network_gradient_in_row_blocks(name, y_kind, monkeypatch):
    """The network's gradient summed over row blocks (a partial last one) is the whole-data gradient, and matches
    finite differences."""
    import hypersteal.objectives.neural as neural

    g = np.random.default_rng(5)
    Xb = g.normal(size=(300, D))
    yb = {"reg": Xb @ g.normal(size=D), "bin": (Xb[:, 0] > 0).astype(int),
          "multi": np.digitize(Xb[:, 0], [-0.5, 0.5])}[y_kind]
    objective = get_objective(name, activation="tanh")
    data = objective.prepare(Xb, yb)
    params = objective.check_params(random_params(objective, data, outputs=3 if y_kind == "multi" else 1), data)
    whole = objective.loss_gradient(data, params)  # 300 rows: one block at the default size
    monkeypatch.setattr(neural, "ROW_BLOCK_BYTES", 1)  # blocks of 64 rows: 4 whole and one of 44
    blocked = objective.loss_gradient(data, params)
    np.testing.assert_allclose(blocked, whole, rtol=1e-12, atol=1e-12 * np.max(np.abs(whole)))
    fd_check(objective, data, params)
