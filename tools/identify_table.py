"""Measure :func:`hypersteal.identify`: its confusion matrix, and its cost in passes over the data.

Confusion matrix: every registered learner that :func:`hypersteal.learners.train` fits (exact fits), and
scikit-learn estimators at their default tolerance (realistic fits), on subsets of the bundled datasets
(regression: diabetes, geoorig, ujiindoorloc; classification: iris, bank, madelon) at
λ ∈ {10⁻², 1, 10²} in the paper's units (native values from docs/conventions.md). Each fit is identified
from (X, y, params) alone, with the options a user would pass (the kernel's, liblinear's
intercept_scaling); a cell is *correct* when the true learner is identified, *cannot tell* (with or without
the truth among the tied), *no match*, or *wrong* (another learner identified with confidence).

Speed: ``identify`` ÷ one numpy pass ``X.T @ (X @ w − y)`` on the same data, in one run, per linear
learner, on synthetic data of ``--rows`` rows.

Usage::

    python tools/identify_table.py [--rows 300] [--speed-rows 200000] [--only exact|realistic|speed] [--match NAME]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections import Counter, defaultdict

import numpy as np

import hypersteal
from hypersteal import datasets, learners
from hypersteal.identification import CLEAR_RATIO, identify
from hypersteal.registry import LEARNERS

LAMBDAS = (1e-2, 1.0, 1e2)
DATASETS = {"regression": ("diabetes", "geoorig", "ujiindoorloc"), "classification": ("iris", "bank", "madelon")}


def _data(name: str, rows: int):
    full = datasets.load(name)
    ds = datasets.load(name, subsample=min(rows, full.X.shape[0])) if full.X.shape[0] > rows else full
    return ds.X, ds.y


def _kind(result, truth: str) -> str:
    if result.verdict.value == "identified":
        return "correct" if result.best == truth else "WRONG"
    if result.verdict.value == "cannot_tell":
        return "cannot tell (truth tied)" if truth in result.tied else "cannot tell (truth not tied)"
    return "no match"


def _cells_exact(rows: int, match: str):
    for rec in LEARNERS.values():
        if not rec.trainer or match not in rec.name:
            continue
        n = rows if rec.family == "linear" else min(rows, 150)  # kernel and network trainers are O(n²)…O(n³)
        for dname in DATASETS[rec.task]:
            X, y = _data(dname, n)
            if rec.family == "mlp" and X.shape[1] > 100:
                continue  # the reference network trainer's Newton steps are cubic in the weights (5 000 here)
            for lam in LAMBDAS:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    params = learners.train(rec.name, X, y, (lam, lam) if rec.n_lambdas == 2 else lam)
                options = {"activation": params["activation"]} if rec.family == "mlp" else {}
                yield rec.name, dname, lam, X, y, params, options


def _estimators(n: int, lam: float):
    """(truth, estimator) at λ in the paper's units, each at scikit-learn's default tolerance."""
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression, Ridge
    from sklearn.svm import SVC, LinearSVC

    return {
        "regression": [
            ("ridge", Ridge(alpha=lam)),
            ("lasso", Lasso(alpha=lam / (2 * n))),
            ("elastic_net", ElasticNet(alpha=1.5 * lam / n, l1_ratio=1 / 3)),  # λ₁ = 2n·α·r = λ, λ₂ = n·α·(1 − r) = λ
            ("kernel_ridge", KernelRidge(alpha=lam, kernel="rbf")),
        ],
        "classification": [
            ("logistic_l2", LogisticRegression(C=1 / (2 * lam))),
            ("logistic_l1", LogisticRegression(C=1 / lam, penalty="l1", solver="liblinear", random_state=0)),
            ("svm_squared_hinge", LinearSVC(C=1 / (2 * lam), random_state=0)),
            ("svm_hinge", LinearSVC(C=1 / (2 * lam), loss="hinge", random_state=0)),
            ("kernel_svm_hinge", SVC(C=1 / (2 * lam), kernel="rbf", gamma="scale")),
        ],
    }


def _cells_realistic(rows: int, match: str):
    from hypersteal.adapters.sklearn import leaf_problems

    for task, names in DATASETS.items():
        for dname in names:
            X, y = _data(dname, rows)
            for lam in LAMBDAS:
                for truth, est in _estimators(X.shape[0], lam)[task]:
                    if match not in truth:
                        continue
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        est.fit(X, y)
                    (problem,) = leaf_problems(type(est).__name__, est, X, y)
                    yield truth, dname, lam, problem.X, problem.y, problem.params, dict(problem.options)


def confusion(cells) -> tuple[str, dict]:
    table: dict[str, Counter] = defaultdict(Counter)
    notes, scores = [], []
    for truth, dname, lam, X, y, params, options in cells:
        result = identify(X, y, params, **options)
        kind = _kind(result, truth)
        col = result.best if kind in ("correct", "WRONG") else kind
        table[truth][col] += 1
        true_score = next((c.score for c in result.candidates if c.name == truth), np.nan)
        wrong = [c.score for c in result.candidates if c.name != truth and not c.excluded]
        scores.append((kind, true_score, min(wrong, default=np.inf)))
        if kind != "correct":
            notes.append(f"| {truth} | {dname} | {lam:g} | {kind} | {', '.join(result.tied) or '—'} | "
                         f"{true_score:.2g} | {_nonzero(params)} |")
        print(f"{truth:<26} {dname:<13} {lam:<6g} {kind:<28} {result.best}", file=sys.stderr, flush=True)
    return _markdown(table, notes), {"scores": scores, "table": table}


def _calibration(scores) -> str:
    """How far the truth's score is from the best wrong competing candidate's, where the truth is stationary."""
    near = [(k, a, b) for k, a, b in scores if a <= 1e-3]
    if not near:
        return "Calibration: no fit's true learner is stationary."
    ratios = sorted((b + 1e-9) / (a + 1e-9) for k, a, b in near if k == "correct")
    tied = sorted((b + 1e-9) / (a + 1e-9) for k, a, b in near if k != "correct")
    text = (f"Calibration, over the {len(near)} fits whose true learner scores ≤ 1e-3: the truth scores at most "
            f"{max(a for _, a, _ in near):.2g}; where it was identified, the best wrong competing candidate "
            f"scores {ratios[0]:.3g}× the truth's (as score + 1e-9) at the least, median {np.median(ratios):.3g}×")
    if tied:
        text += f"; where it was not, {', '.join(f'{r:.3g}×' for r in tied[:12])}"
    return text + "."


def _nonzero(params) -> str:
    for key in ("coef", "dual_coef"):
        if key in params:
            w = np.asarray(params[key])
            return f"{np.count_nonzero(w)}/{w.size}"
    return "—"


def _markdown(table: dict[str, Counter], notes: list[str]) -> str:
    extra = ["cannot tell (truth tied)", "cannot tell (truth not tied)", "no match"]
    named = sorted({c for row in table.values() for c in row if c not in extra}, key=list(LEARNERS).index)
    cols = named + extra
    lines = ["| true learner | " + " | ".join(LEARNERS[c].paper if c in LEARNERS else c for c in cols) + " |",
             "|---|" + "---|" * len(cols)]
    for truth in sorted(table, key=list(LEARNERS).index):
        lines.append(f"| {truth} ({LEARNERS[truth].paper}) | " + " | ".join(str(table[truth][c] or "")
                                                                           for c in cols) + " |")
    total = sum(sum(r.values()) for r in table.values())
    correct = sum(table[t][t] for t in table)
    wrong = sum(v for t, r in table.items() for c, v in r.items() if c in LEARNERS and c != t)
    tied = sum(r["cannot tell (truth tied)"] for r in table.values())
    lost = sum(r["cannot tell (truth not tied)"] for r in table.values())
    none = sum(r["no match"] for r in table.values())
    lines.append("")
    lines.append(f"{total} fits: {correct} identified correctly ({100 * correct / total:.1f} %), {wrong} identified "
                 f"wrongly, {tied} cannot tell with the truth among the tied, {lost} cannot tell without it, "
                 f"{none} no match. Correct among the fits not answered \"cannot tell\" with the truth tied: "
                 f"{correct}/{total - tied} ({100 * correct / max(total - tied, 1):.1f} %).")
    if notes:
        lines += ["", "| true learner | dataset | λ | answer | tied | truth's score | nonzero weights |",
                  "|---|---|---|---|---|---|---|", *notes]
    return "\n".join(lines)


def speed(rows: int) -> str:
    """identify ÷ one numpy pass, per linear learner with a trainer, on synthetic data."""
    rng = np.random.default_rng(0)
    d = 20
    X = rng.normal(size=(rows, d))
    w = rng.normal(size=d)
    y_reg = X @ w + rng.normal(size=rows)
    y_clf = (y_reg > 0).astype(int)
    from hypersteal.adapters.sklearn import leaf_problems

    lines = ["| fit | identify (s) | one pass (s) | passes | verdict |", "|---|---|---|---|---|"]
    fits = []
    for rec in LEARNERS.values():
        if rec.family == "linear" and rec.trainer:
            y = y_reg if rec.regression else y_clf
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                params = learners.train(rec.name, X, y, (1.0, 1.0) if rec.n_lambdas == 2 else 1.0)
            fits.append((f"{rec.name} (exact)", y, params, {}))
    for truth, est in [*_estimators(rows, 1.0)["regression"][:3], *_estimators(rows, 1.0)["classification"][:4]]:
        y = y_clf if hasattr(est, "predict_proba") or "SVC" in type(est).__name__ else y_reg
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y)
        (problem,) = leaf_problems(type(est).__name__, est, X, y)
        fits.append((f"{truth} ({type(est).__name__}, default tol)", y, problem.params, problem.options))
    rows_out, fastest = [], np.inf
    for label, y, params, options in fits:
        yf = y.astype(float)
        one = min(_timed(_one_pass, X, w, yf) for _ in range(10))
        took = min(_timed(identify, X, y, params, **options) for _ in range(3))
        fastest = min(fastest, one)
        verdict = identify(X, y, params, **options)
        rows_out.append((label, took, one, f"{verdict.verdict.value} {verdict.best or ''}"))
        print(label, took, one, file=sys.stderr, flush=True)
    # the machine is shared: each identify is also divided by the fastest pass of the whole run (an upper bound)
    lines[0] = "| fit | identify (s) | one pass (s) | passes | passes, vs the run's fastest pass | verdict |"
    lines[1] = "|---|---|---|---|---|---|"
    lines += [f"| {label} | {took:.3f} | {one:.4f} | {took / one:.1f} | {took / fastest:.1f} | {verdict} |"
              for label, took, one, verdict in rows_out]
    return "\n".join(lines)


def _one_pass(X, w, y):
    return X.T @ (X @ w - y)


def _timed(fn, *args, **kwargs) -> float:
    t0 = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300, help="rows per dataset subset")
    parser.add_argument("--speed-rows", type=int, default=200_000, help="synthetic rows for the speed part")
    parser.add_argument("--only", choices=("exact", "realistic", "speed"), help="one part only")
    parser.add_argument("--match", default="", help="only true learners whose name contains this")
    args = parser.parse_args(argv)
    print(f"hypersteal {hypersteal.__version__}; clear ratio {CLEAR_RATIO:g}; λ ∈ {{{', '.join(map(str, LAMBDAS))}}}\n")
    failed = 0
    for part, cells in (("exact", _cells_exact), ("realistic", _cells_realistic)):
        if args.only in (None, part):
            text, raw = confusion(cells(args.rows, args.match))
            print(f"## {part} fits\n\n{text}\n")
            failed += sum(v for t, r in raw["table"].items() for c, v in r.items() if c in LEARNERS and c != t)
            print(_calibration(raw["scores"]) + "\n")
    if args.only in (None, "speed"):
        print(f"## speed ({args.speed_rows} rows × 20 features)\n\n{speed(args.speed_rows)}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
