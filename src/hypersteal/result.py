"""What an attack returns: the stolen hyperparameters and how far to trust them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any

import numpy as np

from .registry import ALGORITHMS

__all__ = ["StealResult", "Status"]


class Status(str, Enum):
    """What a result is, for code to branch on (people read :attr:`StealResult.verdict`).

    ``EXACT``
        The parameters are a stationary point (to round-off) and pin λ down: ``lambdas`` holds it.
    ``APPROXIMATE``
        The parameters are near, not at, a minimum; λ̂ is the value whose conditions they satisfy best,
        and every λ in ``intervals`` is consistent with how far they are from a minimum (rigorously, when a
        solver's stopping rule was known). ``lambdas`` holds λ̂.
    ``INTERVAL_ONLY``
        Near a minimum, but too far for a point: λ is bounded by ``intervals``; ``lambdas`` is NaN and
        ``estimate`` holds the best point.
    ``NOT_IDENTIFIABLE``
        Even an exact minimum would be one for every λ in ``intervals`` (a hinge SVM on separable data
        below a threshold, an L1 model with every weight at zero): no single λ can be stolen.
    ``NOT_A_MINIMUM``
        No λ makes the parameters a minimum of the named objective (wrong learner, options or data,
        a missing intercept, rounded parameters): ``lambdas`` is NaN.
    """

    EXACT = "exact"
    APPROXIMATE = "approximate"
    INTERVAL_ONLY = "interval_only"
    NOT_IDENTIFIABLE = "not_identifiable"
    NOT_A_MINIMUM = "not_a_minimum"

    def __str__(self) -> str:
        return self.value

    @property
    def has_value(self) -> bool:
        """Whether ``lambdas`` holds a number under this status."""
        return self in (Status.EXACT, Status.APPROXIMATE)


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
    status : Status
        What the result is (see :class:`Status`); ``identifiable`` is ``status.has_value``.
    interval_source : str
        Where the width of :attr:`intervals` comes from: ``"round-off"`` (an exact minimum), the
        solver's stopping rule (e.g. ``"lbfgs: max|∇| ≤ tol"``, a rigorous bound when the solver
        converged), ``"replay"`` (the training rerun at λ), or ``"residual"`` (the deviation left at
        λ̂, widened by a factor calibrated on realistic fits).
    native_intervals : dict
        :attr:`intervals` in the library's own names, where the mapping is one to one (adapters).
    n_queries : int or None
        Prediction queries spent extracting the parameters (black-box attacks).
    extraction : object or None
        The :class:`~hypersteal.extraction.Extraction` the parameters came from (black-box attacks).
    decayed : list of str or None
        Names of the parameters that carry weight decay (PyTorch modules).
    shape : dict
        Parameters of the loss's shape that were unknown and recovered with λ (``steal(..., epsilon=None)``):
        name → ``{"value": …, "interval": (lo, hi), "determined": bool}``; ``value`` is NaN where only the
        interval is known. Empty when every loss parameter was given.
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
    status: Status = Status.EXACT
    interval_source: str = "round-off"
    native_intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    n_queries: int | None = None
    extraction: Any = None
    decayed: list[str] | None = None
    shape: dict[str, dict] = field(default_factory=dict)
    _gradient_fn: Any = field(default=None, compare=False)
    _gradient: Any = field(default=None, compare=False)

    def __post_init__(self):
        self.status = Status(self.status)

    def __getstate__(self):
        # the gradient's closure holds the training data and the objective: a pickled result carries
        # only a gradient already computed
        state = dict(self.__dict__)
        state["_gradient_fn"] = None
        return state

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
        spans = "; ".join(
            f"{k} ∈ [{_fmt(lo)}, {_fmt(hi)}]" if lo <= hi else f"{k}: none" for k, (lo, hi) in self.intervals.items()
        )
        if self.status is Status.NOT_A_MINIMUM:
            return (
                "Not a minimum: no λ makes these parameters a minimum of this objective — they were trained far "
                "from convergence, or the learner, its options or the training data are not the ones named (a "
                "missing intercept, rounded or perturbed parameters). The least-squares point is in `estimate`."
            )
        if self.status is Status.NOT_IDENTIFIABLE:
            return (
                f"Not identifiable: a minimum is equally a minimum for every value in {spans}, so no single λ "
                "can be stolen from it."
            )
        if self.status is Status.INTERVAL_ONLY:
            return (
                f"Bounded only: the parameters are a relative residual {self.residual:.2g} away from a minimum; "
                f"consistent with that ({self.interval_source}): {spans}. The best point is in `estimate`."
            )
        if self.status is Status.APPROXIMATE:
            return (
                f"Approximate: the parameters are near, not at, a minimum (relative residual {self.residual:.2g}); "
                f"λ̂ fits them best, and {spans} are consistent with how far they are from one "
                f"({self.interval_source})."
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
            "status": self.status.value,
            "interval_source": self.interval_source,
            "native_intervals": {
                k: [_json_float(lo), _json_float(hi)] for k, (lo, hi) in self.native_intervals.items()
            },
            "n_queries": self.n_queries,
            "decayed": None if self.decayed is None else list(self.decayed),
            "residual": _json_float(self.residual),
            "n_equations": self.n_equations,
            "n_margin": self.n_margin,
            "form": self.form,
            "verdict": self.verdict,
            "warnings": list(self.warnings),
            **({"shape": {k: {"value": _json_float(v["value"]), "interval": [_json_float(x) for x in v["interval"]],
                              "determined": v["determined"]} for k, v in self.shape.items()}} if self.shape else {}),
        }

    @classmethod
    def from_dict(cls, d: dict) -> StealResult:
        """The result :meth:`to_dict` described (without its gradient and extraction)."""
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names and not k.startswith("_")}
        for key in ("lambdas", "estimate", "native"):
            kw[key] = {k: _from_json_float(v) for k, v in d.get(key, {}).items()}
        for key in ("intervals", "native_intervals"):
            kw[key] = {k: (_from_json_float(lo), _from_json_float(hi)) for k, (lo, hi) in d.get(key, {}).items()}
        kw["residual"] = _from_json_float(d["residual"])
        kw["shape"] = {k: {"value": _from_json_float(v["value"]),
                           "interval": tuple(_from_json_float(x) for x in v["interval"]),
                           "determined": v["determined"]} for k, v in d.get("shape", {}).items()}
        kw.pop("extraction", None)
        return cls(**kw)

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
        for k, (lo, hi) in self.native_intervals.items():
            lines.append(f"  {k:<10} ∈ [{_fmt(lo)}, {_fmt(hi)}]   (native)")
        for k, v in self.shape.items():
            lo, hi = v["interval"]
            lines.append(f"  {k:<10} = {_fmt(v['value'])}   consistent: [{_fmt(lo)}, {_fmt(hi)}]   (loss shape)")
        lines.append(f"  status     = {self.status.value}")
        lines.append(f"  residual   = {self.residual:.3g}   ({self.n_equations} equations, {self.form} form"
                     + (f", {self.n_margin} margin points" if self.n_margin else "") + ")")
        lines.append(f"  {self.verdict}")
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def __repr__(self) -> str:
        lams = ", ".join(f"{k}={_fmt(v)}" for k, v in self.lambdas.items())
        return (
            f"StealResult({self.algorithm!r}, {lams}, status={self.status.value!r}, "
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


def _from_json_float(x):
    if x is None:
        return float("nan")
    if isinstance(x, str):
        return float(x)
    return x if not isinstance(x, int) or isinstance(x, bool) else float(x)
