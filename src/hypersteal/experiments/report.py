"""Render a run: ``results.json``, ``report.md`` and a self-contained ``index.html``."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from ._common import jsonable

__all__ = ["write_results", "write_markdown", "write_html", "tables", "deviations"]


def _e(x, fmt="{:.1e}"):
    if x is None:
        return "—"
    if isinstance(x, str):
        return "∞" if x == "inf" else x
    return fmt.format(x)


def _interval(iv):
    return f"[{_e(iv[0], '{:.3g}')}, {_e(iv[1], '{:.3g}')}]"


# ----------------------------------------------------------------------------------------- tables


def tables(name: str, section: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) tables of a section's headline numbers."""
    s = section.get("summary") or {}
    if name == "accuracy" and s.get("per_algorithm"):
        rows = []
        for alg, a in s["per_algorithm"].items():
            where = f"{a['worst_at']['dataset']}, λ={a['worst_at']['lam']:g}" if a["worst_at"] else "—"
            unid = "; ".join(f"{c['dataset']} λ={c['lam']:g} {_interval(next(iter(c['intervals'].values())))}"
                             for c in a["not_identifiable"]) or "—"
            rows.append([f"{a['paper_name']} ({alg})", ", ".join(a["datasets"]), f"{a['identifiable']}/{a['cells']}",
                         _e(a["worst_rel_error"]), where, _e(a["median_rel_error"]), _e(a["max_residual"]), unid])
        return [("Relative error |λ̂ − λ|/λ per learner (parameters known)",
                 ["learner", "datasets (rows × features)", "identifiable / cells", "worst", "worst at", "median",
                  "max residual", "not identifiable: consistent interval"], rows)]
    if name == "black_box" and s.get("per_algorithm"):
        rows = [[f"{a['paper_name']} ({alg})", f"{a['dataset']} ({a['n']})", "/".join(map(str, a["queries"])),
                 _e(a["worst_rel_error"]), _e(a["worst_known_rel_error"]), _e(a["worst_param_rel_error"]),
                 ", ".join(f"λ={c['lam']:g}" for c in a["not_identifiable"]) or "—"]
                for alg, a in s["per_algorithm"].items()]
        return [("Parameters stolen through the prediction API, then λ",
                 ["learner", "dataset (rows)", "queries", "worst λ error", "same, parameters known",
                  "worst parameter error", "not identifiable"], rows)]
    if name == "theorem2" and "parameter_index" in s:
        rows = [["parameter moved", f"w_{s['parameter_index']} = {s['w_j']:.4g}"],
                ["∂λ̂/∂w_j (Theorem 2)", f"{s['gradient_j']:.4e}"],
                ["measured |λ̂ − λ| at Δw = 1", f"{s['error_at_dw_1']:.4e}"],
                ["first-order share at Δw = 1", f"{100 * s['first_order_share_at_dw_1']:.3f} %"],
                ["log-log slope, Δw ≤ 0.01", _e(s["loglog_slope_small_dw"], "{:.3f}")],
                ["log-log slope of the second-order term", _e(s["loglog_slope_second_order"], "{:.3f}")],
                ["Δw where quadratic = linear (extrapolated)", _e(s["crossover_dw"], "{:.3g}")]]
        if s.get("first_bad_dw") is not None:
            rows.append(["Δw from which λ̂ is not identifiable or ≤ 0", _e(s["first_bad_dw"], "{:.3g}")])
        return [("Theorem 2 check (RR, λ = 1)", ["quantity", "value"], rows)]
    if name == "defence" and s.get("table"):
        ks = sorted({t["decimals"] for t in s["table"]})
        keys = list(dict.fromkeys((t["algorithm"], t["lam"]) for t in s["table"]))
        rows = []
        for alg, lam in keys:
            mine = {t["decimals"]: t for t in s["table"] if t["algorithm"] == alg and t["lam"] == lam}
            first = next(iter(mine.values()))
            cells = []
            for k in ks:
                t = mine.get(k)
                if t is None:
                    cells.append("—")
                    continue
                mark = "" if t["identifiable"] else " (n.i.)"
                cells.append(f"{_e(t['lambda_rel_error'])}{mark} / {_e(t['metric_rel_change'])}")
            rows.append([f"{first['paper_name']} ({first['regulariser']})", first["dataset"], f"{lam:g}",
                         first["metric_name"], *cells])
        return [("Rounding: relative λ error / relative test-metric change (n.i. = not identifiable)",
                 ["learner", "dataset", "λ", "metric", *[f"k = {k}" for k in ks]], rows)]
    if name == "mlaas" and s:
        from .mlaas import tables as mlaas_tables

        return mlaas_tables(s)
    if name == "unknowns" and s.get("class_weight") is not None:
        from .unknowns import tables as unknowns_tables

        return unknowns_tables(s)
    return []


# ----------------------------------------------------------------------------------------- deviations


def deviations(results: dict) -> list[tuple[str, str]]:
    """(topic, explanation) pairs: every way this run differs from the paper, and why."""
    st = results["settings"]
    acc = st["accuracy"]
    out = []
    sub = {k: v for k, v in acc["rows"].items() if v}
    rows_txt = ", ".join(f"{k}: {v} rows" for k, v in sub.items()) or "none (every row)"
    out.append(("Subsampling",
                f"Mode '{results['mode']}'. Accuracy study subsamples: {rows_txt}; kernel learners use at most "
                f"{acc['kernel_rows']} rows (an n × n Gram matrix and Newton steps in n unknowns); networks use "
                f"{'all rows' if acc['neural_rows'] is None else acc['neural_rows']} of "
                f"{', '.join(acc['neural_datasets'])}. Subsamples are stratified by class for classification "
                "(hypersteal.datasets.load(subsample=...)). λ grid: "
                + "; ".join(f"{k}: {', '.join(f'{x:g}' for x in v)}" for k, v in acc["lambdas"].items())
                + ". The paper used every row and λ = 10⁻³…10³. "
                + (f"Fig. 7's KRR uses {st['black_box']['kernel_rows']} Diabetes rows (its extraction solves an "
                   "n-unknown system). " if st["black_box"].get("kernel_rows") else "")
                + f"The defence study splits {st['defence']['classification_dataset']} "
                + (f"({st['defence']['rows'].get(st['defence']['classification_dataset'])} rows) "
                   if st["defence"]["rows"].get(st["defence"]["classification_dataset"]) else "")
                + f"and {st['defence']['regression_dataset']} {int(100 * (1 - st['defence']['test_fraction']))}/"
                + f"{int(100 * st['defence']['test_fraction'])} into training and test halves."
                + (f" Cells are stopped after {st['cell_timeout']} s; stopped cells are named in the findings."
                   if st.get("cell_timeout") else "")))
    out.append(("Hinge kink (SVM-RHL, KSVM-RHL)",
                "Points exactly on the margin have an unknown subgradient weight in [0, 1]; the paper's naive "
                "estimate ignores them. hypersteal solves for λ and those weights together (bounded least "
                "squares), which recovers λ to round-off whenever it is determined."))
    out.append(("Not identifiable",
                "When the stationarity conditions hold for a whole range of λ — a hinge loss on separable data "
                "below a threshold (the same hard-margin model for every small λ; two-class Iris is separable), "
                "an L1 model whose penalised weights are all zero (λ above its threshold), or a tanh network "
                "whose weights are all zero (W = 0 is stationary for every large λ; the attack's residual is then "
                "0/0 and reads 1) — no single λ can be stolen. Those cells are "
                "reported as 'not identifiable' with the interval of consistent λ (it contains the true λ), and "
                "are drawn as × markers, never as an error value."))
    out.append(("LASSO threshold λ_max",
                "LASSO gives w = 0 for λ ≥ λ_max = 2‖Xᵀ(y − ȳ)‖_∞, so λ above it cannot be recovered (the "
                "paper's missing LASSO points); hypersteal reports the interval [λ_max, ∞). The same holds for "
                "L1-LR and L1-KLR above their thresholds."))
    out.append(("Madelon's 2600 rows",
                "Only Madelon's 2000 training and 600 validation rows are labelled (the 1800 test labels were "
                "never released), so the bundled Madelon has 2600 rows, not the paper's 4400."))
    out.append(("Models",
                f"Kernel learners: {st['kernel']} kernel with γ = 1/d, told to the attack. Networks: one hidden "
                f"layer of {st['mlp']['hidden_layer_sizes']} {st['mlp']['activation']} units, unpenalised biases, "
                "squared loss / cross-entropy summed over rows. KRR has no intercept (as scikit-learn's); the "
                "elastic net uses λ₁ = λ₂ = λ and its error is the larger of the two. "
                "Losses are sums and regularisers carry no ½ (the conventions page of the hypersteal "
                "documentation, docs/conventions.md, gives every objective and its scikit-learn mapping); every "
                "learner is trained to a tight tolerance by hypersteal.learners.train, so the errors reflect the "
                "attack, not a loose solver."))
    ml = st.get("mlaas")
    if ml and results["sections"].get("mlaas", {}).get("status") == "ok":
        out.append(("MLaaS platform",
                    "Amazon Machine Learning no longer takes users, so Figs. 8–10 run on hypersteal's own platform "
                    "(FastAPI service on a loopback port, SQLite store, scikit-learn learners in worker processes "
                    "with one BLAS thread each). Compute is the CPU seconds the platform meters per job; the "
                    "attacker's own CPU for stealing λ is added to M3. Protocol I tunes λ over 7 values "
                    "(10⁻³…10³) by 5-fold cross-validation. Speedups are ratios of CPU seconds on a shared "
                    "machine and move by some ten percent between runs. "
                    + (f"UJIIndoorLoc and Bank are subsampled to {ml['subsample']} rows. " if ml.get("subsample")
                       else "UJIIndoorLoc and Bank are used whole, split 50/50 into training and test halves. ")
                    + f"Fig. 9 stops at {ml['fig9_max_n']:.0e} rows (the paper: 10⁷); "
                    "`hypersteal.mlaas.study.fig9(max_n=10**7)` goes further. The black-box case trains "
                    "logistic regression by SGD for a fixed number of passes, as Amazon ML did."))
    for name, text in results.get("datasets", {}).items():
        out.append((f"Dataset: {name}", text))
    return out


# ----------------------------------------------------------------------------------------- writers


def write_results(results: dict, out: Path) -> Path:
    path = out / "results.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(jsonable(results), indent=1, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)
    return path


def _md_table(header, rows):
    esc = lambda s: str(s).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(map(esc, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(esc, r)) + " |" for r in rows]
    return "\n".join(lines)


def _meta_lines(results):
    v = results["versions"]
    m = results["machine"]
    return [f"mode **{results['mode']}**, started {results['started']}, {results['seconds']:.0f} s "
            f"(cache: {results['cache']['hits']} cells reused, {results['cache']['misses']} computed)",
            "versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
            f"machine: {m['platform']}, {m['cpu_count']} CPUs, jobs = {results['jobs']}"]


def write_markdown(results: dict, out: Path) -> Path:
    lines = ["# hypersteal — reproduction of *Stealing Hyperparameters in Machine Learning* (Wang & Gong, S&P 2018)",
             ""]
    lines += [f"- {t}" for t in _meta_lines(results)] + [""]
    for name, sec in results["sections"].items():
        lines += [f"## {name}: {sec['description']}", ""]
        if sec["status"] != "ok":
            lines += [f"**Status: {sec['status']}.** {sec.get('reason', '')}", "", f"*Paper:* {sec['paper_claim']}", ""]
            continue
        for f in sec["figures"]:
            lines += [f"[![{f}]({f})]({f})", ""]  # the image links to itself: full size on a click
        lines += [f"**Paper:** {sec['paper_claim']}", "", "**Measured here:**", ""]
        lines += [f"- {t}" for t in sec["findings"]] + [""]
        for title, header, rows in tables(name, sec):
            lines += [f"*{title}*", "", _md_table(header, rows), ""]
    lines += ["## Deviations from the paper, and why", ""]
    lines += [f"- **{t}.** {x}" for t, x in deviations(results)]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{font-size:1.5em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
.meta{color:#555;font-size:.9em}.pair{display:flex;gap:1.5em;flex-wrap:wrap;align-items:flex-start}
.fig{flex:1 1 620px}.fig.wide{flex-basis:100%}.fig img{max-width:100%;border:1px solid #eee;cursor:zoom-in}
.fig a{display:block}.claims{flex:1 1 380px}.hint{color:#777;font-size:.8em}
.paper{background:#f5f5fa;border-left:4px solid #88a;padding:.5em .8em;margin-bottom:1em}
.ours{background:#f5faf5;border-left:4px solid #8a8;padding:.5em .8em}
table{border-collapse:collapse;font-size:.82em;margin:1em 0}td,th{border:1px solid #ddd;padding:.25em .5em;
vertical-align:top}th{background:#f3f3f3}.status{background:#fff6e0;border-left:4px solid #d9a400;padding:.6em}
"""


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (0, 0 for anything else)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 24:
        return 0, 0
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def write_html(results: dict, out: Path) -> Path:
    h = html.escape
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>hypersteal reproduction</title>",
             f"<style>{_CSS}</style></head><body>",
             "<h1>hypersteal — reproduction of <i>Stealing Hyperparameters in Machine Learning</i> "
             "(Wang &amp; Gong, IEEE S&amp;P 2018)</h1>",
             "<div class='meta'>" + "<br>".join(h(t.replace("**", "")) for t in _meta_lines(results)) + "</div>"]
    for name, sec in results["sections"].items():
        parts.append(f"<h2 id='{h(name)}'>{h(name)}: {h(sec['description'])}</h2>")
        if sec["status"] != "ok":
            parts.append(f"<div class='status'><b>Status: {h(sec['status'])}.</b> {h(sec.get('reason', ''))}</div>"
                         f"<div class='paper'><b>Paper:</b> {h(sec['paper_claim'])}</div>")
            continue
        figs = []
        wide = False
        for f in sec["figures"]:
            p = out / f
            if p.is_file():
                data = p.read_bytes()
                w, hgt = _png_size(data)
                wide = wide or (w > 1.8 * hgt)  # multi-panel figures get the page's full width
                b64 = base64.b64encode(data).decode()
                figs.append(f"<a href='{h(f)}' target='_blank' title='open {h(f)} at full size ({w}×{hgt} px)'>"
                            f"<img alt='{h(f)}' src='data:image/png;base64,{b64}'></a>")
        if figs:
            figs.append("<div class='hint'>Click a figure to open it at full size.</div>")
        claims = (f"<div class='paper'><b>Paper:</b> {h(sec['paper_claim'])}</div><div class='ours'><b>Measured "
                  "here:</b><ul>" + "".join(f"<li>{h(t)}</li>" for t in sec["findings"]) + "</ul></div>")
        parts.append(f"<div class='pair'><div class='fig{' wide' if wide else ''}'>{''.join(figs)}</div>"
                     f"<div class='claims'>{claims}</div></div>")
        for title, header, rows in tables(name, sec):
            parts.append(f"<table><caption>{h(title)}</caption><tr>" + "".join(f"<th>{h(c)}</th>" for c in header)
                         + "</tr>" + "".join("<tr>" + "".join(f"<td>{h(str(c))}</td>" for c in r) + "</tr>"
                                             for r in rows) + "</table>")
    parts.append("<h2 id='deviations'>Deviations from the paper, and why</h2><ul>")
    parts += [f"<li><b>{h(t)}.</b> {h(x)}</li>" for t, x in deviations(results)]
    parts.append("</ul><p class='meta'>Every number is in results.json beside this file.</p></body></html>")
    path = out / "index.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
