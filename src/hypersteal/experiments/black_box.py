"""Parameters unknown (the paper's Fig. 7): steal the parameters through a prediction API first.

The trained model is hidden behind a closure that answers queries (values for regression, the
positive-class probability for logistic regression, decision scores for SVMs);
:func:`hypersteal.extraction.steal_black_box` extracts the parameters by equation solving
(Tramèr et al., 2016) and then steals λ from them. Recorded: λ̂'s relative error, the queries sent,
the relative parameter error of the extraction, and the known-parameter error for comparison.
"""

from __future__ import annotations

from ._common import (
    decision_function,
    lam_arg,
    load_data,
    paper_name,
    quiet,
    steal_options,
    steal_record,
    timer,
    train_options,
    true_lambdas,
)
from ._settings import KERNEL

NAME = "black_box"
DESCRIPTION = "Fig. 7: parameters unknown — extracted through a prediction API, then λ stolen."
PAPER_CLAIM = (
    "With the parameters first stolen by equation solving (Tramèr et al.), λ is still estimated "
    "accurately: regression learners on Diabetes, L2-LR, L1-LR, SVM-SHL and SVM-RHL on Iris (LASSO "
    "points above its threshold are missing)."
)
FIGURES = {"fig7_black_box.png": "Fig. 7 — parameters stolen through a prediction API first"}


def available() -> tuple[bool, str]:
    """Whether the extraction module can be imported (it is developed separately)."""
    try:
        from hypersteal.extraction import steal_black_box  # noqa: F401
    except Exception as exc:  # ImportError, or an error inside a module being written
        return False, f"hypersteal.extraction is not available yet ({type(exc).__name__}: {exc})"
    return True, ""


def cells(settings: dict) -> list[dict]:
    cfg = settings["black_box"]
    common = {"kernel": settings["kernel"], "mlp": settings["mlp"], "random_state": settings["random_state"]}
    specs = []
    for algs, ds in ((cfg["regression"], cfg["regression_dataset"]),
                     (cfg["classification"], cfg["classification_dataset"])):
        for alg in algs:
            rows = cfg["kernel_rows"] if alg in KERNEL else None
            for lam in cfg["lambdas"]:
                specs.append({"algorithm": alg, "dataset": ds, "rows": rows, "lam": float(lam), **common})
    return specs


def _flat(params) -> list[float]:
    import numpy as np

    parts = []
    for k in sorted(params):
        v = params[k]
        if isinstance(v, (list, tuple)):
            parts += [np.ravel(np.asarray(a, dtype=float)) for a in v]
        else:
            parts.append(np.ravel(np.asarray(v, dtype=float)))
    return np.concatenate(parts)


def run_cell(spec: dict) -> dict:
    import numpy as np
    from scipy.special import expit

    import hypersteal
    from hypersteal import learners
    from hypersteal.extraction import steal_black_box

    alg, lam = spec["algorithm"], spec["lam"]
    X, y, meta = load_data(spec["dataset"], spec["rows"], spec["random_state"])
    d = meta["d"]
    topts, sopts = train_options(alg, d, spec), steal_options(alg, d, spec)
    with quiet():
        params = learners.train(alg, X, y, lam_arg(alg, lam), **topts)
        known = hypersteal.steal(alg, X, y, params, **sopts)
    calls = {"rows": 0}

    def api(Q):
        """The prediction API: the learner's answers, nothing else."""
        Q = np.asarray(Q, dtype=float)
        calls["rows"] += Q.shape[0]
        f = decision_function(alg, params, X, Q, topts)
        return expit(f) if "logistic" in alg else f

    with quiet():
        with timer() as t:
            result = steal_black_box(alg, api, X, y, **sopts)
    ext = result.extraction
    truth, stolen = _flat(params), _flat(ext.params)
    param_err = float(np.linalg.norm(stolen - truth) / max(np.linalg.norm(truth), 1e-300)) \
        if truth.shape == stolen.shape else None
    rec = steal_record(result, true_lambdas(alg, lam, result))
    known_rec = steal_record(known, true_lambdas(alg, lam, known))
    return {**meta, "algorithm": alg, "paper_name": paper_name(alg), "lam": lam, **rec,
            "n_queries": int(result.n_queries), "api_rows_seen": calls["rows"], "param_rel_error": param_err,
            "extraction_residual": float(ext.residual), "output": ext.output,
            "known_rel_error": known_rec["rel_error"], "known_identifiable": known_rec["identifiable"],
            "attack_seconds": t()}


def summarise(settings: dict, rows: list[dict]) -> dict:
    ok = [r for r in rows if r.get("status") == "ok"]
    per = {}
    for alg in dict.fromkeys(r["algorithm"] for r in ok):
        mine = [r for r in ok if r["algorithm"] == alg]
        errs = [r["rel_error"] for r in mine if r["identifiable"] and r["rel_error"] is not None]
        perr = [r["param_rel_error"] for r in mine if r["param_rel_error"] is not None]
        per[alg] = {"paper_name": paper_name(alg), "dataset": mine[0]["dataset"], "n": mine[0]["n"],
                    "cells": len(mine), "identifiable": len(errs),
                    "worst_rel_error": max(errs) if errs else None,
                    "worst_known_rel_error": max((r["known_rel_error"] for r in mine
                                                  if r["known_rel_error"] is not None), default=None),
                    "queries": sorted({r["n_queries"] for r in mine}),
                    "worst_param_rel_error": max(perr) if perr else None,
                    "not_identifiable": [{"lam": r["lam"], "intervals": r["intervals"],
                                          "known_identifiable": r["known_identifiable"]}
                                         for r in mine if not r["identifiable"]]}
    failed = [{"algorithm": r.get("algorithm"), "lam": r.get("lam"), "error": r.get("error")}
              for r in rows if r.get("status") != "ok"]
    return {"per_algorithm": per, "failed": failed}


def plot(settings: dict, rows: list[dict], out_dir) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .accuracy import _panel

    cfg = settings["black_box"]
    ok = [r for r in rows if r.get("status") == "ok"]
    fig, axes = plt.subplots(1, 2, figsize=(9.6, 3.9))
    for ax, algs, ds, tag in ((axes[0], cfg["regression"], cfg["regression_dataset"], "(a) regression"),
                              (axes[1], cfg["classification"], cfg["classification_dataset"], "(b) classification")):
        mine = [r for r in ok if r["algorithm"] in algs]
        _panel(ax, mine, algs, f"{tag} on {ds}, parameters stolen first")
        handles, labels = ax.get_legend_handles_labels()
        q = {paper_name(a): sorted({r["n_queries"] for r in mine if r["algorithm"] == a}) for a in algs}
        labels = [f"{lab} ({'/'.join(map(str, q.get(lab, [])))} queries)" for lab in labels]
        if handles:
            ax.legend(handles, labels, fontsize=7, loc="center right")
    fig.tight_layout()
    fig.savefig(out_dir / "fig7_black_box.png", dpi=110)
    plt.close(fig)
    return ["fig7_black_box.png"]


def findings(settings: dict, summary: dict) -> list[str]:
    out = []
    for s in summary["per_algorithm"].values():
        w = s["worst_rel_error"]
        kw = s["worst_known_rel_error"]
        txt = (f"{s['paper_name']} on {s['dataset']} (n = {s['n']}): worst relative error "
               f"{w:.1e}" if w is not None else f"{s['paper_name']} on {s['dataset']}: no identifiable cell")
        txt += f" with {'/'.join(map(str, s['queries']))} queries"
        if kw is not None:
            txt += f" (parameters known: {kw:.1e})"
        if s["worst_param_rel_error"] is not None:
            txt += f"; extracted parameters off by ≤ {s['worst_param_rel_error']:.1e} (relative)"
        if s["not_identifiable"]:
            lams = ", ".join(f"{c['lam']:g}" for c in s["not_identifiable"])
            same = all(not c["known_identifiable"] for c in s["not_identifiable"])
            txt += f"; not identifiable at λ = {lams}" + (" (as with the parameters known)" if same else "")
        out.append(txt + ".")
    if summary["failed"]:
        out.append(f"{len(summary['failed'])} cells failed (see results.json).")
    return out
