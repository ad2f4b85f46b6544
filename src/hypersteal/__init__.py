"""hypersteal: steal the hyperparameters of trained machine-learning models.

>>> import hypersteal
>>> result = hypersteal.steal("ridge", X, y, {"coef": w, "intercept": c})   # doctest: +SKIP
>>> result.lam, result.interval, result.identifiable, result.residual       # doctest: +SKIP

The public names are imported on first use (module ``__getattr__``), so ``import hypersteal`` and
``hypersteal --help`` do not pay for scikit-learn, scipy and pandas until an attack runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

#: public name → the module that defines it
_EXPORTS = {
    "steal": ".attack",
    "steal_stacked": ".attack",
    "Status": ".result",
    "steal_from_estimator": ".adapters",
    "steal_from_module": ".adapters.torch",
    "StealResult": ".result",
    "InputError": "._validation",
    "ALGORITHMS": ".registry",
    "canonical_name": ".registry",
    "extract_parameters": ".extraction",
    "steal_from_api": ".extraction",
    "steal_black_box": ".extraction",
    "Extraction": ".extraction",
    "identify": ".identification",
    "Identification": ".identification",
    "steal_jointly": ".unknowns",
    "JointResult": ".unknowns",
}

__all__ = [
    "steal", "steal_stacked", "steal_from_estimator", "steal_from_module", "StealResult", "Status", "InputError",
    "ALGORITHMS",
    "canonical_name", "extract_parameters", "steal_from_api", "steal_black_box", "Extraction",
    "identify", "Identification", "steal_jointly", "JointResult", "__version__",
]

if TYPE_CHECKING:  # for type checkers and documentation tools; at run time the names load lazily
    from ._validation import InputError
    from .adapters import steal_from_estimator
    from .adapters.torch import steal_from_module
    from .attack import steal, steal_stacked
    from .extraction import Extraction, extract_parameters, steal_black_box, steal_from_api
    from .identification import Identification, identify
    from .registry import ALGORITHMS, canonical_name
    from .result import Status, StealResult
    from .unknowns import JointResult, steal_jointly


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None and not name.startswith("_"):
        try:  # a submodule used as an attribute, e.g. hypersteal.datasets after a plain `import hypersteal`
            return importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    if module is None:
        raise AttributeError(f"module 'hypersteal' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
