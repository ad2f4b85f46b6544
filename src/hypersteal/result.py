"""What an attack returns: the stolen hyperparameters and how far to trust them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .registry import ALGORITHMS

__all__ = ["StealResult"]


def _fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "undetermined"
    if math.isinf(x):
        return "∞"
    return f"{x:.10g}"


@dataclass(repr=False)
class StealResult:
    """The hyperparameters a learner used, recovered from its parameters.

    Attributes
    ----------
    algorithm : str
        Canonical learner name (``"ridge"``, ``"svm_hinge"``, …).
    lambdas : dict of str to float
        The stolen λs in the paper's convention (sums, no ½). NaN where the data do not determine
        the value; then :attr:`interval` says which values are consistent.
    estimate : dict of str to float
        The least-squares point, also when it is only one of many consistent values.
    native : dict
        The same hyperparameters in a library's own names (``{"alpha": 0.3}``); filled by adapters.
    interval : (float, float) or None
        Values of λ consistent with the stationarity conditions within the observed residual
        (single-λ learners; see :attr:`intervals` for several).
    intervals : dict of str to (float, float)
        One interval per hyperparameter.
    identifiable : bool
        Whether the stationarity conditions pin every λ to a point (to within ``identifiable_rtol``
        or, for inexact fits, what their residual explains).
    residual : float
        Relative stationarity residual ‖b + Aλ̂ (+ Bβ̂)‖ / ‖b‖: about the solver tolerance at a
        true minimum, large when the parameters are not a stationary point.
    n_equations : int
        Equations used (penalised parameters not held at zero, plus intercept rows on hinge losses).
    n_margin : int
        Hinge points treated as lying on the margin (their weights were estimated).
    form : str
        ``"primal"``, ``"full"`` or ``"reduced"``: which equivalent system was solved.
    warnings : list of str
        Plain-language caveats.
    """

    algorithm: str
    lambdas: dict[str, float]
    estimate: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    identifiable: bool
    residual: float
    n_equations: int
    n_margin: int = 0
    form: str = "primal"
    native: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    _gradient_fn: Any = field(default=None, compare=False)
    _gradient: Any = field(default=None, compare=False)

    @property
    def lam(self) -> float | None:
        """The single λ, or None for learners with several (elastic net)."""
        if len(self.lambdas) != 1:
            return None
        return next(iter(self.lambdas.values()))

    @property
    def interval(self) -> tuple[float, float] | None:
        """(low, high) of consistent λ for single-λ learners, else None."""
        if len(self.intervals) != 1:
            return None
        return next(iter(self.intervals.values()))

    @property
    def verdict(self) -> str:
        """One plain-language sentence on what the attack found."""
        if any(lo > hi for lo, hi in self.intervals.values()):
            return (
                "Not a minimum: no λ satisfies every stationarity condition at once, so these parameters were "
                "not trained with this objective to optimality (rounded, perturbed, or another learner)."
            )
        if not self.identifiable:
            spans = "; ".join(f"{k} ∈ [{_fmt(lo)}, {_fmt(hi)}]" for k, (lo, hi) in self.intervals.items())
            return (
                "Not identifiable: the model is equally stationary for every value in "
                f"{spans}, so no single λ can be stolen from it."
            )
        if self.residual > 1e-3:
            return (
                f"Approximate: the parameters are not an exact minimum (relative residual "
                f"{self.residual:.2g}); λ is the least-squares fit to the stationarity conditions."
            )
        return "Recovered: the parameters pin λ down (a stationary point of the objective at λ̂)."

    def gradient(self) -> np.ndarray:
        """∇λ̂ with respect to the penalised parameters θ (Theorem 2 of the paper).

        λ̂(θ* + Δθ) − λ̂(θ*) = Δθᵀ∇λ̂ + O(‖Δθ‖²), so ``abs(result.gradient()) @ abs(Δθ)`` bounds
        the first-order error caused by perturbed or stolen parameters. Computed once on demand by
        central differences of the estimator (two passes over the data per parameter). Shape (p,)
        for one λ, (K, p) for several; θ is the order of the objective's ``pack``: coef row-major,
        dual_coef, or each MLP weight matrix row-major, layer by layer.
        """
        if self._gradient is None:
            if self._gradient_fn is None:
                raise RuntimeError("This result carries no gradient (it was not produced by steal()).")
            g = self._gradient_fn()
            self._gradient = g[0] if g.shape[0] == 1 else g
        return self._gradient

    def predicted_change(self, delta) -> float | np.ndarray:
        """First-order change of λ̂ when θ moves by ``delta`` (Theorem 2)."""
        return self.gradient() @ np.asarray(delta, dtype=float).ravel()

    def to_dict(self) -> dict:
        """Plain JSON-ready dictionary."""
        return {
            "algorithm": self.algorithm,
            "paper_name": ALGORITHMS.get(self.algorithm, ""),
            "lambdas": {k: _json_float(v) for k, v in self.lambdas.items()},
            "estimate": {k: _json_float(v) for k, v in self.estimate.items()},
            "native": {k: _json_float(v) if isinstance(v, float) else v for k, v in self.native.items()},
            "intervals": {k: [_json_float(lo), _json_float(hi)] for k, (lo, hi) in self.intervals.items()},
            "identifiable": self.identifiable,
            "residual": _json_float(self.residual),
            "n_equations": self.n_equations,
            "n_margin": self.n_margin,
            "form": self.form,
            "verdict": self.verdict,
            "warnings": list(self.warnings),
        }

    def summary(self) -> str:
        """A readable multi-line report."""
        lines = [f"hypersteal: {self.algorithm} ({ALGORITHMS.get(self.algorithm, '')})"]
        for k, v in self.lambdas.items():
            lo, hi = self.intervals[k]
            extra = "" if self.identifiable else f"  (least-squares point {_fmt(self.estimate[k])})"
            span = "none (the conditions contradict each other)" if lo > hi else f"[{_fmt(lo)}, {_fmt(hi)}]"
            lines.append(f"  {k:<10} = {_fmt(v)}   consistent: {span}{extra}")
        for k, v in self.native.items():
            lines.append(f"  {k:<10} = {_fmt(v) if isinstance(v, float) else v}   (native)")
        lines.append(f"  residual   = {self.residual:.3g}   ({self.n_equations} equations, {self.form} form"
                     + (f", {self.n_margin} margin points" if self.n_margin else "") + ")")
        lines.append(f"  {self.verdict}")
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def __repr__(self) -> str:
        lams = ", ".join(f"{k}={_fmt(v)}" for k, v in self.lambdas.items())
        return (
            f"StealResult({self.algorithm!r}, {lams}, identifiable={self.identifiable}, "
            f"residual={self.residual:.3g})"
        )

    __str__ = summary


def _json_float(x):
    x = float(x)
    if math.isnan(x):
        return None
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x
