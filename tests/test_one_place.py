"""Defects from knowledge of the learners written in several places (each fails on the old code)."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.svm import SVC

import hypersteal
from hypersteal import InputError, learners
from hypersteal.attack import judge
from hypersteal.result import Status


def test_mlp_round_trip_uses_the_trained_activation():
    """train() fits tanh networks, steal() assumed relu: the round trip read 'not identifiable'."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4))
    y = X @ rng.normal(size=4) + 0.1 * rng.normal(size=80)
    params = learners.train("mlp_regression", X, y, 0.5)
    r = hypersteal.steal("mlp_regression", X, y, params)
    assert r.status is Status.EXACT and r.lam == pytest.approx(0.5, rel=1e-6)
    with pytest.raises(InputError, match="activation='relu' was passed but params"):
        hypersteal.steal("mlp_regression", X, y, params, activation="relu")


def test_a_registered_learner_without_a_trainer_says_so():
    X, y = np.ones((6, 2)), np.array([0, 1] * 3)
    with pytest.raises(InputError, match="no reference trainer for logistic_elastic_net"):
        learners.train("logistic_elastic_net", X, y, (1.0, 1.0))


def test_stacked_one_vs_one_validates_its_options():
    X, y = load_iris(return_X_y=True)
    est = SVC().fit(X, y)
    with pytest.raises(TypeError, match="bogus_option"):
        hypersteal.steal_from_estimator(est, X, y, bogus_option=1)
    with pytest.raises(InputError, match="identifiable_rtol"):
        hypersteal.steal_from_estimator(est, X, y, identifiable_rtol=-5)


def test_stacked_one_vs_one_result_pickles():
    X, y = load_iris(return_X_y=True)
    est = SVC(C=2.0).fit(X, y)
    r = hypersteal.steal_from_estimator(est, X, y)
    back = pickle.loads(pickle.dumps(r))
    assert back.status is r.status and back.intervals == r.intervals


def test_torch_verdict_is_the_shared_rule():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    X = torch.randn(60, 3, dtype=torch.float64)
    y = X @ torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    net = torch.nn.Linear(3, 1).double()
    opt = torch.optim.LBFGS(net.parameters(), max_iter=500, tolerance_grad=1e-14, tolerance_change=0)
    wd = 0.3

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(X).ravel(), y) + wd / 2 * net.weight.pow(2).sum()
        loss.backward()
        return loss

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt.step(closure)
        r = hypersteal.steal_from_module(net, torch.nn.MSELoss(), (X, y.unsqueeze(1)), decayed=["weight"])
    assert r.status is Status.EXACT and r.native["weight_decay"] == pytest.approx(wd, rel=1e-6)
    assert r.decayed == ["weight"]
    assert pickle.loads(pickle.dumps(r)).native == r.native


@pytest.mark.parametrize(
    "estimate, interval, residual, expected",
    [
        ([1.0], (1.0 - 1e-9, 1.0 + 1e-9), 1e-12, Status.EXACT),
        ([1.0], (0.98, 1.02), 0.01, Status.APPROXIMATE),
        ([1.0], (0.5, 2.0), 0.01, Status.INTERVAL_ONLY),
        ([1.0], (0.5, 2.0), 1e-12, Status.NOT_IDENTIFIABLE),
        ([1.0], (2.0, 1.5), 1e-12, Status.NOT_A_MINIMUM),
        ([1.0], (0.5, 2.0), 0.7, Status.NOT_A_MINIMUM),
        ([3.0], (0.5, 2.0), 0.01, Status.NOT_A_MINIMUM),  # λ̂ outside its own interval
    ],
)
def test_one_verdict_rule(estimate, interval, residual, expected):
    assert judge(estimate, [interval], residual)[0] is expected


def test_check_params_changes_neither_the_objective_nor_the_data():
    """check_params chose the loss by setting ``self.loss`` and widened ``data.Y`` for a two-row softmax: one
    objective used on a multi-class model then computed a binary model's loss as a softmax."""
    from hypersteal.objectives import get_objective

    X, y3 = load_iris(return_X_y=True)
    obj = get_objective("logistic_l2")
    multi = obj.prepare(X, y3)
    three = {"coef": np.ones((3, 4)), "intercept": np.zeros(3)}
    obj.check_params(three, multi)
    y2 = (y3 > 0).astype(int)
    binary = obj.prepare(X, y2)
    before = binary.Y.copy()
    two_rows = {"coef": np.vstack([-np.ones(4), np.ones(4)]) / 2, "intercept": np.zeros(2)}
    one_row = {"coef": np.ones((1, 4)), "intercept": np.zeros(1)}
    for params in (two_rows, one_row):
        obj.check_params(params, binary)
        np.testing.assert_array_equal(binary.Y, before)
    # a two-row softmax with rows −w/2 and w/2 is the sigmoid of w: the same loss, whichever came first
    p2, p1 = obj.check_params(two_rows, binary), obj.check_params(one_row, binary)
    assert obj.loss_value(binary, p2) == pytest.approx(obj.loss_value(binary, p1), rel=1e-12)
