"""PyTorch: the weight decay of a real nn.Module, recovered with autograd."""

import warnings

import numpy as np
import pytest
import torch
from torch import nn

import hypersteal

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)  # tiny models: threads only add contention


def data(n=120, d=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g)
    y = torch.sin(X @ torch.randn(d, 1, generator=g)) + 0.1 * torch.randn(n, 1, generator=g)
    return X, y


def mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 1))


def train_lbfgs(model, X, y, wd, decayed):
    """Full-batch L-BFGS on mean MSE + (wd/2)·‖θ_D‖² — the stationary point weight_decay=wd aims at."""
    opt = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=3000, tolerance_grad=1e-10,
                            tolerance_change=1e-15, history_size=50, line_search_fn="strong_wolfe")
    params = dict(model.named_parameters())

    def closure():
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(X), y) + wd / 2 * sum((params[n] ** 2).sum() for n in decayed)
        loss.backward()
        return loss

    opt.step(closure)
    return model


@pytest.mark.slow
@pytest.mark.parametrize("wd", [1e-3, 1e-2, 1e-1])
def test_lbfgs_weight_decay_recovered(wd):
    X, y = data()
    model = mlp()
    weights = ["0.weight", "2.weight"]
    train_lbfgs(model, X, y, wd, weights)
    r = hypersteal.steal_from_module(model, nn.MSELoss(), (X, y), decayed=weights)
    assert r.identifiable
    assert r.native["weight_decay"] == pytest.approx(wd, rel=1e-3)
    assert r.lam == pytest.approx(len(X) * wd / 2, rel=1e-3)  # the paper's λ for a summed loss
    assert r.decayed == weights


def test_dataloader_gives_the_full_batch_gradient():
    X, y = data()
    model = train_lbfgs(mlp(), X, y, 1e-2, [n for n, _ in mlp().named_parameters()])
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=37)
    a = hypersteal.steal_from_module(model, nn.MSELoss(), loader)
    b = hypersteal.steal_from_module(model, nn.MSELoss(), (X, y))
    assert a.native["weight_decay"] == pytest.approx(b.native["weight_decay"], rel=1e-10)
    assert b.native["weight_decay"] == pytest.approx(1e-2, rel=1e-3)


def test_adam_early_stopping_is_flagged():
    X, y = data()
    model = mlp()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-2)
    for _ in range(50):  # stopped early, far from stationary
        opt.zero_grad()
        nn.functional.mse_loss(model(X), y).backward()
        opt.step()
    with pytest.warns(UserWarning, match="away from a stationary point"):
        r = hypersteal.steal_from_module(model, nn.MSELoss(), (X, y), decayed=opt)
    assert r.residual > 1e-2
    assert not r.identifiable or abs(r.native["weight_decay"] - 1e-2) / 1e-2 > 1e-3
    assert any("approximate" in w for w in r.warnings)


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", ["Adam", "SGD", "AdamW"])
def test_full_batch_optimizers_to_their_fixed_point(optimizer):
    """Adam and SGD couple weight decay to the gradient: at their fixed point ∇loss + wd·θ = 0, and the stolen
    value's interval holds the truth. Adam's learning rate is annealed (cosine), so that it reaches that fixed point
    (at a constant rate it circles it: next test). AdamW decouples it: its fixed point is a minimum of no
    loss + (wd/2)‖θ‖², so its weight_decay is reported undetermined (it used to read as an ordinary 'not a
    minimum')."""
    X, y = data()
    model, wd = mlp(), 0.05
    opt = getattr(torch.optim, optimizer)(model.parameters(), lr=0.05 if optimizer == "SGD" else 0.01,
                                          weight_decay=wd)
    anneal = torch.optim.lr_scheduler.CosineAnnealingLR(opt, 6000) if optimizer == "Adam" else None
    for _ in range(6000):
        opt.zero_grad()
        nn.functional.mse_loss(model(X), y).backward()
        opt.step()
        if anneal is not None:
            anneal.step()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = hypersteal.steal_from_module(model, nn.MSELoss(), (X, y), decayed=opt)
    if optimizer == "AdamW":
        assert np.isnan(r.native["weight_decay"]) and "weight_decay" not in r.native_intervals
        assert any("AdamW decouples" in w for w in r.warnings)
        return
    lo, hi = r.native_intervals["weight_decay"]
    assert lo <= wd <= hi and hi - lo < 0.2 * wd  # SGD's 6000 steps leave it ~1e-3 from stationary
    if r.status.has_value:
        assert abs(r.native["weight_decay"] - wd) <= hi - lo


@pytest.mark.slow
def test_adam_at_a_constant_rate_gets_an_interval_holding_the_truth():
    """Adam at a constant learning rate never settles: where it stops depends on the last bits of every step (a
    relative residual of 0.017 after 6000 steps on the development machine, 0.12 after 10 000), and wherever that
    is, the interval of consistent weight decay holds the truth, and a value is given only within it."""
    X, y = data()
    model, wd = mlp(), 0.05
    opt = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=wd)
    for _ in range(6000):
        opt.zero_grad()
        nn.functional.mse_loss(model(X), y).backward()
        opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = hypersteal.steal_from_module(model, nn.MSELoss(), (X, y), decayed=opt)
    lo, hi = r.native_intervals["weight_decay"]
    assert lo <= wd <= hi, r.summary()
    if r.status.has_value:
        assert abs(r.native["weight_decay"] - wd) <= hi - lo


def test_errors():
    X, y = data()
    model = mlp()
    with pytest.raises(hypersteal.InputError, match="Unknown parameter name"):
        hypersteal.steal_from_module(model, nn.MSELoss(), (X, y), decayed=["0.wieght"])
    with pytest.raises(hypersteal.InputError, match="reduction='mean' or 'sum'"):
        hypersteal.steal_from_module(model, lambda out, t: ((out - t) ** 2).mean(), (X, y))
    with pytest.raises(TypeError, match="torch.nn.Module"):
        hypersteal.steal_from_module(np.zeros(3), nn.MSELoss(), (X, y))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(hypersteal.InputError, match="decays no parameter"):
        hypersteal.steal_from_module(model, nn.MSELoss(), (X, y), decayed=opt)
