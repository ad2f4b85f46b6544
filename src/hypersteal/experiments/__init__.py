"""Reproduce the paper's experiments: every figure, the rounding defence, one report.

>>> from hypersteal.experiments import reproduce, SECTIONS
>>> results = reproduce("hypersteal-results", mode="quick")          # doctest: +SKIP
>>> results["sections"]["accuracy"]["summary"]["rr_krr_worst"]        # doctest: +SKIP

Each section is a module with ``cells(settings)`` (independent, cacheable units of work),
``run_cell(spec)``, ``summarise``, ``plot`` and ``findings``; :func:`reproduce` runs them with
progress bars and a resumable cache, then writes ``results.json``, one PNG per figure, ``report.md``
and a self-contained ``index.html``.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import os
import platform
import time
from pathlib import Path

from ._settings import get_settings

__all__ = ["reproduce", "SECTIONS", "get_settings"]

#: Section name → one-line description, in the order they run.
SECTIONS: dict[str, str] = {
    "accuracy": "Figs. 3–5: relative error of λ̂ vs true λ, every learner × dataset, parameters known.",
    "theorem2": "Fig. 6: RR on Diabetes, λ = 1, one parameter moved by Δw — measured error vs Theorem 2.",
    "black_box": "Fig. 7: parameters unknown — extracted through a prediction API, then λ stolen.",
    "defence": "§V: round released parameters to k = 1…5 decimals — λ error caused vs test MSE/ACC cost.",
    "mlaas": "Figs. 8–10: MLaaS Train-Steal-Retrain (M1/M2/M3) on the embedded platform, and a black-box case.",
    "unknowns": "Beyond λ: class weights and kernel γ/degree stolen with λ, and identify; baseline: λ alone.",
}

_ALIASES = {"defense": "defence", "blackbox": "black_box", "theorem_2": "theorem2", "fig6": "theorem2",
            "fig7": "black_box", "figs3_5": "accuracy", "platform": "mlaas",
            "beyond_lambda": "unknowns", "class_weight": "unknowns"}


def _section_names(only) -> list[str]:
    if only is None or (not isinstance(only, str) and len(only) == 0):  # the CLI passes [] for "all"
        return list(SECTIONS)
    if isinstance(only, str):
        only = [only]
    names = []
    for item in only:
        for part in str(item).split(","):
            key = part.strip().lower().replace("-", "_")
            if not key:
                continue
            key = _ALIASES.get(key, key)
            if key not in SECTIONS:
                raise ValueError(f"Unknown section {part.strip()!r}; valid sections: {', '.join(SECTIONS)}.")
            if key not in names:
                names.append(key)
    return names


def _versions() -> dict:
    import matplotlib
    import numpy
    import scipy
    import sklearn

    import hypersteal

    return {"python": platform.python_version(), "numpy": numpy.__version__, "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__, "matplotlib": matplotlib.__version__,
            "hypersteal": hypersteal.__version__}


def _machine() -> dict:
    return {"platform": platform.platform(), "machine": platform.machine(), "processor": platform.processor(),
            "cpu_count": os.cpu_count(), "python_implementation": platform.python_implementation()}


def _dataset_notes(results: dict) -> dict:
    """Preprocessing and notes of every dataset a section used (for the deviations list)."""
    from hypersteal import datasets

    used = []
    for sec in results["sections"].values():
        for c in sec.get("cells", []):
            if c.get("dataset") and c["dataset"] not in used:
                used.append(c["dataset"])
    notes = {}
    for name in used:
        ds = datasets.load(name)
        notes[name] = (f"{ds.n_samples} × {ds.n_features} here (paper: {ds.n_rows_paper} × {ds.n_features_paper}). "
                       f"Target: {ds.target}. {ds.preprocessing} {ds.notes}").strip()
    return notes


def _render_section(name, mod, sec, rows, cfg, out) -> None:
    """Summary, figures and findings of one section's cell results (into ``sec``)."""
    sec["cells"] = rows
    sec["failed_cells"] = sum(1 for r in rows if r.get("status") != "ok")
    try:
        sec["summary"] = mod.summarise(cfg, rows)
        sec["figures"] = mod.plot(cfg, rows, out)
        sec["findings"] = mod.findings(cfg, sec["summary"])
        sec["status"] = "ok" if sec["failed_cells"] < len(rows) or not rows else "error"
        if sec["status"] == "error":
            sec["reason"] = "every cell failed: " + str(rows[0].get("error"))
    except Exception as exc:  # report rendering of one section must not lose the others
        sec.update(status="error", reason=f"{type(exc).__name__}: {exc}")


def reproduce(out="hypersteal-results", mode="quick", only=None, jobs=1, progress=True, *,
              settings: dict | None = None, cache: bool = True) -> dict:
    """Run the paper's experiments and write the report.

    Parameters
    ----------
    out : str or Path, default "hypersteal-results"
        Output folder: ``results.json``, ``fig*.png``, ``defence_rounding.png``, ``report.md``,
        ``index.html`` and the cache ``.cache/`` (one JSON file per finished cell; a rerun skips them).
    mode : {"quick", "full"}, default "quick"
        ``quick``: fewer λ values and subsampled large datasets (minutes on two cores). ``full``: the
        paper's grid, every row for linear learners, 1000-row subsamples for kernel learners (hours).
    only : list of str, optional
        Section names to run (see :data:`SECTIONS`); the others are listed as "not run".
    jobs : int, default 1
        Worker processes for independent cells (each limited to one BLAS thread).
    progress : bool, default True
        Show rich progress bars.
    settings : dict, optional
        Overrides of the mode's grid (see :mod:`hypersteal.experiments._settings`), e.g.
        ``{"accuracy": {"lambdas": {"default": [1.0]}}}``.
    cache : bool, default True
        Read and write the per-cell cache.

    Returns
    -------
    dict
        Everything written to ``results.json``, plus ``"files"`` (the paths written).
    """
    from ._cache import Cache
    from ._common import jsonable
    from ._runner import Progress, run_cells
    from .report import write_html, write_markdown, write_results

    if mode not in ("quick", "full", "tiny"):
        raise ValueError(f"mode must be 'quick' or 'full', got {mode!r}.")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an integer >= 1, got {jobs!r}.")
    selected = _section_names(only)
    cfg = get_settings(mode, settings)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    store = Cache(out / ".cache", enabled=cache)
    t0 = time.perf_counter()
    results = {"schema": 1, "mode": mode, "settings": cfg, "only": selected if only else None,
               "jobs": jobs, "started": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
               "versions": _versions(), "machine": _machine(), "sections": {}}
    figures = []
    with Progress(progress) as bars:
        for name in SECTIONS:
            mod = importlib.import_module(f"hypersteal.experiments.{name}")
            sec = {"description": mod.DESCRIPTION, "paper_claim": mod.PAPER_CLAIM, "figures": [], "findings": []}
            results["sections"][name] = sec
            ok, reason = mod.available() if hasattr(mod, "available") else (True, "")
            if not ok:
                sec.update(status="not yet available", reason=reason)
                if name in selected:
                    bars.log(f"[yellow]{name}: {reason}")
                continue
            specs = mod.cells(cfg)
            ts = time.perf_counter()
            if name in selected:
                in_process = getattr(mod, "IN_PROCESS", False)  # e.g. cells that start their own processes
                rows = run_cells(name, specs, store, bars, jobs=1 if in_process else jobs, title=name,
                                 timeout=None if in_process else cfg.get("cell_timeout"))
            else:  # not selected: shown only if a previous run left every cell in the cache
                rows = [store.peek(name, spec) for spec in specs]
                if all(r is None for r in rows):
                    sec.update(status="not run", reason=f"not selected (only={selected}) and not in the cache")
                    continue
                missing = sum(r is None for r in rows)
                rows = [{**r, "cached": True} if r is not None else
                        {**{k: spec[k] for k in ("algorithm", "dataset", "lam", "rows") if k in spec},
                         "status": "not run", "error": "not in the cache (failed or not yet run)"}
                        for r, spec in zip(rows, specs)]
                sec["reason"] = (f"not selected (only={selected}); cells read from the cache"
                                 + (f", {missing} missing" if missing else ""))
            _render_section(name, mod, sec, rows, cfg, out)
            sec["seconds"] = time.perf_counter() - ts
            figures += sec["figures"]
        results["datasets"] = _dataset_notes(results)
        results["finished"] = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
        results["seconds"] = time.perf_counter() - t0
        results["cache"] = {"hits": store.hits, "misses": store.misses, "folder": str(out / ".cache")}
        results = jsonable(results)
        files = [write_results(results, out), write_markdown(results, out), write_html(results, out)]
        files += [out / f for f in figures]
    if progress:  # after the bars have stopped, so that it is the last line printed
        print(f"wrote {out / 'index.html'} ({results['seconds']:.0f} s)")
    results["files"] = [str(f) for f in files]
    return results
