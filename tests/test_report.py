"""The generated report: figures open at full size, titles and findings claim only what the data shows."""

import re

import pytest

from hypersteal.experiments import reproduce


@pytest.fixture(scope="module")
def theorem2_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return out, reproduce(out, mode="quick", only=["theorem2"], progress=False)


def test_figures_link_to_their_full_size_png(theorem2_run):
    out, _ = theorem2_run
    page = (out / "index.html").read_text(encoding="utf-8")
    links = re.findall(r"<a href='([^']+\.png)'[^>]*><img ", page)
    assert "fig6_theorem2.png" in links
    assert all((out / f).is_file() for f in links)
    assert "class='fig wide'" in page  # the two-panel Fig. 6 gets the full width
    assert "[![fig6_theorem2.png](fig6_theorem2.png)](fig6_theorem2.png)" in (out / "report.md").read_text(
        encoding="utf-8")
    assert "DESIGN" not in page and "DESIGN" not in (out / "report.md").read_text(encoding="utf-8")


def test_fig6_findings_follow_the_sweep(theorem2_run):
    """The extended sweep's λ̂ turns negative: the findings must say so, not claim a quadratic regime."""
    _, results = theorem2_run
    sec = results["sections"]["theorem2"]
    sweep = sec["cells"][0]["sweep"]
    negative = [s["dw"] for s in sweep if s["estimate"] <= 0]
    text = " ".join(sec["findings"])
    assert "shows the quadratic regime" not in text
    if negative:
        assert sec["summary"]["first_bad_dw"] == min(negative)
        assert "does not reach a quadratic regime" in text and f"{min(negative):.3g}" in text
        # the error really saturates there: far slower than Δw² (even than √Δw), and below 2λ + 10%
        tail = [(s["dw"], s["abs_error"]) for s in sweep if s["dw"] >= min(negative)]
        (dw0, e0), (dw1, e1) = tail[0], tail[-1]
        assert dw1 > 10 * dw0 and e1 / e0 < (dw1 / dw0) ** 0.5
        assert max(e for _, e in tail) < 2.2 * sec["cells"][0]["lam"]
