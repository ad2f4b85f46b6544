"""Kernels, with scikit-learn's names and parameters (``gamma``, ``degree``, ``coef0``).

========== ========================================== =======================
kernel     k(x, z)                                    parameters
========== ========================================== =======================
linear     xᵀz
rbf        exp(−gamma ‖x − z‖²)                        gamma
poly       (gamma xᵀz + coef0)^degree                 gamma, degree, coef0
sigmoid    tanh(gamma xᵀz + coef0)                    gamma, coef0
laplacian  exp(−gamma ‖x − z‖₁)                        gamma
========== ========================================== =======================

``gamma=None`` means 1/d, as in :func:`sklearn.metrics.pairwise.pairwise_kernels`.
``kernel="precomputed"`` takes the Gram matrix as X.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics.pairwise import pairwise_kernels

from ._validation import InputError, check_array, suggest

__all__ = ["KERNELS", "Kernel", "gram"]

KERNELS: dict[str, tuple[str, ...]] = {
    "linear": (),
    "rbf": ("gamma",),
    "poly": ("gamma", "degree", "coef0"),
    "sigmoid": ("gamma", "coef0"),
    "laplacian": ("gamma",),
    "precomputed": (),
}


class Kernel:
    """A kernel function with its parameters.

    Parameters
    ----------
    kernel : str
        One of ``linear``, ``rbf``, ``poly``, ``sigmoid``, ``laplacian`` or ``precomputed``.
    gamma, degree, coef0 : float
        As in scikit-learn; parameters a kernel does not use are refused.
    """

    def __init__(self, kernel: str = "rbf", *, gamma=None, degree=3, coef0=1.0):
        if callable(kernel):
            raise TypeError(
                "Callable kernels are not supported: pass the Gram matrix with kernel='precomputed' "
                "instead (X = K of the training points)."
            )
        if not isinstance(kernel, str) or kernel.lower() not in KERNELS:
            raise InputError(
                f"Unknown kernel {kernel!r}.{suggest(str(kernel), KERNELS)} "
                f"Valid kernels: {', '.join(KERNELS)}."
            )
        self.kernel = kernel.lower()
        if gamma is not None:
            gamma = float(gamma)
            if not np.isfinite(gamma) or gamma <= 0:
                raise InputError(f"The kernel's gamma must be a finite number > 0, got {gamma!r}.")
        self.gamma = gamma
        if self.kernel == "poly" and (int(degree) != degree or degree < 1):
            raise InputError(f"The poly kernel's degree must be an integer >= 1, got {degree!r}.")
        self.degree = degree
        self.coef0 = float(coef0)

    def params(self) -> dict:
        """The parameters this kernel uses, by scikit-learn's names."""
        return {k: getattr(self, k) for k in KERNELS[self.kernel]}

    def __call__(self, A, B=None) -> np.ndarray:
        """Gram matrix k(A, B); for ``precomputed``, A itself."""
        if self.kernel == "precomputed":
            K = check_array(A, "the precomputed Gram matrix X", ndim=2)
            return K
        return pairwise_kernels(A, B, metric=self.kernel, filter_params=True, **self.params())

    def __repr__(self) -> str:
        args = "".join(f", {k}={v!r}" for k, v in self.params().items())
        return f"Kernel({self.kernel!r}{args})"


def gram(X, kernel: str = "rbf", **params) -> np.ndarray:
    """Gram matrix K_ij = k(x_i, x_j) of the training points."""
    return Kernel(kernel, **params)(X)
