"""What each learner minimises: losses, regularisers, and linear, kernel and neural models.

``get_objective(name, **options)`` returns a fresh objective for any accepted spelling of a
learner's name (ours or the paper's, case-insensitive).
"""

from __future__ import annotations

from ..registry import LEARNERS, canonical_name
from .base import System
from .glm import GammaRegression, PoissonRegression, TweedieRegression
from .insensitive import KernelSVREpsilonInsensitive, SVREpsilonInsensitive, SVRSquaredEpsilonInsensitive
from .kernel import (
    KernelLogisticL1,
    KernelLogisticL2,
    KernelObjective,
    KernelRidge,
    KernelSVMHinge,
    KernelSVMSquaredHinge,
)
from .linear import (
    ElasticNet,
    Lasso,
    LinearObjective,
    LogisticElasticNet,
    LogisticL1,
    LogisticL2,
    Ridge,
    SVMHinge,
    SVMSquaredHinge,
)
from .neural import MLPClassification, MLPRegression
from .objective import Data, Objective
from .robust import HuberRegression


def _objectives() -> dict[str, type[Objective]]:
    """Each registered learner's objective class, looked up by the name its record gives."""
    classes = {name: cls for name, cls in globals().items() if isinstance(cls, type) and issubclass(cls, Objective)}
    table = {}
    for rec in LEARNERS.values():
        cls = classes[rec.objective]
        if cls.name != rec.name:
            raise RuntimeError(f"objective {rec.objective} is named {cls.name!r}, its record {rec.name!r}")
        table[rec.name] = cls
    return table


#: canonical name → objective class (from :data:`hypersteal.registry.LEARNERS`)
OBJECTIVES: dict[str, type[Objective]] = _objectives()


def get_objective(algorithm: str, **options) -> Objective:
    """A new objective for ``algorithm`` (any accepted spelling) with its model options."""
    return OBJECTIVES[canonical_name(algorithm)](**options)


__all__ = [
    "OBJECTIVES", "get_objective", "Data", "Objective", "System", "LinearObjective", "KernelObjective",
    "Ridge", "Lasso", "ElasticNet", "KernelRidge", "LogisticL2", "LogisticL1", "KernelLogisticL2",
    "KernelLogisticL1", "SVMSquaredHinge", "SVMHinge", "KernelSVMSquaredHinge", "KernelSVMHinge",
    "MLPRegression", "MLPClassification", "LogisticElasticNet",
    "SVREpsilonInsensitive", "SVRSquaredEpsilonInsensitive", "KernelSVREpsilonInsensitive",
    "PoissonRegression", "GammaRegression", "TweedieRegression", "HuberRegression",
]
