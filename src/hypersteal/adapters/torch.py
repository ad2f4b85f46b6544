"""Steal the L2 coefficient (``weight_decay``) of a PyTorch module trained to a stationary point.

A module trained with ``loss_fn`` and weight decay ``wd`` on the parameters θ_D (an optimizer's
``weight_decay``, or an explicit ``(wd/2)·‖θ_D‖²`` added to the loss) stops where

    ∇_θD loss_fn(module(X), y) + wd · θ_D = 0.

The loss gradient comes from autograd over the whole dataset (tensors or a ``DataLoader``); the
equations are solved by the same least-squares estimator as :func:`hypersteal.steal`. In the
paper's convention (a summed loss, λ‖θ‖² with no ½) this is λ = n·wd/2 for a mean-reduced loss
and λ = wd/2 for a summed one. Torch is imported lazily: ``pip install torch==2.13.0`` (CPU).
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import _policy
from .._validation import InputError
from ..attack import judge, solve_system
from ..attack.verdict import _widen
from ..objectives import System
from ..result import StealResult

__all__ = ["steal_from_module"]


def _import_torch():
    try:
        import torch
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "steal_from_module needs PyTorch: pip install torch==2.13.0 (the CPU build), or "
            "pip install 'hypersteal[torch]' after it."
        ) from None
    return torch


def _decayed_names(module, decayed, torch):
    names = dict(module.named_parameters())
    if decayed is None:
        return [n for n, p in names.items() if p.requires_grad]
    if isinstance(decayed, torch.optim.Optimizer):
        ids = {id(p) for g in decayed.param_groups if g.get("weight_decay", 0) > 0 for p in g["params"]}
        chosen = [n for n, p in names.items() if id(p) in ids]
        if not chosen:
            raise InputError(
                "The optimizer decays no parameter (every param group has weight_decay=0); pass decayed= "
                "with the names of the parameters an explicit L2 term penalised."
            )
        return chosen
    chosen = list(decayed)
    unknown = [n for n in chosen if n not in names]
    if unknown:
        raise InputError(f"Unknown parameter name(s) {unknown}; the module has {list(names)}.")
    return chosen


def _batches(data, torch):
    if isinstance(data, tuple) and len(data) == 2:
        yield data
        return
    if isinstance(data, torch.utils.data.DataLoader):
        yield from data
        return
    raise TypeError("data must be a tuple (X, y) of tensors or a torch.utils.data.DataLoader.")


def steal_from_module(module, loss_fn, data, *, decayed=None, reduction=None, identifiable_rtol=1e-6):
    """Recover the weight decay a PyTorch module was trained with.

    Parameters
    ----------
    module : torch.nn.Module
        The trained model, in the state training stopped in.
    loss_fn : callable
        The training loss, ``loss_fn(module(X), y)`` (e.g. ``nn.MSELoss()``), without the L2 term.
    data : (X, y) tensors or DataLoader
        The training data. With a DataLoader and a mean-reduced loss, batch losses are weighted by
        batch size, so the gradient is that of the loss over the whole dataset.
    decayed : list of str or torch.optim.Optimizer, optional
        The parameters the L2 term acts on: parameter names, or the optimizer (its param groups
        with ``weight_decay > 0``). Default: every trainable parameter (torch's default).
    reduction : {"mean", "sum"}, optional
        How ``loss_fn`` reduces; read from ``loss_fn.reduction`` when it has one.

    Returns
    -------
    StealResult
        ``.native = {"weight_decay": wd}``, ``.lambdas = {"lambda": λ}`` in the paper's
        convention, ``.decayed`` (the parameter names that gave equations), and the residual.
    """
    torch = _import_torch()
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}.")
    reduction = reduction or getattr(loss_fn, "reduction", None)
    if reduction not in ("mean", "sum"):
        raise InputError(
            "Say how loss_fn reduces over rows: pass reduction='mean' or 'sum' (a loss without a .reduction "
            "attribute cannot be read)."
        )
    names = _decayed_names(module, decayed, torch)
    params = dict(module.named_parameters())
    grads = {n: torch.zeros_like(params[n]) for n in names}
    n_rows = 0
    was_training = module.training
    module.eval()
    try:
        batches = list(_batches(data, torch)) if not isinstance(data, tuple) else [data]
        total = sum(len(b[0]) for b in batches)
        for X, y in batches:
            module.zero_grad(set_to_none=True)
            loss = loss_fn(module(X), y)
            if reduction == "mean":
                loss = loss * (len(X) / total)  # weight by batch size: the mean over all rows
            loss.backward()
            for n in names:
                if params[n].grad is not None:
                    grads[n] += params[n].grad.detach()
            n_rows += len(X)
    finally:
        module.zero_grad(set_to_none=True)
        module.train(was_training)
    if n_rows == 0:
        raise InputError("data holds no rows.")
    b = np.concatenate([grads[n].double().cpu().numpy().ravel() for n in names])
    theta = np.concatenate([params[n].detach().double().cpu().numpy().ravel() for n in names])
    sol = solve_system(System(b=b, A=theta[:, None]))
    wd = float(sol.lam[0])
    lo, hi = _widen(sol.intervals[0], wd, sol.residual)
    status, _ = judge([wd], [(lo, hi)], sol.residual, identifiable_rtol=identifiable_rtol, structural=False)
    identifiable = status.has_value
    to_paper = (n_rows / 2.0) if reduction == "mean" else 0.5
    notes = []
    decoupled = isinstance(decayed, torch.optim.AdamW)
    if decoupled:
        msg = ("AdamW decouples its weight decay from the gradient (θ ← θ − lr·(Adam step) − lr·wd·θ): where it stops "
               "is not a minimum of loss + (wd/2)‖θ‖², so λ here (the L2 weight the parameters are stationary for, "
               "if any) is not its weight_decay, which is left undetermined; with Adam (coupled decay) or SGD it is.")
        notes.append(msg)
        warnings.warn(msg, stacklevel=2)
    if sol.residual > _policy.NOT_STATIONARY_RESIDUAL:
        msg = (
            f"the module is {sol.residual:.2g} (relative residual) away from a stationary point (early stopping, "
            "Adam, mini-batch noise?): the stolen weight decay is approximate."
        )
        notes.append(msg)
        warnings.warn(msg, stacklevel=2)
    result = StealResult(
        algorithm="torch_module",
        lambdas={"lambda": wd * to_paper if identifiable else float("nan")},
        estimate={"lambda": wd * to_paper},
        intervals={"lambda": (lo * to_paper, hi * to_paper)},
        identifiable=identifiable,
        residual=sol.residual,
        n_equations=b.size,
        native={"weight_decay": wd if identifiable and not decoupled else float("nan")},
        native_intervals={"weight_decay": (lo, hi)} if lo <= hi and not decoupled else {},
        warnings=notes,
        status=status,
        interval_source="round-off" if sol.residual <= 1e-9 else "residual",
        decayed=names,
    )
    return result
