"""The answer of :func:`hypersteal.identify`: the verdict, the ranked candidates, and their JSON form."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum

from . import _policy
from ._policy import CLEAR_RATIO
from .registry import LEARNERS, canonical_name
from .result import Status, StealResult, _from_json_float, _json_float

__all__ = ["Identification", "Candidate", "Verdict", "EXIT_CODES"]

#: ``hypersteal identify``'s exit status per verdict (2: bad input, as for every command).
EXIT_CODES = {"identified": 0, "cannot_tell": 3, "no_match": 4}

class Verdict(str, Enum):
    """What :func:`identify` concluded (see the module docstring)."""

    IDENTIFIED = "identified"
    CANNOT_TELL = "cannot_tell"
    NO_MATCH = "no_match"

    def __str__(self) -> str:
        return self.value


@dataclass
class Candidate:
    """One learner's attack on the parameters.

    Attributes
    ----------
    name, paper : str
        The learner's canonical and paper name.
    status : Status
        The attack's status (:class:`hypersteal.Status`).
    residual : float
        The attack's relative stationarity residual.
    margin_slack : float
        Hinge losses: the largest ``|y f − 1|`` among the points treated as on the margin (0 otherwise).
    score : float
        ``max(residual, margin_slack)``: what the ranking compares.
    lambdas, estimate, intervals : dict
        As in :class:`hypersteal.StealResult`.
    excluded : str
        Empty for a competing candidate; else why it is out (contradiction, λ = 0 only, reduces to …).
    n_equations, n_unknowns : int
        Equations that hold a λ (one per penalised weight, L1 zeros excepted), and the λs. With no more
        equations than λs any gradient is fitted exactly. (Hinge margin points' weights are unknowns too, but
        bounded to [0, 1]: they do not fit anything.)
    result : StealResult or None
        The full attack (not serialised).
    """

    name: str
    paper: str
    status: Status
    residual: float
    margin_slack: float
    score: float
    lambdas: dict[str, float]
    estimate: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    excluded: str = ""
    n_equations: int = 0
    n_unknowns: int = 1
    result: StealResult | None = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        self.status = Status(self.status)

    @property
    def stationary(self) -> bool:
        """Competing, and at or near a minimum: status exact or approximate (λ is a number), or any status
        but not_a_minimum at a score ≤ 1e-3 (stationary; λ a range)."""
        if self.excluded or self.status is Status.NOT_A_MINIMUM:
            return False
        return self.status.has_value or self.score <= _policy.NOT_STATIONARY_RESIDUAL

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "paper": self.paper,
            "status": self.status.value,
            "residual": _json_float(self.residual),
            "margin_slack": _json_float(self.margin_slack),
            "score": _json_float(self.score),
            "lambdas": {k: _json_float(v) for k, v in self.lambdas.items()},
            "estimate": {k: _json_float(v) for k, v in self.estimate.items()},
            "intervals": {k: [_json_float(lo), _json_float(hi)] for k, (lo, hi) in self.intervals.items()},
            "excluded": self.excluded,
            "n_equations": self.n_equations,
            "n_unknowns": self.n_unknowns,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Candidate:
        return cls(
            name=d["name"], paper=d["paper"], status=Status(d["status"]),
            residual=_from_json_float(d["residual"]), margin_slack=_from_json_float(d["margin_slack"]),
            score=_from_json_float(d["score"]),
            lambdas={k: _from_json_float(v) for k, v in d["lambdas"].items()},
            estimate={k: _from_json_float(v) for k, v in d["estimate"].items()},
            intervals={k: (_from_json_float(lo), _from_json_float(hi)) for k, (lo, hi) in d["intervals"].items()},
            excluded=d.get("excluded", ""), n_equations=d.get("n_equations", 0), n_unknowns=d.get("n_unknowns", 1),
        )


@dataclass
class Identification:
    """Which learner the parameters came from, and with which hyperparameters.

    Attributes
    ----------
    verdict : Verdict
        ``identified``, ``cannot_tell`` or ``no_match``.
    best : str or None
        The identified learner; under ``cannot_tell`` the best-scoring of :attr:`tied`; None under
        ``no_match``.
    tied : list of str
        The candidates within :data:`CLEAR_RATIO` of the best (``[best]`` when identified).
    candidates : list of Candidate
        Every compatible learner, competing ones by score first, then the excluded ones.
    incompatible : dict of str to str
        Learners of the parameters' family that could not be attacked, with the reason.
    family : str
        ``linear``, ``kernel`` or ``mlp``, from the parameters' layout.
    tasks : list of str
        The tasks y was read as (``regression``, ``classification`` or both).
    options : dict
        The model options the candidates received.
    """

    verdict: Verdict
    best: str | None
    tied: list[str]
    candidates: list[Candidate]
    incompatible: dict[str, str]
    family: str
    tasks: list[str]
    options: dict = field(default_factory=dict)

    def __post_init__(self):
        self.verdict = Verdict(self.verdict)

    @property
    def identified(self) -> bool:
        return self.verdict is Verdict.IDENTIFIED

    def candidate(self, name: str) -> Candidate:
        """The candidate ``name`` (any accepted spelling)."""
        key = canonical_name(name)
        for c in self.candidates:
            if c.name == key:
                return c
        raise KeyError(f"{name!r} is not among the candidates ({', '.join(c.name for c in self.candidates)}).")

    @property
    def result(self) -> StealResult | None:
        """The best candidate's :class:`~hypersteal.StealResult` (None under ``no_match`` or after JSON)."""
        return None if self.best is None else self.candidate(self.best).result

    @property
    def hyperparameters(self) -> dict[str, float]:
        """The best candidate's λs (NaN where not identifiable); empty under ``no_match``."""
        return {} if self.best is None else dict(self.candidate(self.best).lambdas)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict.value]

    def to_dict(self) -> dict:
        """Plain JSON-ready dictionary."""
        return {
            "verdict": self.verdict.value,
            "best": self.best,
            "tied": list(self.tied),
            "family": self.family,
            "tasks": list(self.tasks),
            "options": {k: _json_float(v) if isinstance(v, float) else v for k, v in self.options.items()},
            "clear_ratio": CLEAR_RATIO,
            "candidates": [c.to_dict() for c in self.candidates],
            "incompatible": dict(self.incompatible),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Identification:
        """The identification :meth:`to_dict` described (without the attacks' full results)."""
        return cls(
            verdict=Verdict(d["verdict"]), best=d["best"], tied=list(d["tied"]),
            candidates=[Candidate.from_dict(c) for c in d["candidates"]],
            incompatible=dict(d["incompatible"]), family=d["family"], tasks=list(d["tasks"]),
            options={k: _from_json_float(v) if isinstance(v, (float, type(None))) else v
                     for k, v in d.get("options", {}).items()},
        )

    def summary(self) -> str:
        """A readable multi-line report."""
        head = {
            Verdict.IDENTIFIED: f"identified: {self.best} ({LEARNERS[self.best].paper})" if self.best else "",
            Verdict.CANNOT_TELL: "cannot tell: " + ", ".join(f"{n} ({LEARNERS[n].paper})" for n in self.tied)
                                 + " are equally consistent",
            Verdict.NO_MATCH: "no match: no compatible learner's stationarity conditions hold",
        }[self.verdict]
        lines = [f"hypersteal identify: {head}",
                 f"  {self.family} parameters, y read as {' or '.join(self.tasks)}; a candidate is clearly not the "
                 f"learner when its score is > {CLEAR_RATIO:g}× the best"]
        lines.append(f"  {'learner':<26} {'paper':<9} {'score':>9} {'residual':>9}  {'status':<16} λ")
        for c in self.candidates:
            lams = ", ".join(f"{k}={_fmt(v)}" for k, v in c.lambdas.items())
            if not c.status.has_value:
                lams = ", ".join(f"{k} ∈ [{_fmt(lo)}, {_fmt(hi)}]" for k, (lo, hi) in c.intervals.items())
            mark = "*" if c.name in self.tied else " "
            lines.append(f" {mark}{c.name:<26} {c.paper:<9} {c.score:>9.2g} {c.residual:>9.2g}  "
                         f"{c.status.value:<16} {lams}" + (f"  [{c.excluded}]" if c.excluded else ""))
        for name, reason in self.incompatible.items():
            lines.append(f"  {name:<26} {LEARNERS[name].paper:<9} incompatible: {reason}")
        return "\n".join(lines)

    __str__ = summary

    def __repr__(self) -> str:
        return f"Identification({self.verdict.value!r}, best={self.best!r}, tied={self.tied!r})"


def _fmt(x) -> str:
    x = float(x)
    if math.isnan(x):
        return "nan"
    return "∞" if math.isinf(x) else f"{x:.6g}"
