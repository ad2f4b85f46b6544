"""Release-time defences: perturb a model's parameters before they are released.

The paper's defence (§V) rounds the released parameters to a few decimals; adding Gaussian noise is
the other obvious choice.  A defence is a callable that takes a parameter mapping in hypersteal's
format and returns a **new** mapping with every numeric value transformed; the input is never
modified::

    >>> import numpy as np
    >>> from hypersteal.defenses import Rounding, GaussianNoise
    >>> params = {"coef": np.array([0.123456, -2.5]), "intercept": 0.987654}
    >>> Rounding(2)(params)
    {'coef': array([ 0.12, -2.5 ]), 'intercept': 0.99}
    >>> defence = Rounding(3) | GaussianNoise(1e-4, random_state=0)   # round, then add noise
    >>> released = defence(params)

What is transformed: numpy arrays and other array-likes of numbers (returned as float64 ndarrays of
the same shape), Python and numpy numbers (returned as ``float``), lists and tuples of numbers (one
array, returned as the same container of floats), and lists, tuples and mappings of any of these
(``{"coefs": [W1, W2], "intercepts": [b1, b2]}``; each array transformed on its own).  Strings,
``None`` and booleans are passed through unchanged.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping

import numpy as np

from ._validation import InputError, check_positive

__all__ = ["Compose", "Defense", "GaussianNoise", "Rounding"]


class Defense:
    """Base class: subclasses implement :meth:`transform_array`; ``a | b`` applies ``a`` then ``b``."""

    def __call__(self, params):
        """Return a new parameter mapping (or value) with every numeric array transformed."""
        if isinstance(params, (str, bytes)) or params is None:
            raise TypeError(
                f"{type(self).__name__} expects a parameter mapping such as "
                f"{{'coef': ..., 'intercept': ...}}, got {type(params).__name__}."
            )
        return _map_arrays(params, self._array_function(), "params")

    def _array_function(self) -> Callable[[np.ndarray], np.ndarray]:
        """The function applied to each array of one call (a call may hold state, e.g. a generator)."""
        return self.transform_array

    def transform_array(self, a: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __or__(self, other) -> Compose:
        return Compose([self, other])

    def __ror__(self, other) -> Compose:
        return Compose([other, self])


class Rounding(Defense):
    """Round every released number to ``decimals`` decimal places (the paper's defence, §V).

    Parameters
    ----------
    decimals : int >= 0
        Digits kept after the decimal point.  Rounding is :func:`numpy.round` (halves go to the even
        neighbour), so ``Rounding(k)`` gives exactly ``np.round(a, k)``.
    """

    def __init__(self, decimals: int):
        if isinstance(decimals, bool) or not isinstance(decimals, numbers.Integral):
            raise TypeError(
                f"Rounding decimals must be a whole number of decimal places, "
                f"got {type(decimals).__name__} ({decimals!r})."
            )
        if decimals < 0:
            raise InputError(
                f"Rounding decimals must be >= 0 (the digits kept after the decimal point), got {decimals}."
            )
        self.decimals = int(decimals)

    def transform_array(self, a: np.ndarray) -> np.ndarray:
        return np.round(a, self.decimals)

    def __repr__(self) -> str:
        return f"Rounding(decimals={self.decimals})"

    def __eq__(self, other) -> bool:
        return type(other) is Rounding and other.decimals == self.decimals

    def __hash__(self) -> int:
        return hash((Rounding, self.decimals))


class GaussianNoise(Defense):
    """Add independent Gaussian noise to every released number.

    Parameters
    ----------
    scale : float >= 0
        The noise's standard deviation.  With ``relative=False`` (default) it is absolute: every
        entry gets ``N(0, scale**2)``.  With ``relative=True`` each array (and each scalar) gets
        ``N(0, (scale * rms)**2)`` where ``rms = sqrt(mean(a**2))`` of that array, so ``scale=0.01``
        is 1% of the array's typical magnitude (an all-zero array stays zero).
    relative : bool
        See ``scale``.
    random_state : int, numpy Generator, or None
        An int gives the same noise on every call with the same input (a fixed release; re-releasing
        does not let an attacker average the noise away).  A Generator is drawn from, and advanced,
        on every call.  None draws fresh noise every call.
    """

    def __init__(self, scale: float, *, relative: bool = False, random_state=None):
        self.scale = check_positive(scale, "GaussianNoise scale", strict=False)
        if not isinstance(relative, (bool, np.bool_)):
            raise TypeError(f"GaussianNoise relative must be True or False, got {relative!r}.")
        self.relative = bool(relative)
        try:
            np.random.default_rng(random_state)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"GaussianNoise random_state must be an int >= 0, a numpy Generator or None, "
                f"got {random_state!r} ({exc})."
            ) from None
        self.random_state = random_state

    def _array_function(self):
        rng = np.random.default_rng(self.random_state)  # a Generator is returned as is, and advanced

        def add_noise(a: np.ndarray) -> np.ndarray:
            std = self.scale
            if self.relative:
                std = self.scale * (float(np.sqrt(np.mean(np.square(a)))) if a.size else 0.0)
            return a + rng.normal(0.0, 1.0, size=a.shape) * std

        return add_noise

    def transform_array(self, a: np.ndarray) -> np.ndarray:
        """Add noise to one array (each call draws from a fresh ``random_state`` generator)."""
        return self._array_function()(np.asarray(a, dtype=np.float64))

    def __repr__(self) -> str:
        return (
            f"GaussianNoise(scale={self.scale!r}, relative={self.relative}, "
            f"random_state={self.random_state!r})"
        )


class Compose(Defense):
    """Apply several defences in order: ``Compose([Rounding(3), GaussianNoise(1e-4)])``.

    Equivalent to ``Rounding(3) | GaussianNoise(1e-4)``.  Nested compositions are flattened; an empty
    one releases the parameters unchanged (as new containers and arrays).

    Parameters
    ----------
    steps : sequence of callables
        Each takes a parameter mapping and returns a new one (any :class:`Defense` does).
    """

    def __init__(self, steps):
        if isinstance(steps, (Defense, str)) or callable(steps) or not hasattr(steps, "__iter__"):
            raise TypeError(
                f"Compose expects a list of defences such as [Rounding(3), GaussianNoise(1e-4)], "
                f"got {type(steps).__name__}."
            )
        flat = []
        for i, step in enumerate(steps):
            if not callable(step):
                raise TypeError(
                    f"Compose step {i} must be a defence (a callable taking the parameters), "
                    f"got {type(step).__name__} ({step!r})."
                )
            flat.extend(step.steps if isinstance(step, Compose) else [step])
        self.steps = tuple(flat)

    def __call__(self, params):
        if not self.steps:
            return Defense.__call__(self, params)
        for step in self.steps:
            params = step(params)
        return params

    def transform_array(self, a: np.ndarray) -> np.ndarray:
        return np.array(a, dtype=np.float64)  # identity, used only by an empty Compose

    def __repr__(self) -> str:
        return f"Compose([{', '.join(repr(s) for s in self.steps)}])"

    def __len__(self) -> int:
        return len(self.steps)


def _is_number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def _map_arrays(value, fn: Callable[[np.ndarray], np.ndarray], where: str):
    """Apply ``fn`` to every numeric array in ``value``, building new containers."""
    if isinstance(value, Mapping):
        return {k: _map_arrays(v, fn, f"{where}[{k!r}]") for k, v in value.items()}
    if value is None or isinstance(value, (str, bytes, bool, np.bool_)):
        return value
    if _is_number(value):
        return float(fn(np.asarray(value, dtype=np.float64)))
    if isinstance(value, (list, tuple)):
        if value and all(_is_number(v) for v in value):
            out = fn(np.asarray(value, dtype=np.float64)).tolist()
        else:
            out = [_map_arrays(v, fn, f"{where}[{i}]") for i, v in enumerate(value)]
        return type(value)(out) if type(value) in (list, tuple) else out
    arr = np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value)
    if arr.dtype.kind == "b":
        return arr.copy()
    if arr.dtype.kind == "c":
        raise TypeError(f"{where} holds complex numbers; defences apply to real parameters only.")
    if arr.dtype.kind not in "iuf":
        raise TypeError(
            f"{where} must hold numbers, got {type(value).__name__} with dtype {arr.dtype}; "
            "a defence transforms numeric parameters only."
        )
    return fn(arr.astype(np.float64, copy=True))
