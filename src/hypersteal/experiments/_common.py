"""Helpers shared by the experiment sections: data, options, predictions, and result records."""

from __future__ import annotations

import math
import time
import warnings
from contextlib import contextmanager

import numpy as np

from ._settings import CLASSIFICATION, KERNEL, NEURAL, REGRESSION

__all__ = [
    "load_data",
    "train_options",
    "steal_options",
    "lam_arg",
    "decision_function",
    "steal_record",
    "jsonable",
    "timer",
    "quiet",
    "paper_name",
]


def paper_name(algorithm: str) -> str:
    """The paper's abbreviation of a canonical learner name (``ridge`` → ``RR``)."""
    from hypersteal.registry import ALGORITHMS

    return ALGORITHMS.get(algorithm, algorithm)


def task_of(algorithm: str) -> str:
    """``"regression"`` or ``"classification"``."""
    from hypersteal.registry import LEARNERS

    return LEARNERS[algorithm].task


def load_data(name: str, rows: int | None, random_state: int = 0):
    """Load a dataset, subsampled to ``rows`` rows when it has more.

    Returns
    -------
    X, y : ndarray
    meta : dict
        ``dataset``, ``n`` (rows used), ``d``, ``n_full`` (rows available), ``subsampled`` (bool).
    """
    from hypersteal import datasets

    full = datasets.load(name)
    n_full = full.n_samples
    if rows is not None and rows < n_full:
        ds = datasets.load(name, subsample=int(rows), random_state=random_state)
    else:
        ds = full
    meta = {"dataset": ds.name, "n": ds.n_samples, "d": ds.n_features, "n_full": n_full,
            "subsampled": ds.n_samples < n_full}
    return ds.X, ds.y, meta


def rows_for(algorithm: str, dataset: str, cfg: dict) -> int | None:
    """Rows a learner uses on a dataset under a section's config (``rows`` and ``kernel_rows``)."""
    rows = cfg.get("rows", {}).get(dataset)
    if algorithm in KERNEL and cfg.get("kernel_rows") is not None:
        rows = cfg["kernel_rows"] if rows is None else min(rows, cfg["kernel_rows"])
    return rows


def train_options(algorithm: str, d: int, settings: dict) -> dict:
    """Options for :func:`hypersteal.learners.train` (kernel and network choices made explicit)."""
    if algorithm in KERNEL:
        return {"kernel": settings["kernel"], "gamma": 1.0 / d}
    if algorithm in NEURAL:
        mlp = settings["mlp"]
        return {"hidden_layer_sizes": tuple(mlp["hidden_layer_sizes"]), "activation": mlp["activation"],
                "random_state": settings["random_state"]}
    return {}


def steal_options(algorithm: str, d: int, settings: dict) -> dict:
    """The model options :func:`hypersteal.steal` needs to rebuild the same objective."""
    if algorithm in KERNEL:
        return {"kernel": settings["kernel"], "gamma": 1.0 / d}
    if algorithm in NEURAL:
        return {"activation": settings["mlp"]["activation"]}
    return {}


def lam_arg(algorithm: str, lam: float):
    """The ``lam`` argument of ``train``: elastic net gets λ₁ = λ₂ = λ."""
    return (lam, lam) if algorithm == "elastic_net" else lam


def decision_function(algorithm: str, params: dict, X_train: np.ndarray, Q: np.ndarray, options: dict):
    """The model's real-valued output on rows ``Q``: predictions (regression) or scores f(x).

    For logistic learners the probability is σ(f); a class is predicted by f > 0.
    """
    if algorithm in KERNEL:
        from hypersteal.kernels import Kernel

        k = Kernel(options.get("kernel", "rbf"), gamma=options.get("gamma"))
        return k(Q, X_train) @ np.asarray(params["dual_coef"], dtype=float) + float(params.get("intercept", 0.0))
    if algorithm in NEURAL:
        from hypersteal.objectives.neural import forward

        a = forward(params, Q, options.get("activation", "tanh"))
        return a[:, 0] if a.shape[1] == 1 else a
    coef = np.asarray(params["coef"], dtype=float)
    return Q @ coef.T + float(np.asarray(params.get("intercept", 0.0)))


def _f(x):
    x = float(x)
    return None if math.isnan(x) else (x if math.isfinite(x) else ("inf" if x > 0 else "-inf"))


def steal_record(result, true_lams: dict) -> dict:
    """What every section stores about one attack.

    ``rel_error`` is max_k |λ̂_k − λ_k|/λ_k over the identifiable λs, and None when λ is not
    identifiable (the interval is then the finding); ``estimate_rel_error`` is the same for the
    least-squares point, defined in every case; ``consistent`` says whether every true λ lies in its
    reported interval (with a relative slack of 1e-6).
    """
    est = {k: float(v) for k, v in result.estimate.items()}
    lams = {k: float(v) for k, v in result.lambdas.items()}
    errs = [abs(est[k] - true_lams[k]) / true_lams[k] for k in true_lams if k in est]
    est_err = max(errs) if errs else float("nan")
    consistent = True
    for k, (lo, hi) in result.intervals.items():
        t = true_lams.get(k)
        if t is not None and not (float(lo) - 1e-6 * t <= t <= float(hi) + 1e-6 * t):
            consistent = False
    return {
        "lambdas": {k: _f(v) for k, v in lams.items()},
        "estimate": {k: _f(v) for k, v in est.items()},
        "intervals": {k: [_f(lo), _f(hi)] for k, (lo, hi) in result.intervals.items()},
        "identifiable": bool(result.identifiable),
        "residual": _f(result.residual),
        "rel_error": _f(est_err) if result.identifiable else None,
        "estimate_rel_error": _f(est_err),
        "consistent": consistent,
        "n_margin": int(getattr(result, "n_margin", 0) or 0),
    }


def true_lambdas(algorithm: str, lam: float, result=None) -> dict:
    """The true λs keyed as the attack names them (``lambda``; ``lambda_l1``/``lambda_l2``)."""
    if algorithm == "elastic_net":
        return {"lambda_l1": lam, "lambda_l2": lam}
    if result is not None and len(result.lambdas) == 1:
        return {next(iter(result.lambdas)): lam}
    return {"lambda": lam}


def jsonable(x):
    """Recursively convert numpy values and non-finite floats for JSON."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return _f(x)
    return x


@contextmanager
def timer():
    """``with timer() as t: ...; t()`` → seconds elapsed (frozen at exit)."""
    start = time.perf_counter()
    box = [None]

    def elapsed():
        return box[0] if box[0] is not None else time.perf_counter() - start

    try:
        yield elapsed
    finally:
        box[0] = time.perf_counter() - start


@contextmanager
def quiet(record: list | None = None):
    """Keep warnings off the console inside a cell; their messages are appended to ``record``.

    A trainer's ConvergenceWarning is worth keeping: the cell's residual then says how far the
    parameters are from a stationary point, and the warning says why.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(all="ignore"):
            yield
    if record is not None:
        for w in caught:
            if issubclass(w.category, (RuntimeWarning, DeprecationWarning, FutureWarning)):
                continue
            msg = f"{w.category.__name__}: {w.message}"
            if msg not in record:
                record.append(msg)


ALL_LEARNERS = REGRESSION + CLASSIFICATION + NEURAL


def light_log_axes(ax, y_ticks: int = 7) -> None:
    """Few, cheap tick labels on log axes (minor ticks off): mathtext tick labels dominate plot time."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    def label(v, _pos):
        e = math.log10(v) if v > 0 else 0.0
        return f"1e{round(e)}" if abs(e - round(e)) < 1e-9 else ""

    for axis, n in ((ax.xaxis, 8), (ax.yaxis, y_ticks)):
        if axis.get_scale() == "log":
            axis.set_major_locator(LogLocator(base=10, numticks=n))
            axis.set_minor_locator(NullLocator())
            axis.set_major_formatter(FuncFormatter(label))
