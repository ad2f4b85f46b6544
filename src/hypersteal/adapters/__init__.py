"""Adapters from other libraries' models to hypersteal's objectives and parameters."""

from ._sklearn_meta import PerModelResult
from .sklearn import SUPPORTED, steal_from_estimator

__all__ = ["steal_from_estimator", "SUPPORTED", "PerModelResult"]
