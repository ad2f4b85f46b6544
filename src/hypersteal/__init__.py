"""hypersteal: steal the hyperparameters of trained machine-learning models.

>>> import hypersteal
>>> result = hypersteal.steal("ridge", X, y, {"coef": w, "intercept": c})   # doctest: +SKIP
>>> result.lam, result.interval, result.identifiable, result.residual       # doctest: +SKIP
"""

from ._validation import InputError
from .adapters import steal_from_estimator
from .adapters.torch import steal_from_module
from .attack import steal
from .extraction import Extraction, extract_parameters, steal_black_box
from .registry import ALGORITHMS, canonical_name
from .result import StealResult

__version__ = "0.1.0"

__all__ = [
    "steal", "steal_from_estimator", "steal_from_module", "StealResult", "InputError", "ALGORITHMS",
    "canonical_name", "extract_parameters", "steal_black_box", "Extraction", "__version__",
]
