"""Beyond λ (no figure of the paper): class weights, kernel parameters and loss-shape ε stolen together with λ,
and which learner trained the parameters (:func:`hypersteal.identify`), on the bundled datasets — with the
paper's setting (λ the only unknown, everything else known) as the baseline of every cell.

Every fit is a real scikit-learn fit at its default tolerance (``LogisticRegression``, ``LinearSVC``, ``SVC``,
``KernelRidge``, ``SVR``, ``HuberRegressor``). A cell records the relative error of λ (in the estimator's C or
alpha) with everything known, the same with the extra unknowns, the error of each unknown, the relative width of
its interval (how sharply the conditions determine it), and identify's verdict on the same parameters.
"""

from __future__ import annotations

from ._common import load_data, quiet

NAME = "unknowns"
DESCRIPTION = "Beyond λ: class weights, kernel γ/degree and ε stolen with λ, and identify; baseline: λ alone."
PAPER_CLAIM = ("The paper steals λ with everything else known (§III). The same stationarity conditions determine "
               "class weights (linearly, up to the loss's scale) and kernel parameters (by variable projection).")
FIGURES = {"unknowns_profiles.png": "Profile of γ (and of the degree): how sharply the conditions determine them"}


def cells(settings: dict) -> list[dict]:
    cfg = settings["unknowns"]
    seed = settings["random_state"]
    out = []
    for dataset in cfg["class_weight_datasets"]:
        for estimator in cfg["class_weight_estimators"]:
            for weights in cfg["class_weights"]:
                out.append({"kind": "class_weight", "dataset": dataset, "estimator": estimator,
                            "class_weight": weights, "rows": cfg["rows"], "random_state": seed})
    for dataset, estimator, kernel, unknown in cfg["kernel_cells"]:
        out.append({"kind": "kernel", "dataset": dataset, "estimator": estimator, "kernel": kernel,
                    "unknown": unknown, "rows": cfg["kernel_rows"], "random_state": seed})
    for dataset, estimator in cfg.get("shape_cells", []):
        out.append({"kind": "shape", "dataset": dataset, "estimator": estimator, "unknown": "epsilon",
                    "rows": cfg["kernel_rows"], "random_state": seed})
    return out


def _estimator(spec: dict, d: int, y):
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.linear_model import HuberRegressor, LogisticRegression
    from sklearn.svm import SVC, SVR, LinearSVC

    if spec["kind"] == "shape":  # ε: half a standard deviation of the targets for the tube, scikit-learn's for Huber
        return (SVR(C=1.0, epsilon=0.5 * float(y.std())) if spec["estimator"] == "SVR"
                else HuberRegressor(alpha=1e-2, epsilon=1.35, max_iter=1000))

    if spec["kind"] == "class_weight":
        cw = spec["class_weight"]
        cw = {int(k): float(v) for k, v in cw.items()} if isinstance(cw, dict) else cw
        return {"LogisticRegression": lambda: LogisticRegression(C=1.0, class_weight=cw, max_iter=1000),
                "LinearSVC": lambda: LinearSVC(C=0.1, class_weight=cw),
                "SVC": lambda: SVC(C=1.0, class_weight=cw)}[spec["estimator"]]()
    gamma = 1.0 / d  # scikit-learn's "auto"
    if spec["estimator"] == "SVC":
        return SVC(C=1.0, kernel=spec["kernel"], gamma=gamma)
    return KernelRidge(alpha=1.0, kernel=spec["kernel"], gamma=gamma, degree=2)


def _rel(a, b) -> float:
    return abs(float(a) / float(b) - 1.0)


def run_cell(spec: dict) -> dict:
    import time

    import numpy as np
    from sklearn.utils.class_weight import compute_class_weight

    import hypersteal
    from hypersteal.adapters.sklearn import leaf_problems
    from hypersteal.registry import native

    X, y, meta = load_data(spec["dataset"], spec["rows"], spec["random_state"])
    est = _estimator(spec, X.shape[1], y)
    with quiet():
        est.fit(X, y)
        # the stationarity attack alone (no replay of the training), as the joint attack is
        baseline = hypersteal.steal_from_estimator(est, X, y, replay=False)
    native_name = "C" if "C" in baseline.native else "alpha"
    truth = float(getattr(est, native_name))
    # the least-squares point also where λ is only a range (as the joint attack's native values are)
    at = native(type(est).__name__, baseline.algorithm).to_native(baseline.estimate, X.shape[0])[native_name]
    row = {**meta, "kind": spec["kind"], "estimator": spec["estimator"], "native_name": native_name,
           "truth": truth, "baseline_rel_error": _rel(at, truth),
           "baseline_status": str(baseline.status)}
    t0 = time.perf_counter()
    with quiet():
        joint = hypersteal.steal_jointly(est, X, y, unknown=spec.get("unknown", "class_weight"))
    row["joint_seconds"] = time.perf_counter() - t0
    row.update(joint_status=str(joint.status), residual=float(joint.residual))
    if spec["kind"] == "class_weight":
        w = compute_class_weight(est.class_weight, classes=est.classes_, y=y)
        ratio = float(w[1] / w[0])
        label = est.classes_[1].item()
        ratio_found = joint.class_weight[label]
        lo, hi = joint.intervals["class_weight"][label]
        # C at the first class's weight 1 (or at the balanced weights' scale, when recognised as balanced)
        scale = 1.0 if joint.balanced else float(w[0])
        row.update(class_weight=spec["class_weight"], true_ratio=ratio, ratio=ratio_found,
                   ratio_rel_error=_rel(ratio_found, ratio), ratio_covered=bool(lo <= ratio <= hi),
                   ratio_rel_width=float((hi - lo) / ratio), balanced_truth=spec["class_weight"] == "balanced",
                   balanced_found=bool(joint.balanced), joint_rel_error=_rel(joint.native["C"], truth * scale),
                   identify_verdict=None, identify_best=None, identify_right=None)
        return row
    if spec["kind"] == "shape":
        eps = float(joint.hyperparameters["epsilon"])
        lo, hi = joint.intervals["epsilon"]
        row.update(unknown="epsilon", joint_rel_error=_rel(joint.native[native_name], truth), epsilon_true=est.epsilon,
                   epsilon_rel_error=_rel(eps, est.epsilon) if np.isfinite(eps) else float("inf"),
                   epsilon_covered=bool(lo <= est.epsilon <= hi),
                   epsilon_rel_width=float((hi - lo) / est.epsilon) if np.isfinite(hi - lo) else float("inf"))
        return row
    else:
        unknowns = spec["unknown"].split(",")
        row.update(unknown=spec["unknown"], kernel=spec["kernel"],
                   joint_rel_error=_rel(joint.native[native_name], truth))
        for u in unknowns:
            true_u = float(getattr(est, u))
            lo, hi = joint.intervals[u]
            row[f"{u}_true"] = true_u
            row[f"{u}_rel_error"] = _rel(joint.hyperparameters[u], true_u)
            row[f"{u}_covered"] = bool(lo <= true_u <= hi)
            row[f"{u}_rel_width"] = float((hi - lo) / true_u) if np.isfinite(hi - lo) else float("inf")
        key = next(u for u in ("gamma", "coef0") if u in unknowns) if {"gamma", "coef0"} & set(unknowns) else None
        row["curve"] = [[t / (row[f"{key}_true"] if key else 1.0), s] for t, s in joint.curve]
    # which learner: identify on the same parameters, every kernel option known
    problem = leaf_problems(type(est).__name__, est, X, y)[0]
    t0 = time.perf_counter()
    with quiet():
        found = hypersteal.identify(problem.X, problem.y, problem.params, **problem.options)
    row.update(identify_verdict=found.verdict.value, identify_best=found.best,
               identify_right=found.best == baseline.algorithm and found.verdict.value == "identified",
               identify_seconds=time.perf_counter() - t0)
    return row


def summarise(settings: dict, rows: list[dict]) -> dict:
    ok = [r for r in rows if r.get("status") == "ok"]
    cw = [r for r in ok if r["kind"] == "class_weight"]
    kern = [r for r in ok if r["kind"] == "kernel"]
    shape = [r for r in ok if r["kind"] == "shape"]
    return {
        "class_weight": [{k: r[k] for k in ("dataset", "n", "estimator", "class_weight", "baseline_rel_error",
                                             "joint_rel_error", "ratio_rel_error", "ratio_covered", "ratio_rel_width",
                                             "balanced_truth", "balanced_found", "joint_status", "joint_seconds")}
                         for r in cw],
        "kernel": [{k: r.get(k) for k in ("dataset", "n", "estimator", "kernel", "unknown", "baseline_rel_error",
                                           "joint_rel_error", "gamma_rel_error", "gamma_rel_width", "gamma_covered",
                                           "degree_rel_error", "joint_status", "joint_seconds", "identify_verdict",
                                           "identify_best")} for r in kern],
        "shape": [{k: r[k] for k in ("dataset", "n", "estimator", "baseline_rel_error", "joint_rel_error",
                                     "epsilon_true", "epsilon_rel_error", "epsilon_rel_width", "epsilon_covered",
                                     "joint_status", "joint_seconds")} for r in shape],
        "class_weight_covered": f"{sum(r['ratio_covered'] for r in cw)}/{len(cw)}",
        "balanced_right": f"{sum(r['balanced_found'] == r['balanced_truth'] for r in cw)}/{len(cw)}",
        "identify_right": f"{sum(bool(r['identify_right']) for r in kern)}/{len(kern)}",
        "failed": [r.get("error") for r in rows if r.get("status") != "ok"],
    }


def tables(s: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    def e(x):
        if isinstance(x, str):  # results.json writes ±inf as text
            return {"inf": "∞", "-inf": "−∞"}.get(x, x)
        return "—" if x is None else f"{x:.1e}"

    cw = [[f"{r['estimator']} on {r['dataset']} ({r['n']})", str(r["class_weight"]), e(r["baseline_rel_error"]),
           e(r["joint_rel_error"]), e(r["ratio_rel_error"]), e(r["ratio_rel_width"]),
           "yes" if r["balanced_found"] else "no", r["joint_status"]]
          for r in s.get("class_weight", [])]
    kn = [[f"{r['estimator']} {r['kernel']} on {r['dataset']} ({r['n']})", r["unknown"], e(r["baseline_rel_error"]),
           e(r["joint_rel_error"]), e(r["gamma_rel_error"]), e(r["gamma_rel_width"]),
           e(r["degree_rel_error"]), r["joint_status"], f"{r['identify_verdict']} ({r['identify_best']})"]
          for r in s.get("kernel", [])]
    sh = [[f"{r['estimator']} on {r['dataset']} ({r['n']})", f"{r['epsilon_true']:.4g}", e(r["baseline_rel_error"]),
           e(r["joint_rel_error"]), e(r["epsilon_rel_error"]), e(r["epsilon_rel_width"]),
           "yes" if r["epsilon_covered"] else "no", r["joint_status"]] for r in s.get("shape", [])]
    return [("Class weights unknown (default-tolerance fits): relative errors, baseline = weights known",
             ["fit", "class_weight", "C error, weights known", "C error, weights unknown", "weight ratio error",
              "ratio interval width", '"balanced" found', "status"], cw),
            ("Kernel parameters unknown: relative errors, baseline = kernel known",
             ["fit", "unknown", "λ error, kernel known", "λ error, unknown", "γ error", "γ interval width",
              "degree error", "status", "identify"], kn),
            ("Loss-shape ε unknown (SVR's tube, Huber's threshold): relative errors, baseline = ε known",
             ["fit", "true ε", "λ error, ε known", "λ error, ε unknown", "ε error", "ε interval width",
              "ε in interval", "status"], sh)]


def plot(settings: dict, rows: list[dict], out_dir) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fname = "unknowns_profiles.png"
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.9))
    for r in rows:
        if r.get("status") != "ok" or r["kind"] != "kernel" or "gamma" not in r["unknown"]:
            continue
        xs, ys = zip(*sorted(r["curve"]))
        a.loglog(xs, [max(y, 1e-16) for y in ys], "-", lw=1, label=f"{r['estimator']} {r['kernel']}, {r['dataset']}")
    a.axvline(1.0, color="0.5", lw=0.8, ls=":")
    a.set_xlabel("γ / true γ")
    a.set_ylabel("stationarity residual, λ projected out")
    a.set_title("profile of γ (minimum at the truth)", fontsize=9)
    a.legend(fontsize=7)
    cw = [r for r in rows if r.get("status") == "ok" and r["kind"] == "class_weight"]
    labels = [f"{r['estimator'][:6]} {r['dataset']}\n{'bal.' if r['balanced_truth'] else 'dict'}" for r in cw]
    x = range(len(cw))
    b.semilogy([i - 0.15 for i in x], [max(r["baseline_rel_error"], 1e-16) for r in cw], "o", label="C, weights known")
    b.semilogy(list(x), [max(r["joint_rel_error"], 1e-16) for r in cw], "s", label="C, weights unknown")
    b.semilogy([i + 0.15 for i in x], [max(r["ratio_rel_error"], 1e-16) for r in cw], "^", label="weight ratio")
    b.set_xticks(list(x))
    b.set_xticklabels(labels, fontsize=6, rotation=60)
    b.set_ylabel("relative error")
    b.set_title("class weights unknown vs known (default-tolerance fits)", fontsize=9)
    b.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out_dir / fname, dpi=110)
    plt.close(fig)
    return [fname]


def findings(settings: dict, summary: dict) -> list[str]:
    s = summary
    out = [f"Class weights: the true weight ratio lies in the stolen interval in {s['class_weight_covered']} cells; "
           f"\"balanced\" recognised (or correctly not) in {s['balanced_right']}.",
           f"identify named the learner of {s['identify_right']} kernel fits (every kernel option known)."]
    for r in s["kernel"]:
        if r.get("gamma_rel_width") is not None:
            out.append(f"{r['estimator']} ({r['kernel']}) on {r['dataset']}: γ within {r['gamma_rel_error']:.1e} "
                       f"(interval width {r['gamma_rel_width']:.1e} of γ), λ within {r['joint_rel_error']:.1e} "
                       f"(known kernel: {r['baseline_rel_error']:.1e}).")
    for r in s.get("shape", []):
        out.append(f"{r['estimator']} on {r['dataset']}: ε within {r['epsilon_rel_error']:.1e} (interval width "
                   f"{r['epsilon_rel_width']:.1e} of ε, {'holding' if r['epsilon_covered'] else 'missing'} the "
                   f"truth), λ within {r['joint_rel_error']:.1e} (ε known: {r['baseline_rel_error']:.1e}).")
    if s["failed"]:
        out.append(f"{len(s['failed'])} cell(s) failed: {s['failed'][0]}")
    return out
