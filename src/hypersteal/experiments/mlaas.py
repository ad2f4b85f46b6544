"""The MLaaS "Train-Steal-Retrain" study (the paper's Figs. 8–10, §IV-C) on hypersteal's own platform.

Each cell starts an embedded platform (:mod:`hypersteal.mlaas`: FastAPI service on a loopback port,
SQLite store, worker processes that meter CPU seconds) and runs one study of
:mod:`hypersteal.mlaas.study` against it through the HTTP client:

* ``fig8_10`` — RR on UJIIndoorLoc and SVM-SHL on Bank: M1 (Protocol I, all data), M2 (Protocol I on a
  q% sample) and M3 (Protocol I on q%, steal λ, Protocol II on all data), q over the mode's grid;
  Fig. 8 (M3 vs M1) and Fig. 10 (M2 vs M3) are drawn from the same runs.
* ``fig9`` — M3's speedup against the training-set size on the paper's synthetic Gaussians.
* ``amazon`` — a black-box, Amazon-ML-like platform (SGD-trained L1-/L2-LR, predictions only): M3
  extracts the sample model's parameters through the billed prediction API before stealing λ.

The cells run in this process (the platform starts its own worker processes, and its timings
should not share the cores with other cells).
"""

from __future__ import annotations

from ._common import light_log_axes

NAME = "mlaas"
DESCRIPTION = "Figs. 8–10: MLaaS Train-Steal-Retrain (M1/M2/M3) on a real metered platform, and a black-box case."
PAPER_CLAIM = (
    "M3 (Train-Steal-Retrain) learns a model as accurate as M1 at a fraction of the cost: RR on "
    "UJIIndoorLoc ≈ 8× faster at q = 3% with ≈ 0 relative MSE error; SVM-SHL on Bank ≈ 15× faster at "
    "q = 1%; the speedup grows with the data, to ≈ 300× on 10⁷ synthetic rows (Fig. 9); M2 is cheaper "
    "still but loses accuracy (Fig. 10). On Amazon ML (black box), M3 saves compute too."
)
FIGURES = {
    "fig8_train_steal_retrain.png": "Fig. 8 — M3 vs M1: relative test error and speedup against q",
    "fig9_speedup_vs_size.png": "Fig. 9 — M3's speedup against the number of training rows",
    "fig10_m2_vs_m3.png": "Fig. 10 — M2 vs M3 against M1",
}
#: The platform's worker processes cannot start inside a daemonic cell worker; run in this process.
IN_PROCESS = True

#: Fig. 8's headline fractions in the paper, per panel.
HEADLINE_Q = {"ujiindoorloc": 0.03, "bank": 0.01}


def available() -> tuple[bool, str]:
    try:
        import fastapi  # noqa: F401
        import httpx  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        return False, (f"not available: the platform needs the 'server' extra ({exc.name} is missing); "
                       "install it with pip install 'hypersteal[server]'")
    return True, ""


def cells(settings: dict) -> list[dict]:
    s = settings["mlaas"]
    out = []
    if s.get("fig8_fractions"):
        out.append({"part": "fig8_10", "fractions": list(s["fig8_fractions"]), "subsample": s.get("subsample"),
                    "mode": s["study_mode"]})
    if s.get("fig9_max_n"):
        out.append({"part": "fig9", "max_n": int(s["fig9_max_n"]), "ladder": s.get("fig9_ladder"),
                    "mode": s["study_mode"]})
    if s.get("amazon_fractions"):
        out.append({"part": "amazon", "fractions": list(s["amazon_fractions"]), "subsample": s.get("subsample"),
                    "passes": int(s.get("amazon_passes", 10)), "mode": s["study_mode"]})
    return out


def run_cell(spec: dict) -> dict:
    from hypersteal.mlaas import study

    from ._common import quiet

    notes: list[str] = []
    with quiet(notes):
        if spec["part"] == "fig8_10":
            f8 = study.fig8(spec["mode"], fractions=spec["fractions"], subsample=spec["subsample"])
            f10 = study.fig10(spec["mode"], fractions=spec["fractions"], subsample=spec["subsample"])
            out = {"fig8": f8, "fig10": f10}
        elif spec["part"] == "fig9":
            ladder = tuple(spec["ladder"]) if spec.get("ladder") else None
            out = {"fig9": study.fig9(spec["mode"], max_n=spec["max_n"], ladder=ladder)}
        elif spec["part"] == "amazon":
            out = {"amazon": study.amazon_case(spec["mode"], fractions=spec["fractions"],
                                               subsample=spec["subsample"], passes=spec["passes"])}
        else:
            raise ValueError(f"unknown part {spec['part']!r}")
    return {"part": spec["part"], **out, "warnings": notes}


def _part(rows, name):
    for r in rows:
        if r.get("status") == "ok" and r.get("part") == name:
            return r
    return None


def summarise(settings: dict, rows: list[dict]) -> dict:
    out: dict = {}
    r = _part(rows, "fig8_10")
    if r:
        panels = []
        for p in r["fig8"]["panels"]:
            q0 = HEADLINE_Q.get(p["dataset"])
            head = min(p["runs"], key=lambda x: abs(x["q"] - q0)) if q0 is not None else p["runs"][0]
            panels.append({
                "dataset": p["dataset"], "algorithm": p["algorithm"], "metric": p["metric"],
                "n_train": p["n_train"], "M1_metric": p["M1"]["metric"],
                "M1_compute_seconds": p["M1"]["compute_seconds"],
                "M1_lambda": p["M1"]["lam"], "q": p["q"],
                "speedup_M3": [x["speedup"]["M3"] for x in p["runs"]],
                "speedup_M2": [x["speedup"]["M2"] for x in p["runs"]],
                "relative_error_M3": [x["relative_error"]["M3"] for x in p["runs"]],
                "relative_error_M2": [x["relative_error"]["M2"] for x in p["runs"]],
                "lam_stolen": [x["lam_stolen"] for x in p["runs"]],
                "lam_tuned_on_sample": [x["lam_tuned_on_sample"] for x in p["runs"]],
                "steal_relative_error": [x["steal_relative_error"] for x in p["runs"]],
                "headline": {"q": head["q"], "speedup_M3": head["speedup"]["M3"],
                             "relative_error_M3": head["relative_error"]["M3"],
                             "speedup_M2": head["speedup"]["M2"], "relative_error_M2": head["relative_error"]["M2"]},
            })
        out["fig8"] = {"panels": panels, "platform": r["fig8"]["platform"], "subsample": r["fig8"].get("subsample")}
    r = _part(rows, "fig9")
    if r:
        f = r["fig9"]
        out["fig9"] = {"n": f["n"], "speedup_M3": f["speedup_M3"], "q": f["q"], "algorithm": f["algorithm"],
                       "tolerance": f["tolerance"],
                       "relative_error_M3": [pt["relative_error_M3"] for pt in f["points"]],
                       "met_tolerance": [pt["met_tolerance"] for pt in f["points"]],
                       "M1_compute_seconds": [pt["M1_compute_seconds"] for pt in f["points"]],
                       # Protocol I trains every grid value on every fold, then once more on all rows
                       "protocol_one_fits": len(f["platform"]["grid"]) * f["platform"]["folds"] + 1,
                       "protocol_one_full_equivalents": len(f["platform"]["grid"]) * (f["platform"]["folds"] - 1) + 1}
    r = _part(rows, "amazon")
    if r:
        a = r["amazon"]
        out["amazon"] = {"passes": a["passes"], "price_list": a["platform"]["price_list"], "panels": [
            {"dataset": p["dataset"], "algorithm": p["algorithm"], "n_train": p["n_train"], "q": p["q"],
             "M1_accuracy": p["M1"]["metric"], "M1_bill": p["M1"]["bill"],
             "speedup_M3": p["speedup_M3"], "bill_ratio_M3": p["bill_ratio_M3"],
             "relative_error_M3": p["relative_error_M3"],
             "queries": [x["queries"] for x in p["runs"]], "query_bill": [x["query_bill"] for x in p["runs"]],
             "M3_bill": [x["bill"]["M3"] for x in p["runs"]],
             "steal_relative_error": [x["steal_relative_error"] for x in p["runs"]]}
            for p in a["panels"]]}
    failed = [{"part": r.get("part"), "status": r.get("status"), "error": r.get("error")}
              for r in rows if r.get("status") != "ok"]
    if failed:
        out["failed"] = failed
    return out


def _floor(values, floor=1e-17):
    return [max(float(v), floor) if v is not None else float("nan") for v in values]


def plot(settings: dict, rows: list[dict], out_dir) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = summarise(settings, rows)
    written = []
    if "fig8" in s:
        panels = s["fig8"]["panels"]
        fig, axes = plt.subplots(len(panels), 2, figsize=(10, 3.4 * len(panels)), squeeze=False)
        for row, p in zip(axes, panels):
            qs = [100 * q for q in p["q"]]
            row[0].semilogy(qs, _floor(p["relative_error_M3"]), "o-", label="M3 vs M1")
            row[0].set_ylim(1e-17, 1)
            row[0].set_ylabel(f"relative test {p['metric'].upper()} error")
            row[0].set_title(f"{p['algorithm']} on {p['dataset']} ({p['n_train']} training rows)", fontsize=9)
            row[0].text(0.02, 0.03, "0 is drawn at 1e-17", transform=row[0].transAxes, fontsize=7, color="0.4")
            row[1].plot(qs, p["speedup_M3"], "o-", color="C2", label="M3 speedup")
            row[1].set_ylabel("speedup (compute M1 / M3)")
            for ax in row:
                ax.set_xlabel("q (% of the training set given to Protocol I)")
                ax.grid(alpha=0.3)
                ax.legend(fontsize=8)
            light_log_axes(row[0])
        fig.tight_layout()
        fig.savefig(out_dir / "fig8_train_steal_retrain.png", dpi=110)
        plt.close(fig)
        written.append("fig8_train_steal_retrain.png")

        fig, axes = plt.subplots(len(panels), 2, figsize=(10, 3.4 * len(panels)), squeeze=False)
        for row, p in zip(axes, panels):
            qs = [100 * q for q in p["q"]]
            for k, c in (("M2", "C1"), ("M3", "C0")):
                row[0].semilogy(qs, _floor(p[f"relative_error_{k}"]), "o-", color=c, label=f"{k} vs M1")
                row[1].plot(qs, p[f"speedup_{k}"], "o-", color=c, label=k)
            row[0].set_ylim(1e-17, 10)
            row[0].set_ylabel(f"relative test {p['metric'].upper()} error")
            row[1].set_ylabel("speedup over M1")
            row[0].set_title(f"{p['algorithm']} on {p['dataset']}: M2 (sample only) vs M3", fontsize=9)
            row[0].text(0.02, 0.03, "0 is drawn at 1e-17", transform=row[0].transAxes, fontsize=7, color="0.4")
            for ax in row:
                ax.set_xlabel("p = q (% of the training set)")
                ax.grid(alpha=0.3)
                ax.legend(fontsize=8)
            light_log_axes(row[0])
        fig.tight_layout()
        fig.savefig(out_dir / "fig10_m2_vs_m3.png", dpi=110)
        plt.close(fig)
        written.append("fig10_m2_vs_m3.png")
    if "fig9" in s:
        f = s["fig9"]
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.loglog(f["n"], f["speedup_M3"], "o-", label=f"M3 speedup ({f['algorithm']})")
        for n, sp, q in zip(f["n"], f["speedup_M3"], f["q"]):
            ax.annotate(f"q={100 * q:g}%", (n, sp), textcoords="offset points", xytext=(4, -10), fontsize=7)
        ax.set_xlabel("training rows (synthetic Gaussians, d = 10)")
        ax.set_ylabel("speedup (compute M1 / M3)")
        ax.set_title(f"smallest q with relative ACC error < {100 * f['tolerance']:g}%", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        light_log_axes(ax)
        fig.tight_layout()
        fig.savefig(out_dir / "fig9_speedup_vs_size.png", dpi=110)
        plt.close(fig)
        written.append("fig9_speedup_vs_size.png")
    return written


def findings(settings: dict, summary: dict) -> list[str]:
    out = []
    if "fig8" in summary:
        for p in summary["fig8"]["panels"]:
            h = p["headline"]
            out.append(
                f"Fig. 8, {p['algorithm']} on {p['dataset']} ({p['n_train']} training rows): at q = {100 * h['q']:g}% "
                f"M3 is {h['speedup_M3']:.1f}× faster than M1 with relative test {p['metric'].upper()} error "
                f"{h['relative_error_M3']:.1e}; over q = {', '.join(f'{100 * q:g}' for q in p['q'])}% the speedup "
                f"runs {min(p['speedup_M3']):.1f}–{max(p['speedup_M3']):.1f}× and the error stays ≤ "
                f"{max(p['relative_error_M3']):.1e}. λ stolen from the sample model matches the platform's secret "
                f"choice to ≤ {max(e for e in p['steal_relative_error'] if e is not None):.1e} (relative).")
        for p in summary["fig8"]["panels"]:
            h = p["headline"]
            out.append(
                f"Fig. 10, {p['dataset']}: at p = q = {100 * h['q']:g}% M2 is {h['speedup_M2']:.1f}× faster than M1 "
                f"but off by {h['relative_error_M2']:.1e} in test {p['metric'].upper()}; M3 ({h['speedup_M3']:.1f}×) "
                f"is off by {h['relative_error_M3']:.1e}"
                + (": M2 trades accuracy for speed, M3 does not." if h["relative_error_M3"] < h["relative_error_M2"]
                   else ": here M3 is not the more accurate (its λ, tuned on the sample, differs from M1's)."))
    if "fig9" in summary:
        f = summary["fig9"]
        pts = ", ".join(f"n = {n:.0e}: {sp:.1f}× (q = {100 * q:g}%)" for n, sp, q in zip(f["n"], f["speedup_M3"],
                                                                                          f["q"]))
        sp = f["speedup_M3"]
        trend = ("The speedup grows with n, as the paper reports" if len(sp) > 1 and all(
            b > a for a, b in zip(sp, sp[1:])) else "The speedup does not grow monotonically with n here")
        fits, equiv = f["protocol_one_fits"], f["protocol_one_full_equivalents"]
        out.append(f"Fig. 9 ({f['algorithm']}, synthetic Gaussians): {pts}. {trend}; the paper goes to 10⁷ "
                   f"rows (≈ 300×), this mode to {max(f['n']):.0e}. M3 still trains once on all rows, while M1's "
                   f"Protocol I trains {fits - 1} times on 4/5 of them and once on all ({equiv} full-data "
                   f"trainings for a learner linear in n), so with this platform's grid the speedup levels off "
                   f"near {equiv}× however large n grows; the paper's ≈ 300× implies a much larger search on "
                   "Amazon's side.")
    if "amazon" in summary:
        a = summary["amazon"]
        for p in a["panels"]:
            i = 0
            out.append(
                f"Black-box, Amazon-ML-like ({p['algorithm']}, {a['passes']} SGD passes, {p['dataset']} "
                f"{p['n_train']} rows): at q = {100 * p['q'][i]:g}% M3 extracts the sample model with "
                f"{p['queries'][i]} billed queries (${p['query_bill'][i]:.4f}), steals λ and retrains: compute "
                f"{p['speedup_M3'][i]:.1f}× below M1, relative ACC error {p['relative_error_M3'][i]:.1e}; but "
                f"its bill is {1 / p['bill_ratio_M3'][i]:.1f}× M1's (${p['M3_bill'][i]:.4f} vs "
                f"${p['M1_bill']:.5f}): at ${a['price_list']['per_compute_hour']}/compute-hour and "
                f"${a['price_list']['per_prediction']}/prediction, a few seconds of compute cost less "
                f"than the queries, so on data this small stealing saves time, not money.")
    for f in summary.get("failed", []):
        out.append(f"Part {f['part']} did not finish ({f['status']}): {f['error']}")
    return out


def tables(summary: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    out = []
    if "fig8" in summary:
        rows = []
        for p in summary["fig8"]["panels"]:
            for i, q in enumerate(p["q"]):
                rows.append([f"{p['algorithm']} / {p['dataset']}", f"{100 * q:g}%",
                             f"{p['speedup_M3'][i]:.1f}×", f"{p['relative_error_M3'][i]:.1e}",
                             f"{p['speedup_M2'][i]:.1f}×", f"{p['relative_error_M2'][i]:.1e}",
                             f"{p['lam_stolen'][i]:.6g}", f"{p['lam_tuned_on_sample'][i]:g}"])
        out.append(("Train-Steal-Retrain against M1 (Figs. 8 and 10)",
                    ["learner / dataset", "q", "M3 speedup", "M3 rel. error", "M2 speedup", "M2 rel. error",
                     "λ stolen (M3)", "λ the platform chose on the sample"], rows))
    if "fig9" in summary:
        f = summary["fig9"]
        rows = [[f"{n:.0e}", f"{100 * q:g}%", f"{sp:.1f}×", f"{e:.1e}", "yes" if ok else "no", f"{c:.2f}"]
                for n, q, sp, e, ok, c in zip(f["n"], f["q"], f["speedup_M3"], f["relative_error_M3"],
                                              f["met_tolerance"], f["M1_compute_seconds"])]
        out.append(("M3 speedup against training-set size (Fig. 9)",
                    ["rows", "q", "M3 speedup", "rel. ACC error", f"error < {100 * f['tolerance']:g}%",
                     "M1 compute (CPU s)"], rows))
    if "amazon" in summary:
        rows = []
        for p in summary["amazon"]["panels"]:
            for i, q in enumerate(p["q"]):
                rows.append([p["algorithm"], f"{100 * q:g}%", str(p["queries"][i]), f"${p['query_bill'][i]:.4f}",
                             f"{p['speedup_M3'][i]:.1f}×", f"{p['bill_ratio_M3'][i]:.3g}",
                             f"{p['relative_error_M3'][i]:.1e}"])
        out.append(("Black-box (Amazon-ML-like) platform: M3 through the prediction API",
                    ["learner", "q", "queries", "query bill", "compute speedup", "bill M1 / M3", "rel. ACC error"],
                    rows))
    return out
