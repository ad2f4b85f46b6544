"""What :func:`hypersteal.steal_jointly` returns."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..result import Status, _fmt, _from_json_float, _json_float

__all__ = ["JointResult", "SCALE_INVARIANCE"]

#: why class weights and λ come relative to the first class
SCALE_INVARIANCE = ("class weights and λ are determined up to one common factor (the loss's overall scale: "
                    "every (c·class_weight, c·λ) is the same fit); they are given with the first class's weight 1")


def _key(label) -> Any:
    """A class label as a plain Python value (numpy scalars → int, float, str)."""
    return label.item() if hasattr(label, "item") else label


@dataclass(repr=False)
class JointResult:
    """λ together with hyperparameters that are usually known: class weights, kernel parameters.

    Attributes
    ----------
    algorithm : str
        Canonical learner name.
    unknown : tuple of str
        What was unknown besides λ: ``"class_weight"``, ``"gamma"``, ``"degree"``, ``"coef0"``.
    hyperparameters : dict
        Everything found: the λs by name (``"lambda"`` …), ``"class_weight"`` (label → weight, the first class
        1), ``"gamma"``, ``"degree"``, ``"coef0"``.
    intervals : dict
        The values consistent with the stationarity conditions, with the same keys (``"class_weight"``: label →
        (lo, hi)). For a profiled parameter: where the residual is within ``PROFILE_FACTOR`` of its minimum.
    status : Status
        What the result is, as for :class:`~hypersteal.StealResult` (every value above counts).
    residual : float
        The relative stationarity residual at the values found; with a profiled parameter of a hinge learner at
        least the distance |y f − 1| of the farthest point taken as lying on the margin (what the profile
        minimised, :func:`hypersteal.unknowns._profile.score`).
    balanced : bool or None
        Whether the class weights are scikit-learn's ``class_weight="balanced"`` (n / (K n_k)): the ratios
        n_0 / n_k lie in the class weights' intervals. None when class weights were known.
    native : dict
        The estimator's own names (``{"C": …, "class_weight": …}``), when stolen from an estimator. With
        ``balanced``, C is at the balanced weights' scale (the estimator's C); otherwise at the first class's
        weight 1.
    invariance : str
        What the data cannot determine (class weights: the common scale), or "".
    curve : list of (float, float)
        The profile (value, residual) of a profiled parameter: how sharply it is determined.
    n_equations : int
        Stationarity equations used.
    """

    algorithm: str
    unknown: tuple[str, ...]
    hyperparameters: dict[str, Any]
    intervals: dict[str, Any]
    status: Status
    residual: float
    n_equations: int
    balanced: bool | None = None
    native: dict[str, Any] = field(default_factory=dict)
    invariance: str = ""
    curve: list[tuple[float, float]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def identifiable(self) -> bool:
        """Whether every value is determined (status exact or approximate)."""
        return self.status.has_value

    @property
    def class_weight(self) -> dict | None:
        """The class weights found (the first class 1), or None."""
        return self.hyperparameters.get("class_weight")

    def to_dict(self) -> dict:
        def plain(v):
            if isinstance(v, dict):
                return {str(_key(k)): plain(x) for k, x in v.items()}
            if isinstance(v, (tuple, list)):
                return [plain(x) for x in v]
            return _json_float(v) if isinstance(v, float) else v

        return {"algorithm": self.algorithm, "unknown": list(self.unknown), "status": self.status.value,
                "identifiable": self.identifiable, "hyperparameters": plain(self.hyperparameters),
                "intervals": plain(self.intervals), "residual": _json_float(self.residual),
                "n_equations": self.n_equations, "balanced": self.balanced, "native": plain(self.native),
                "invariance": self.invariance, "curve": plain(self.curve), "warnings": list(self.warnings)}

    @classmethod
    def from_dict(cls, d: dict) -> JointResult:
        def back(v):
            if isinstance(v, dict):
                return {k: back(x) for k, x in v.items()}
            if isinstance(v, list):
                return tuple(back(x) for x in v)
            return _from_json_float(v) if v is None or v in ("inf", "-inf") or isinstance(v, (int, float)) else v

        return cls(d["algorithm"], tuple(d["unknown"]), back(d["hyperparameters"]), back(d["intervals"]),
                   Status(d["status"]), _from_json_float(d["residual"]), d["n_equations"], d["balanced"],
                   back(d["native"]), d["invariance"], [tuple(p) for p in back(d["curve"])], list(d["warnings"]))

    def summary(self) -> str:
        lines = [f"{self.algorithm}: {self.status.value} (unknown besides λ: {', '.join(self.unknown)})"]
        for name, value in self.hyperparameters.items():
            iv = self.intervals.get(name)
            if isinstance(value, dict):
                for label, v in value.items():
                    lo, hi = iv[label]
                    lines.append(f"  {name}[{_key(label)!r}] = {_fmt(v)}  in [{_fmt(lo)}, {_fmt(hi)}]")
            elif iv is not None:
                lines.append(f"  {name:<10} = {_fmt(float(value))}  in [{_fmt(iv[0])}, {_fmt(iv[1])}]")
        if self.balanced:
            lines.append('  class_weight is "balanced" (n / (K·n_k))')
        if self.native:
            lines.append(f"  native     = {self.native}")
        lines.append(f"  residual   = {self.residual:.3g}  ({self.n_equations} equations)")
        if self.invariance:
            lines.append(f"  note: {self.invariance}")
        lines.extend(f"  warning: {w}" for w in self.warnings)
        return "\n".join(lines)

    def __repr__(self) -> str:
        values = ", ".join(f"{k}={v!r}" if isinstance(v, dict) else f"{k}={v:.6g}"
                           for k, v in self.hyperparameters.items()
                           if isinstance(v, dict) or not math.isnan(float(v)))
        return f"JointResult({self.algorithm!r}, {self.status.value}, {values})"
