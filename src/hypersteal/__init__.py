"""hypersteal: steal the hyperparameters of trained machine-learning models.

>>> import hypersteal
>>> result = hypersteal.steal("ridge", X, y, {"coef": w, "intercept": c})   # doctest: +SKIP
>>> result.lam, result.interval, result.identifiable, result.residual       # doctest: +SKIP
"""

from ._validation import InputError
from .adapters import steal_from_estimator
from .attack import steal
from .registry import ALGORITHMS, canonical_name
from .result import StealResult

__version__ = "0.1.0"

__all__ = ["steal", "steal_from_estimator", "StealResult", "InputError", "ALGORITHMS", "canonical_name", "__version__"]
