"""The MLaaS "Train-Steal-Retrain" study (the paper's Figs. 8–10, §IV-C): not yet available.

It needs the simulated platform ``hypersteal.mlaas`` (issue 6): Protocol I (the platform tunes λ by
5-fold cross-validation and trains) and Protocol II (the user gives λ), metered compute, and the
methods M1 (Protocol I on all data), M2 (Protocol I on a p% sample) and M3 (Protocol I on a q% sample,
steal λ, Protocol II on all data). Until that platform lands this section only reports its status.
"""

from __future__ import annotations

NAME = "mlaas"
DESCRIPTION = "Figs. 8–10: MLaaS Train-Steal-Retrain (M1/M2/M3) — not yet available (needs hypersteal.mlaas)."
PAPER_CLAIM = (
    "M3 (Train-Steal-Retrain) learns a model as accurate as M1 at a fraction of the cost: RR on "
    "UJIIndoorLoc ≈ 8× faster at q = 3% with ≈ 0 relative MSE error; SVM-SHL on Bank ≈ 15× faster at "
    "q = 1%; the speedup grows with the data, to ≈ 300× on 10⁷ synthetic rows (Fig. 9); M2 loses accuracy "
    "(Fig. 10)."
)
FIGURES: dict[str, str] = {}


def available() -> tuple[bool, str]:
    """The study is not wired in yet, whether or not the platform module exists."""
    try:
        import hypersteal.mlaas  # noqa: F401
    except Exception:
        return False, "not yet available: the simulated MLaaS platform (hypersteal.mlaas, issue 6) does not exist yet"
    return False, ("not yet available: hypersteal.mlaas exists but this study has not been wired into "
                   "`reproduce` yet (issue 6)")


def cells(settings: dict) -> list[dict]:
    return []


def run_cell(spec: dict) -> dict:  # pragma: no cover - no cells
    raise NotImplementedError


def summarise(settings: dict, rows: list[dict]) -> dict:
    return {}


def plot(settings: dict, rows: list[dict], out_dir) -> list[str]:
    return []


def findings(settings: dict, summary: dict) -> list[str]:
    return []
