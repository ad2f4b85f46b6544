"""The :class:`Objective` interface every learner family implements."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._lazy import as_row_chunks, chunk_sum, is_lazy, lazy_classes, refuse_sparse_chunks, sparse_chunks
from .._validation import InputError, check_array, check_options
from ..registry import LEARNERS, Learner
from .base import Loss, Penalty, System

__all__ = ["Data", "Objective"]


@dataclass
class Data:
    """Training data as an objective sees it: features, encoded targets, and what was derived."""

    X: np.ndarray
    Y: np.ndarray  # (n, c): targets, {0,1} / {−1,+1} labels, or one-hot rows
    classes: np.ndarray | None = None
    K: np.ndarray | None = None  # Gram matrix of kernel models
    y_raw: np.ndarray | None = None
    lazy: bool = False  # X and y are Dask arrays, reduced chunk by chunk
    #: known row weights of the loss Σ_i w_i ℓ_i, shape (n, 1) (one per row) or (n, c) (one per row and output,
    #: as one-vs-rest class weights give); None: every weight 1, and no work is spent on them
    w: np.ndarray | None = None


class Objective:
    """``loss(X, y, θ) + Σ_k λ_k R_k(θ)``: what a learner minimises, and its stationarity system.

    Subclasses set ``loss``, ``penalties`` and implement :meth:`prepare`, :meth:`check_params`,
    :meth:`pack`, :meth:`unpack`, :meth:`scores` and :meth:`loss_gradient`. The base class builds
    the system ``b + A λ (+ B β) = 0`` from them.
    """

    #: the learner's canonical name: the key of its record in :data:`hypersteal.registry.LEARNERS`, which
    #: says everything else about it (paper name, task, family, …)
    name = "objective"
    loss: Loss
    penalties: tuple[Penalty, ...] = ()
    #: option name → default; anything else is refused
    option_defaults: dict = {}
    #: whether Dask chunks may be scipy.sparse matrices (an eager sparse X is for each prepare() to take or refuse)
    accepts_sparse = False
    #: whether the loss takes known row weights (:meth:`weigh`), and one per row and output (separate losses)
    accepts_weights = False
    weights_per_output = True

    def __init__(self, **options):
        check_options(options, self.option_defaults, where=f"{self.name}")
        self.options = {**self.option_defaults, **options}

    @property
    def learner(self) -> Learner:
        """This learner's record in the registry."""
        return LEARNERS[self.name]

    @property
    def paper(self) -> str:
        return LEARNERS[self.name].paper

    @property
    def regression(self) -> bool:
        return LEARNERS[self.name].regression

    # ------------------------------------------------------------------ interface
    @property
    def hyperparameters(self) -> tuple[str, ...]:
        """Names of the λs, in the order of the columns of A."""
        if len(self.penalties) == 1:
            return ("lambda",)
        return tuple(f"lambda_{p.name}" for p in self.penalties)

    def prepare(self, X, y) -> Data:
        raise NotImplementedError

    def check_params(self, params, data: Data) -> dict:
        raise NotImplementedError

    def weigh(self, data: Data, sample_weight) -> Data:
        """``data`` with known row weights: the loss becomes ``Σ_i w_i ℓ(y_i, f_i)``, its gradient
        ``X̃ᵀ(w ∘ ∂ℓ/∂f)`` — still linear in λ, so the stationarity system stays exact. ``sample_weight``: one
        finite, non-negative value per row (n,), or per row and output (n, c) (one-vs-rest class weights).
        None leaves ``data`` as it is."""
        if sample_weight is None:
            return data
        if not self.accepts_weights:
            raise InputError(f"{self.name} does not take sample_weight: its loss has no per-row weights here. "
                             "Steal from a fit without weights.")
        if data.lazy:
            raise InputError(f"sample_weight with Dask data is not supported ({self.name}); pass numpy arrays, or "
                             "steal from a fit without weights.")
        w = check_array(sample_weight, "sample_weight", ndim=(1, 2))
        n, c = data.Y.shape
        if w.shape[0] != n:
            raise InputError(f"sample_weight has {w.shape[0]} values but X has {n} rows; pass one weight per row.")
        w = w[:, None] if w.ndim == 1 else w
        if w.shape[1] not in (1, c):
            raise InputError(f"sample_weight has {w.shape[1]} columns but the model has {c} output(s); pass one "
                             "weight per row (1-D), or one per row and output.")
        if w.shape[1] > 1 and not self.weights_per_output:
            raise InputError(f"{self.name} couples its outputs in one loss per row (a softmax), so it takes one weight "
                             f"per row, not one per row and output; got sample_weight of shape {w.shape}.")
        if not np.all(np.isfinite(w)):
            raise InputError("sample_weight holds NaN or infinite values; pass finite weights.")
        if np.any(w < 0):
            raise InputError("sample_weight holds negative values; weights must be non-negative.")
        data.w = w
        return data

    def pack(self, params: dict) -> np.ndarray:
        """The penalised parameters θ as one vector."""
        raise NotImplementedError

    def unpack(self, theta: np.ndarray, params: dict) -> dict:
        """``params`` with θ replaced (the inverse of :meth:`pack`)."""
        raise NotImplementedError

    def scores(self, data: Data, params: dict) -> np.ndarray:
        """Model outputs F of shape (n, c) before the link."""
        raise NotImplementedError

    def loss_gradient(self, data: Data, params: dict) -> np.ndarray:
        """b = ∂loss/∂θ."""
        raise NotImplementedError

    # ------------------------------------------------------------------ shared
    def _penalty_kw(self, data: Data) -> dict:
        return {}

    def loss_for(self, F: np.ndarray) -> Loss:
        """The loss on scores F: ``loss``, unless the scores' shape chooses it (cross-entropy: sigmoid on one
        column, softmax on several). A function of its input, so that nothing about a call is stored."""
        return self.loss

    def loss_value(self, data: Data, params: dict) -> float:
        F = self.scores(data, params)
        return self.loss_for(F).value(F, data.Y, data.w)

    def penalty_values(self, data: Data, params: dict) -> np.ndarray:
        theta = self.pack(params)
        return np.array([p.value(theta, **self._penalty_kw(data)) for p in self.penalties])

    def penalty_gradients(self, data: Data, params: dict) -> np.ndarray:
        """A = [∂R_1/∂θ … ∂R_K/∂θ], shape (p, K)."""
        theta = self.pack(params)
        return np.column_stack([p.grad(theta, **self._penalty_kw(data)) for p in self.penalties])

    def value(self, data: Data, params: dict, lambdas) -> float:
        """The objective ``loss + Σ λ_k R_k`` at ``params``."""
        lambdas = np.atleast_1d(np.asarray(lambdas, dtype=float))
        return self.loss_value(data, params) + float(lambdas @ self.penalty_values(data, params))

    @property
    def has_margin(self) -> bool:
        """A kinked loss (hinge, ε-insensitive, pinball): points on the kink carry unknown subgradients."""
        return self.loss.kinked

    def system(self, data: Data, params: dict, margin: np.ndarray | None = None) -> System:
        """Stationarity system at ``params``; ``margin`` marks hinge points on the margin."""
        b = self.loss_gradient(data, params)
        A = self.penalty_gradients(data, params)
        return self._l1_split(b, A, self.pack(params))

    def _l1_split(self, b, A, theta, B=None, extra=None, **kw) -> System:
        """Turn the coordinates an L1 term holds at zero into bounds instead of equations."""
        scale = float(np.linalg.norm(b))
        bounds = []
        rows = np.ones(len(b), dtype=bool)
        for k, pen in enumerate(self.penalties):
            if pen.is_l1:
                zero = theta == 0
                if np.any(zero):
                    bounds.append((k, np.abs(b[zero])))
                rows &= ~zero
        b, A = b[rows], A[rows]
        if B is not None:
            B = B[rows]
        if extra is not None:  # rows that hold no λ (an unpenalised intercept's equation)
            b0, B0 = extra
            b = np.concatenate([b, b0])
            A = np.vstack([A, np.zeros((len(b0), A.shape[1]))])
            if B is not None:
                B = np.vstack([B, B0])
        return System(b=b, A=A, B=B, l1_bounds=bounds, scale=scale, **kw)

    def margins(self, data: Data, params: dict) -> np.ndarray:
        """δ (n, c), the signed distance to the loss's kink (hinge: y·f − 1); margin points have δ ≈ 0."""
        F = self.scores(data, params)
        return self.loss_for(F).kink(F, data.Y)

    # ------------------------------------------------------------------ helpers for subclasses
    def _classes(self, y) -> np.ndarray:
        """The distinct labels (at least two), checked once for the whole dataset."""
        if is_lazy(y):
            classes = lazy_classes(y)
        else:
            y = np.asarray(y)
            if y.ndim != 1:
                raise InputError(f"{self.name} needs one class label per row (1-D y), got shape {y.shape}.")
            classes = np.unique(y)
        if len(classes) < 2:
            raise InputError(
                f"{self.name} is a classifier but y holds a single class ({classes[0]!r}); "
                "pass data with at least two classes."
            )
        return classes

    def _encode(self, y, classes) -> np.ndarray:
        """Labels → Y (n, c): the loss's binary encoding in sorted order, or one-hot rows (±1 for hinge)."""
        y = np.asarray(y)
        neg, pos = self.loss.encoding or (0.0, 1.0)
        if len(classes) == 2:
            return np.where(y == classes[1], pos, neg).astype(float)[:, None]
        onehot = (y[:, None] == classes[None, :]).astype(float)
        return 2.0 * onehot - 1.0 if (neg, pos) == (-1.0, 1.0) else onehot

    def _encode_labels(self, y):
        """Encode class labels for the loss; returns Y (n, c) and the classes."""
        classes = self._classes(y)
        return self._encode(y, classes), classes

    # ------------------------------------------------------------------ data bigger than memory
    def _prepare_lazy(self, X, y, *, regression: bool) -> Data:
        """Dask X / y: nothing is materialised; gradients are summed chunk by chunk."""
        X, y = as_row_chunks(X, y)
        if sparse_chunks(X) and not self.accepts_sparse:
            raise refuse_sparse_chunks(self.name)
        if regression:
            width = 1 if y.ndim == 1 else y.shape[1]
            return Data(X=X, Y=np.empty((0, width)), y_raw=y, lazy=True)
        classes = self._classes(y)
        width = 1 if len(classes) == 2 else len(classes)
        return Data(X=X, Y=np.empty((0, width)), classes=classes, y_raw=y, lazy=True)

    def _chunk(self, data: Data, Xc, yc) -> Data:
        """The numpy Data of one row chunk of lazy data (a scipy.sparse chunk stays sparse, as CSR)."""
        if hasattr(Xc, "nnz"):  # scipy.sparse, whatever the array's meta said
            if not self.accepts_sparse:
                raise refuse_sparse_chunks(self.name)
            Xc = Xc.tocsr().astype(float, copy=False)
        else:
            Xc = np.asarray(Xc, dtype=float)
        if not np.all(np.isfinite(Xc.data if hasattr(Xc, "nnz") else Xc)):
            raise InputError("X contains NaN or infinite values; impute or drop them before stealing.")
        if data.classes is None:
            Y = np.asarray(yc, dtype=float)
            Y = Y[:, None] if Y.ndim == 1 else Y
        else:
            Y = self._encode(yc, data.classes)
        if data.Y.shape[1] != Y.shape[1] and data.classes is None:
            raise InputError("y chunks disagree on the number of targets.")
        return Data(X=Xc, Y=Y, classes=data.classes)

    def _lazy_gradient(self, data: Data, params: dict) -> np.ndarray:
        return chunk_sum(lambda Xc, yc: self.loss_gradient(self._chunk(data, Xc, yc), params), data.X, data.y_raw)

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items() if v != self.option_defaults[k])
        return f"{type(self).__name__}({self.name!r}{', ' + opts if opts else ''})"
