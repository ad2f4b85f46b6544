"""End-to-end tests of ``hypersteal.experiments.reproduce`` on its seconds-long ``tiny`` grid."""

import json
import time

import pytest

from hypersteal.experiments import SECTIONS, reproduce
from hypersteal.experiments._cache import Cache, cell_key

EXPECTED_FIGURES = {
    "fig3_accuracy_regression.png",
    "fig4_accuracy_classification.png",
    "fig5_accuracy_neural.png",
    "fig6_theorem2.png",
    "fig7_black_box.png",
    "defence_rounding.png",
    "fig8_train_steal_retrain.png",
    "fig9_speedup_vs_size.png",
    "fig10_m2_vs_m3.png",
    "unknowns_profiles.png",
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("repro")
    t0 = time.perf_counter()
    first = reproduce(out, mode="tiny", progress=False)
    first_seconds = time.perf_counter() - t0
    return out, first, first_seconds


@pytest.mark.slow
def test_results_json_structure(run):
    out, results, _ = run
    on_disk = json.loads((out / "results.json").read_text(encoding="utf-8"))
    for key in ("schema", "mode", "settings", "versions", "machine", "started", "finished", "seconds", "cache",
                "sections", "datasets"):
        assert key in on_disk, key
    assert on_disk["mode"] == "tiny"
    assert {"python", "numpy", "scipy", "scikit-learn", "hypersteal"} <= set(on_disk["versions"])
    assert list(on_disk["sections"]) == list(SECTIONS)
    for name in ("accuracy", "theorem2", "defence", "mlaas", "unknowns"):
        sec = on_disk["sections"][name]
        assert sec["status"] == "ok", (name, sec.get("reason"))
        assert sec["failed_cells"] == 0, [c.get("error") for c in sec["cells"] if c.get("status") != "ok"]
        assert sec["findings"] and sec["paper_claim"]
    assert on_disk["sections"]["black_box"]["status"] in ("ok", "not yet available")
    cell = on_disk["sections"]["accuracy"]["cells"][0]
    for key in ("algorithm", "dataset", "n", "d", "lam", "lambdas", "estimate", "rel_error", "identifiable",
                "intervals", "residual", "fit_seconds", "attack_seconds"):
        assert key in cell, key


@pytest.mark.slow
def test_files_written(run):
    out, results, _ = run
    figures = {f for sec in results["sections"].values() for f in sec["figures"]}
    if results["sections"]["black_box"]["status"] != "ok":
        figures.add("fig7_black_box.png")  # the assertion below then reports it missing
    assert figures == EXPECTED_FIGURES
    for f in figures:
        path = out / f
        assert path.is_file() and path.stat().st_size > 1000, f
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (out / "report.md").read_text(encoding="utf-8")
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "not yet available" not in report and "not yet available" not in page
    assert page.count("data:image/png;base64,") == len(EXPECTED_FIGURES)
    assert "src='http" not in page and 'src="http' not in page
    for phrase in ("Hinge kink", "LASSO threshold", "Madelon", "Not identifiable", "Subsampling", "MLaaS platform",
                   "Train-Steal-Retrain against M1"):
        assert phrase in report and phrase in page


@pytest.mark.slow
def test_exact_learners_at_machine_precision(run):
    _, results, _ = run
    cells = results["sections"]["accuracy"]["cells"]
    exact = [c for c in cells if c["algorithm"] in ("ridge", "kernel_ridge")]
    assert {c["algorithm"] for c in exact} == {"ridge", "kernel_ridge"}
    for c in exact:
        assert c["identifiable"] and c["rel_error"] <= 1e-9, c
    if results["sections"]["black_box"]["status"] == "ok":
        rr = [c for c in results["sections"]["black_box"]["cells"] if c["algorithm"] == "ridge"]
        assert rr and all(c["rel_error"] <= 1e-9 for c in rr)


@pytest.mark.slow
def test_not_identifiable_reported_with_interval(run):
    _, results, _ = run
    for c in results["sections"]["accuracy"]["cells"]:
        if not c["identifiable"]:
            assert c["rel_error"] is None
            lo, hi = next(iter(c["intervals"].values()))
            assert lo is not None and hi is not None


@pytest.mark.slow
def test_theorem2_linear_then_quadratic(run):
    _, results, _ = run
    s = results["sections"]["theorem2"]["summary"]
    assert s["loglog_slope_small_dw"] == pytest.approx(1.0, abs=0.05)
    assert s["loglog_slope_second_order"] == pytest.approx(2.0, abs=0.2)


@pytest.mark.slow
def test_rerun_uses_cache(run):
    out, first, first_seconds = run
    t0 = time.perf_counter()
    again = reproduce(out, mode="tiny", progress=False)
    seconds = time.perf_counter() - t0
    assert again["cache"]["misses"] == 0
    assert again["cache"]["hits"] == first["cache"]["misses"] > 0
    assert all(c["cached"] for c in again["sections"]["accuracy"]["cells"])
    assert seconds < first_seconds  # nothing is recomputed; only figures and the report are redrawn
    a = [c["rel_error"] for c in first["sections"]["accuracy"]["cells"]]
    b = [c["rel_error"] for c in again["sections"]["accuracy"]["cells"]]
    assert a == b


def test_only_runs_the_named_sections_in_workers(tmp_path):
    results = reproduce(tmp_path, mode="tiny", only=["theorem2", "defence"], jobs=2, progress=False)
    status = {k: v["status"] for k, v in results["sections"].items()}
    assert status["theorem2"] == status["defence"] == "ok"
    assert status["accuracy"] == status["black_box"] == "not run"  # nothing cached in a fresh folder
    assert results["sections"]["defence"]["failed_cells"] == 0
    assert (tmp_path / "fig6_theorem2.png").is_file() and (tmp_path / "defence_rounding.png").is_file()
    assert not (tmp_path / "fig3_accuracy_regression.png").exists()
    assert (tmp_path / "index.html").is_file()


def test_settings_override_and_bad_arguments(tmp_path):
    results = reproduce(tmp_path, mode="tiny", only="theorem2", progress=False,
                        settings={"theorem2": {"n_steps": 4}})
    assert results["settings"]["theorem2"]["n_steps"] == 4
    assert results["settings"]["theorem2"]["lam"] == 1.0  # the rest of the entry is kept
    with pytest.raises(ValueError, match="valid sections"):
        reproduce(tmp_path, mode="tiny", only=["figure99"], progress=False)
    with pytest.raises(ValueError, match="mode"):
        reproduce(tmp_path, mode="medium", progress=False)


def test_cache_key_depends_on_every_setting(tmp_path):
    spec = {"algorithm": "ridge", "lam": 1.0, "rows": None}
    assert cell_key(spec) == cell_key(dict(reversed(list(spec.items()))))
    assert cell_key(spec) != cell_key({**spec, "lam": 10.0})
    cache = Cache(tmp_path)
    assert cache.get("s", spec) is None
    cache.put("s", spec, {"x": 1})
    assert cache.get("s", spec) == {"x": 1}
    assert (cache.hits, cache.misses) == (1, 1)
    assert Cache(tmp_path, enabled=False).get("s", spec) is None


def test_cell_time_limit(tmp_path):
    from hypersteal.experiments._runner import Progress, run_cells

    slow = {"dataset": "diabetes", "lam": 1.0, "random_state": 0, "sleep": 30}
    fast = {**slow, "sleep": 0}
    with Progress(False) as bars:
        t0 = time.perf_counter()
        res = run_cells("_testing", [slow, fast], Cache(tmp_path), bars, jobs=1, timeout=2)
    assert time.perf_counter() - t0 < 20
    assert [r["status"] for r in res] == ["timeout", "ok"]
    assert Cache(tmp_path).get("_testing", fast) is not None
    assert Cache(tmp_path).get("_testing", slow) is None  # not cached: retried next time


@pytest.mark.slow
def test_only_keeps_cached_sections_in_the_report(run):
    out, first, _ = run
    again = reproduce(out, mode="tiny", only=["theorem2"], progress=False)
    assert again["cache"]["misses"] == 0
    for name in ("accuracy", "black_box", "defence"):
        sec = again["sections"][name]
        assert sec["status"] == first["sections"][name]["status"]
        if sec["status"] == "ok":
            assert "read from the cache" in sec["reason"] and sec["figures"]
    assert (out / "fig3_accuracy_regression.png").is_file()


@pytest.mark.slow
def test_mlaas_section_steals_the_platform_lambda(run):
    """Figs. 8-10 on the embedded platform: M3's λ is the one the platform tuned on the sample."""
    _, results, _ = run
    s = results["sections"]["mlaas"]["summary"]
    assert {p["dataset"] for p in s["fig8"]["panels"]} == {"ujiindoorloc", "bank"}
    rr = next(p for p in s["fig8"]["panels"] if p["algorithm"] == "ridge")
    assert all(e < 1e-8 for e in rr["steal_relative_error"])  # exact RR: λ stolen to round-off
    assert all(e < 1e-8 for e in rr["relative_error_M3"])  # the same λ on all data: M1's model
    assert all(sp > 0 for p in s["fig8"]["panels"] for sp in p["speedup_M3"])  # measured, not asserted fast
    assert s["fig9"]["n"] == [1000] and len(s["amazon"]["panels"]) == 2
    assert all(q > 0 for p in s["amazon"]["panels"] for q in p["queries"])
