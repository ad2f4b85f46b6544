"""Accuracy with known parameters (the paper's Figs. 3–5).

For every learner on every dataset of its task and every true λ of the grid: train with
:func:`hypersteal.learners.train`, steal with :func:`hypersteal.steal`, and record the relative error
|λ̂ − λ|/λ. Networks run on one regression and one classification dataset. Cells where the
stationarity conditions do not pin λ down (hinge losses on separable data, L1 models above their
threshold λ_max) are recorded as *not identifiable*, with the interval of consistent λ.
"""

from __future__ import annotations

from ._common import (
    lam_arg,
    light_log_axes,
    load_data,
    paper_name,
    quiet,
    rows_for,
    steal_options,
    steal_record,
    timer,
    train_options,
    true_lambdas,
)
from ._settings import CLASSIFICATION, KERNEL, NEURAL, REGRESSION

NAME = "accuracy"
DESCRIPTION = "Figs. 3–5: relative error of λ̂ vs true λ, every learner × dataset, parameters known."
PAPER_CLAIM = (
    "The attack accurately estimates λ for every learner over λ = 10⁻³…10³; RR and KRR most "
    "accurately, because their parameters are exact (analytical) minima, while iteratively trained "
    "learners are off by their solver's tolerance. Three-layer networks (Fig. 5): also accurate. "
    "LASSO points above its threshold are missing."
)
FIGURES = {
    "fig3_accuracy_regression.png": "Fig. 3 — regression learners (RR, LASSO, ENet, KRR)",
    "fig4_accuracy_classification.png": "Fig. 4 — classification learners",
    "fig5_accuracy_neural.png": "Fig. 5 — three-layer neural networks",
}


def cells(settings: dict) -> list[dict]:
    """One spec per (learner, dataset, λ)."""
    cfg = settings["accuracy"]
    lam_grid = cfg["lambdas"]
    common = {"kernel": settings["kernel"], "mlp": settings["mlp"], "random_state": settings["random_state"]}
    specs = []

    def add(algorithms, datasets, rows_fn, lambdas_fn):
        for ds in datasets:
            for alg in algorithms:
                for lam in lambdas_fn(ds):
                    specs.append({"algorithm": alg, "dataset": ds, "rows": rows_fn(alg, ds), "lam": float(lam),
                                  **common})

    lambdas = lambda ds: lam_grid.get(ds, lam_grid["default"])  # noqa: E731
    add(REGRESSION, cfg["regression_datasets"], lambda a, ds: rows_for(a, ds, cfg), lambdas)
    add(CLASSIFICATION, cfg["classification_datasets"], lambda a, ds: rows_for(a, ds, cfg), lambdas)
    from hypersteal import datasets as _ds

    reg = set(_ds.names("regression"))
    for ds in cfg["neural_datasets"]:
        alg = "mlp_regression" if ds in reg else "mlp_classification"
        add([alg], [ds], lambda a, d: cfg["neural_rows"], lambda d: cfg["neural_lambdas"])
    return specs


def run_cell(spec: dict) -> dict:
    """Train at λ, steal, and return the record of one cell."""
    import hypersteal
    from hypersteal import learners

    alg, lam = spec["algorithm"], spec["lam"]
    X, y, meta = load_data(spec["dataset"], spec["rows"], spec["random_state"])
    d = meta["d"]
    notes: list[str] = []
    with quiet(notes):
        with timer() as t_fit:
            params = learners.train(alg, X, y, lam_arg(alg, lam), **train_options(alg, d, spec))
        with timer() as t_att:
            result = hypersteal.steal(alg, X, y, params, **steal_options(alg, d, spec))
    rec = steal_record(result, true_lambdas(alg, lam, result))
    return {**meta, "algorithm": alg, "paper_name": paper_name(alg), "lam": lam, **rec,
            "fit_seconds": t_fit(), "attack_seconds": t_att(), "warnings": notes}


def summarise(settings: dict, rows: list[dict]) -> dict:
    """Headline numbers: per learner the worst and median relative error and the exceptions."""
    import numpy as np

    ok = [r for r in rows if r.get("status") == "ok"]
    per_alg = {}
    for alg in REGRESSION + CLASSIFICATION + NEURAL:
        mine = [r for r in ok if r["algorithm"] == alg]
        if not mine:
            continue
        ident = [r for r in mine if r["identifiable"]]
        errs = [r["rel_error"] for r in ident if r["rel_error"] is not None]
        worst = max(ident, key=lambda r: r["rel_error"]) if ident else None
        per_alg[alg] = {
            "paper_name": paper_name(alg),
            "cells": len(mine),
            "identifiable": len(ident),
            "worst_rel_error": max(errs) if errs else None,
            "worst_at": ({"dataset": worst["dataset"], "lam": worst["lam"]} if worst else None),
            "median_rel_error": float(np.median(errs)) if errs else None,
            "max_residual": max((r["residual"] or 0.0) for r in mine),
            "not_identifiable": [
                {"dataset": r["dataset"], "lam": r["lam"], "intervals": r["intervals"], "consistent": r["consistent"]}
                for r in mine if not r["identifiable"]
            ],
            "datasets": sorted({f"{r['dataset']} ({r['n']}×{r['d']})" for r in mine}),
            "fit_seconds": sum(r["fit_seconds"] for r in mine),
        }
    failed = [{"algorithm": r.get("algorithm"), "dataset": r.get("dataset"), "lam": r.get("lam"),
               "status": r.get("status"), "error": r.get("error")} for r in rows if r.get("status") != "ok"]
    # the trainer stopped far from a stationary point: the attack is then given wrong parameters
    unconverged = [{"algorithm": r["algorithm"], "dataset": r["dataset"], "n": r["n"], "lam": r["lam"],
                    "residual": r["residual"], "fit_seconds": r["fit_seconds"]}
                   for r in ok if (r["residual"] or 0.0) > 1e-3 and (r["identifiable"] or not r["consistent"])]
    inconsistent = []
    for r in ok:
        if not r["consistent"]:
            iv = next(iter(r["intervals"].values()))
            inconsistent.append({"algorithm": r["algorithm"], "dataset": r["dataset"], "lam": r["lam"],
                                 "lam_hat": next(iter(r["estimate"].values())), "interval": iv,
                                 "identifiable": r["identifiable"]})
    exact = [per_alg[a]["worst_rel_error"] for a in ("ridge", "kernel_ridge") if a in per_alg]
    return {"per_algorithm": per_alg, "failed": failed, "inconsistent": inconsistent, "unconverged": unconverged,
            "rr_krr_worst": max(e for e in exact if e is not None) if exact and any(e is not None for e in exact)
            else None}


def _shape(rows) -> str:
    """'(n×d of n_full rows; kernel learners: m)' for a panel title."""
    if not rows:
        return ""
    lin = [r for r in rows if r["algorithm"] not in KERNEL]
    ker = [r for r in rows if r["algorithm"] in KERNEL]
    first = (lin or ker)[0]
    txt = f"({first['n']}×{first['d']}"
    if first["subsampled"]:
        txt += f" of {first['n_full']} rows"
    if lin and ker and ker[0]["n"] != first["n"]:
        txt += f"; kernel: {ker[0]['n']} rows"
    return txt + ")"


def _panel(ax, rows, algorithms, title):
    floor = 1e-17
    for i, alg in enumerate(algorithms):
        mine = sorted((r for r in rows if r["algorithm"] == alg), key=lambda r: r["lam"])
        if not mine:
            continue
        color = f"C{i}"
        xs = [r["lam"] for r in mine if r["identifiable"]]
        ys = [max(r["rel_error"], floor) for r in mine if r["identifiable"]]
        ax.plot(xs, ys, marker="o", ms=4, lw=1.2, color=color, label=paper_name(alg))
        bad = [r["lam"] for r in mine if not r["identifiable"]]
        if bad:
            shift = 10 ** (0.06 * (i - (len(algorithms) - 1) / 2))  # side by side, not on top of each other
            ax.plot([b * shift for b in bad], [1.5e2] * len(bad), ls="none", marker="x", ms=6, mew=2, color=color)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(floor / 3, 3e4)
    ax.axhspan(2e1, 3e4, color="0.93", zorder=0)
    from matplotlib.transforms import blended_transform_factory

    ax.text(0.5, 2.5e3, "× = not identifiable (interval reported)", ha="center", va="center", fontsize=7,
            color="0.3", transform=blended_transform_factory(ax.transAxes, ax.transData))
    ax.set_xlabel("true hyperparameter λ")
    ax.set_ylabel("relative error |λ̂ − λ| / λ")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    light_log_axes(ax)


def plot(settings: dict, rows: list[dict], out_dir) -> list[str]:
    """Figs. 3, 4 and 5 as PNGs in ``out_dir``; returns the file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows if r.get("status") == "ok"]
    cfg = settings["accuracy"]
    files = []
    for fname, algorithms, datasets in (
        ("fig3_accuracy_regression.png", REGRESSION, cfg["regression_datasets"]),
        ("fig4_accuracy_classification.png", CLASSIFICATION, cfg["classification_datasets"]),
    ):
        fig, axes = plt.subplots(1, len(datasets), figsize=(4.6 * len(datasets), 3.9), squeeze=False)
        for ax, ds in zip(axes[0], datasets):
            mine = [r for r in ok if r["dataset"] == ds]
            _panel(ax, mine, algorithms, f"{ds} {_shape(mine)}")
        axes[0][-1].legend(fontsize=7, loc="center right", ncol=1 if len(algorithms) < 5 else 2)
        fig.tight_layout()
        fig.savefig(out_dir / fname, dpi=110)
        plt.close(fig)
        files.append(fname)
    nn = [r for r in ok if r["algorithm"] in NEURAL]
    dsets = list(dict.fromkeys(r["dataset"] for r in nn)) or cfg["neural_datasets"]
    fig, axes = plt.subplots(1, max(len(dsets), 1), figsize=(4.6 * max(len(dsets), 1), 3.9), squeeze=False)
    for ax, ds in zip(axes[0], dsets):
        mine = [r for r in nn if r["dataset"] == ds]
        alg = mine[0]["algorithm"] if mine else ""
        _panel(ax, mine, NEURAL, f"{paper_name(alg)} on {ds}")
    fig.tight_layout()
    fig.savefig(out_dir / "fig5_accuracy_neural.png", dpi=110)
    plt.close(fig)
    files.append("fig5_accuracy_neural.png")
    return files


def findings(settings: dict, summary: dict) -> list[str]:
    """Plain sentences on what the numbers show (for the report)."""
    out = []
    per = summary["per_algorithm"]
    for s in per.values():
        worst = s["worst_rel_error"]
        txt = f"{s['paper_name']}: worst relative error " + (f"{worst:.1e}" if worst is not None else "—")
        if s["worst_at"]:
            txt += f" ({s['worst_at']['dataset']}, λ = {s['worst_at']['lam']:g})"
        txt += f", median {s['median_rel_error']:.1e}" if s["median_rel_error"] is not None else ""
        txt += f" over {s['identifiable']} identifiable of {s['cells']} cells"
        if s["not_identifiable"]:
            bits = []
            for c in s["not_identifiable"]:
                iv = next(iter(c["intervals"].values()))
                bits.append(f"{c['dataset']} λ={c['lam']:g} → [{_fmt(iv[0])}, {_fmt(iv[1])}]")
            txt += "; not identifiable: " + "; ".join(bits)
        out.append(txt + ".")
    wrong = summary.get("inconsistent", [])
    if wrong:
        out.append(
            f"{len(wrong)} cells report a λ (or interval) that excludes the true λ — a confident wrong answer: "
            + "; ".join(f"{paper_name(c['algorithm'])} on {c['dataset']} λ={c['lam']:g} → λ̂={_fmt(c['lam_hat'])}, "
                        f"interval [{_fmt(c['interval'][0])}, {_fmt(c['interval'][1])}]" for c in wrong) + "."
        )
    if summary.get("unconverged"):
        out.append(
            f"{len(summary['unconverged'])} cells got parameters that are not a stationary point (relative "
            "stationarity residual > 1e-3: the reference trainer stopped early), so their error measures the "
            "trainer, not the attack: " + "; ".join(
                f"{paper_name(c['algorithm'])} on {c['dataset']} (n={c['n']}) λ={c['lam']:g}, residual "
                f"{_fmt(c['residual'])}" for c in summary["unconverged"]) + ".")
    timeouts = [c for c in summary["failed"] if c.get("status") == "timeout"]
    errors = [c for c in summary["failed"] if c.get("status") != "timeout"]
    if timeouts:
        out.append(f"{len(timeouts)} cells ran past the time limit ({settings.get('cell_timeout')} s) and are "
                   "missing from the figures: " + "; ".join(
                       f"{paper_name(c['algorithm'])} on {c['dataset']} λ={c['lam']:g}" for c in timeouts) + ".")
    if errors:
        out.append(f"{len(errors)} cells failed (see results.json → accuracy.failed): " + "; ".join(
            f"{paper_name(c['algorithm'])} on {c['dataset']} λ={c['lam']:g}: {c['error']}" for c in errors) + ".")
    return out


def _fmt(x):
    if x is None:
        return "?"
    if isinstance(x, str):
        return "∞" if x == "inf" else x
    return f"{x:.3g}"

