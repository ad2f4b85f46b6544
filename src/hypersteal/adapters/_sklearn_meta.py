"""Search, CV and meta-estimators: unwrapped into the plain estimators they fitted, and stolen together.

* ``GridSearchCV``, ``RandomizedSearchCV``, ``HalvingGridSearchCV``, ``HalvingRandomSearchCV``: their
  ``best_estimator_`` was refit on all the data; the values they searched are kept, so the answer says where
  the chosen value sits among them.
* ``Pipeline``: the earlier steps (a ``ColumnTransformer``, say) transform X.
* ``OneVsRestClassifier`` (one binary problem per class), ``OneVsOneClassifier`` (one per pair of classes, on
  those classes' rows), ``MultiOutputRegressor`` / ``MultiOutputClassifier`` (one per output column),
  ``CalibratedClassifierCV`` (one per cross-validation fold, the folds re-created from its ``cv``): their
  sub-models are clones of one estimator, so unless that estimator chooses its own values (a CV or search
  estimator), they share λ and their stationarity equations are stacked into one answer.
* ``TransformedTargetRegressor``: its regressor was fitted on the transformed targets.

Sub-models that do not share λ come back one result each, as a :class:`PerModelResult`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._lazy import is_lazy
from .._validation import InputError, check_array
from ..attack import rejudge
from ._searches import CV_ESTIMATORS, grid_notes
from ._weights import check_weights
from .replay import refine
from .sklearn import (
    SUPPORTED,
    Problem,
    as_precomputed,
    flag_unconverged,
    leaf_notes,
    leaf_problems,
)
from .solvers import gap_intervals, glmnet_intervals, gradient_bound

__all__ = ["PerModelResult", "resolve", "steal_groups", "META_ESTIMATORS"]

SEARCHES = ("GridSearchCV", "RandomizedSearchCV", "HalvingGridSearchCV", "HalvingRandomSearchCV")
META_ESTIMATORS = ("Pipeline", *SEARCHES, "OneVsRestClassifier", "OneVsOneClassifier", "MultiOutputRegressor",
                   "MultiOutputClassifier", "TransformedTargetRegressor", "CalibratedClassifierCV")
#: densifying a sparse X larger than this many cells is refused
_MAX_DENSE_CELLS = 5 * 10**7


@dataclass
class Part:
    """One fitted plain estimator inside the estimator given, with the rows and targets it was fitted on."""

    kind: str  # its class name, or the plain class a CV estimator stands for
    est: Any  # the estimator, or a stand-in at a CV estimator's chosen values
    X: Any
    y: Any
    w: np.ndarray | None  # the user's sample weights on these rows
    label: str = ""  # which sub-model ("class 'a'", "pair (0, 1)", "output 2", "fold 0")
    path: str = ""  # its parameters' prefix inside the nearest search ("ridge__" in a Pipeline)
    searched: dict = field(default_factory=dict)  # native name → values searched


class PerModelResult(list):
    """One :class:`~hypersteal.StealResult` per sub-model, for meta-estimators whose sub-models were fitted with
    different hyperparameter values (a CV estimator inside ``OneVsRestClassifier``, ``Ridge`` with one alpha
    per target, …). A list of results, with ``labels`` naming each sub-model."""

    def __init__(self, results, labels):
        super().__init__(results)
        self.labels = list(labels)

    @property
    def native(self) -> list[dict]:
        return [r.native for r in self]

    @property
    def identifiable(self) -> bool:
        return all(r.identifiable for r in self)

    @property
    def warnings(self) -> list[str]:
        return [f"{lab}: {w}" for lab, r in zip(self.labels, self) for w in r.warnings]

    def to_dict(self) -> dict:
        return {"per_model": [{"label": lab, **r.to_dict()} for lab, r in zip(self.labels, self)]}

    def summary(self) -> str:
        return "\n".join(f"[{lab}]\n{r.summary()}" for lab, r in zip(self.labels, self))

    __str__ = summary

    def __repr__(self) -> str:
        return f"PerModelResult({', '.join(f'{lab}: {r!r}' for lab, r in zip(self.labels, self))})"


# ------------------------------------------------------------------------------------------------ unwrapping


def _rows(X) -> int:
    shape = getattr(X, "shape", None)
    return int(shape[0]) if shape is not None else len(X)


def _check_fitted(est, name):
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(est)
    except NotFittedError:
        raise InputError(f"This {name} is not fitted yet; call fit(X, y) first, then steal.") from None
    except TypeError:  # not an estimator at all
        pass


def _name(v) -> str:
    """A class label as a person writes it: 0, 'a'."""
    v = v.item() if hasattr(v, "item") else v
    return repr(v)


def _join(label, more):
    return f"{label}, {more}" if label else more


def _chooses_own_values(est) -> bool:
    """Whether clones of ``est`` pick their own hyperparameter values when fitted (CV and search estimators)."""
    if est is None:
        return False
    name = type(est).__name__
    if name in CV_ESTIMATORS or name in SEARCHES:
        return True
    if hasattr(est, "steps"):
        return any(_chooses_own_values(step) for _, step in est.steps if step not in (None, "passthrough"))
    return False


def _merge(subs, shared):
    """Groups of sub-models: one stacked group when they share λ, else each sub-model's own groups."""
    if shared and all(len(groups) == 1 for groups in subs):
        return [[part for groups in subs for part in groups[0]]]
    return [group for groups in subs for group in groups]


def _take(X, rows):
    from sklearn.utils import _safe_indexing

    return _safe_indexing(X, rows) if not is_lazy(X) else X[rows]


def resolve(estimator, X, y, sample_weight=None) -> list[list[Part]]:
    """The plain estimators inside ``estimator``, grouped by the λ they share."""
    y = y if is_lazy(y) else np.asarray(y)
    w = None if sample_weight is None else check_weights(sample_weight, _rows(X))
    return _resolve(estimator, X, y, w, "", "")


def _resolve(est, X, y, w, path, label):
    name = type(est).__name__
    if name == "FrozenEstimator":
        raise InputError(
            "A FrozenEstimator was fitted elsewhere, on data this call cannot see; steal from the estimator it wraps "
            "(frozen.estimator) with the data that estimator was fitted on."
        )
    _check_fitted(est, name)
    if hasattr(est, "steps"):  # Pipeline: the earlier steps transform X
        last_name, last = est.steps[-1]
        if last in (None, "passthrough"):
            raise InputError("This Pipeline ends in 'passthrough': it holds no model to steal from.")
        X = est[:-1].transform(X) if len(est.steps) > 1 else X
        return _resolve(last, X, y, w, f"{path}{last_name}__", label)
    if name in SEARCHES or hasattr(est, "best_index_"):
        return _search(est, name, X, y, w, path, label)
    if name.startswith("MultiTask"):
        raise InputError(
            f"{name} uses a group (ℓ2,1) penalty over the tasks, for which hypersteal has no objective yet; "
            "MultiTask estimators are not supported."
        )
    if name in CV_ESTIMATORS:
        kind, view, searched = CV_ESTIMATORS[name](est)
        return _plain(kind, view, X, y, w, path, label, searched)
    if name in SUPPORTED:
        return _plain(name, est, X, y, w, path, label, {})
    if name == "OneVsRestClassifier":
        return _one_vs_rest(est, X, y, w, path, label)
    if name == "OneVsOneClassifier":
        return _one_vs_one(est, X, y, w, path, label)
    if name in ("MultiOutputRegressor", "MultiOutputClassifier"):
        if y.ndim != 2 or y.shape[1] != len(est.estimators_):
            raise InputError(f"This {name} has {len(est.estimators_)} outputs; pass y with one column per output.")
        subs = [_resolve(sub, X, y[:, k], w, f"{path}estimator__", _join(label, f"output {k}"))
                for k, sub in enumerate(est.estimators_)]
        return _merge(subs, shared=not _chooses_own_values(est.estimator))
    if name == "TransformedTargetRegressor":
        y2 = y.reshape(-1, 1) if y.ndim == 1 else y
        yt = np.asarray(est.transformer_.transform(y2))
        if yt.ndim == 2 and yt.shape[1] == 1 and y.ndim == 1:
            yt = yt[:, 0]
        return _resolve(est.regressor_, X, yt, w, f"{path}regressor__", label)
    if name == "CalibratedClassifierCV":
        return _calibrated(est, X, y, w, path, label)
    supported = [*SUPPORTED, *CV_ESTIMATORS, *META_ESTIMATORS]
    raise TypeError(f"{name} is not supported. Supported estimators: {', '.join(supported)}.")


def _plain(kind, est, X, y, w, path, label, searched):
    alpha = getattr(est, "alpha", None) if kind == "Ridge" else None
    if alpha is not None and np.size(alpha) > 1:  # Ridge with one alpha per target: one learner per target
        from types import SimpleNamespace

        alphas = np.ravel(alpha)
        if y.ndim != 2 or y.shape[1] != alphas.size:
            raise InputError(f"This Ridge has {alphas.size} alphas, one per target; pass y with {alphas.size} "
                             "columns.")
        coef, c = np.atleast_2d(est.coef_), np.broadcast_to(np.atleast_1d(est.intercept_), (alphas.size,))
        return [[Part("Ridge", SimpleNamespace(alpha=float(alphas[k]), positive=getattr(est, "positive", False),
                                               coef_=coef[k], intercept_=float(c[k])),
                      X, y[:, k], w, _join(label, f"target {k}"), path, dict(searched))]
                for k in range(alphas.size)]
    return [[Part(kind, est, X, y, w, label, path, dict(searched))]]


def _search(est, name, X, y, w, path, label):
    if getattr(est, "refit", True) is False or not hasattr(est, "best_estimator_"):
        raise InputError(
            f"This {name} was fitted with refit=False: it holds the search's scores but no model refit on the data, "
            "so there are no parameters to steal from. Refit it with refit=True (the default), or fit the estimator "
            "at best_params_ yourself."
        )
    groups = _resolve(est.best_estimator_, X, y, w, "", label)
    results = getattr(est, "cv_results_", {})
    for group in groups:
        for part in group:
            prefix = f"param_{part.path}"
            for key, values in results.items():
                native = key[len(prefix):]
                if key.startswith(prefix) and "__" not in native and native not in part.searched:
                    nums = [v for v in np.ravel(np.ma.getdata(values)) if _is_number(v)]
                    if nums:
                        part.searched[native] = np.asarray(nums, dtype=float)
            part.path = path + part.path
    return groups


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and np.isfinite(v)


def _one_vs_rest(est, X, y, w, path, label):
    Y = est.label_binarizer_.transform(y)
    Y = Y.toarray() if hasattr(Y, "toarray") else np.asarray(Y)
    classes = est.label_binarizer_.classes_
    subs = []
    for k, sub in enumerate(est.estimators_):
        cls = classes[k] if len(est.estimators_) > 1 else classes[-1]
        if type(sub).__name__ == "_ConstantPredictor":
            raise InputError(f"Class {_name(cls)} is on every row or on none, so OneVsRestClassifier fitted no model "
                             "for it; there is nothing to steal from that class.")
        subs.append(_resolve(sub, X, Y[:, k], w, f"{path}estimator__", _join(label, f"class {_name(cls)}")))
    return _merge(subs, shared=not _chooses_own_values(est.estimator))


def _one_vs_one(est, X, y, w, path, label):
    from sklearn.utils.metaestimators import _safe_split

    classes = est.classes_
    subs, k = [], 0
    for i in range(len(classes)):
        for j in range(i + 1, len(classes)):
            rows = np.flatnonzero((y == classes[i]) | (y == classes[j]))
            Xp, _ = _safe_split(est.estimator, X, y, rows)  # handles kernel="precomputed" (rows and columns)
            yp = (y[rows] == classes[j]).astype(int)
            subs.append(_resolve(est.estimators_[k], Xp, yp, None if w is None else w[rows], f"{path}estimator__",
                                 _join(label, f"pair ({_name(classes[i])}, {_name(classes[j])})")))
            k += 1
    return _merge(subs, shared=not _chooses_own_values(est.estimator))


def _calibrated(est, X, y, w, path, label):
    from sklearn.model_selection import check_cv

    ccs = est.calibrated_classifiers_
    base = est.estimator
    if est.ensemble is False or (est.ensemble == "auto" and type(base).__name__ == "FrozenEstimator"):
        # one classifier fitted on all the data (a FrozenEstimator is refused there)
        return _resolve(ccs[0].estimator, X, y, w, f"{path}estimator__", label)
    cv = est.cv
    if getattr(cv, "shuffle", False) and not isinstance(getattr(cv, "random_state", None), (int, np.integer)):
        raise InputError(
            "This CalibratedClassifierCV shuffled its folds without a fixed random_state, so the rows each fold's "
            "classifier was fitted on cannot be re-created; refit with cv=KFold(..., random_state=0) or an int cv."
        )
    folds = list(check_cv(cv, y, classifier=True).split(X, y))
    if len(folds) != len(ccs):
        raise InputError(f"This CalibratedClassifierCV holds {len(ccs)} classifiers but its cv gives {len(folds)} "
                         "folds on this data; pass the data it was fitted on.")
    subs = [_resolve(cc.estimator, _take(X, train), y[train], None if w is None else w[train], f"{path}estimator__",
                     _join(label, f"fold {f}"))
            for f, ((train, _), cc) in enumerate(zip(folds, ccs))]
    return _merge(subs, shared=not _chooses_own_values(base))


# ------------------------------------------------------------------------------------------------ stealing


def _dense_X(X, notes, est=None):
    """X as the attack takes it: dense, except sparse X for a linear model (``coef_``, no ``dual_coef_``), whose
    attack takes scipy.sparse as it is."""
    if is_lazy(X):
        return X
    linear = est is not None and hasattr(est, "coef_") and not hasattr(est, "dual_coef_")
    if hasattr(X, "toarray") and hasattr(X, "nnz") and linear:
        return X
    if hasattr(X, "toarray") and hasattr(X, "nnz"):  # scipy.sparse
        cells = X.shape[0] * X.shape[1]
        if cells > _MAX_DENSE_CELLS:
            raise InputError(
                f"X is a sparse {X.shape[0]}×{X.shape[1]} matrix; hypersteal's attacks take dense X for now, and "
                f"densifying {cells:.3g} cells is refused. Steal from a sample of the rows or fewer features."
            )
        notes.append(f"X was a sparse {X.shape[0]}×{X.shape[1]} matrix: densified for the attack.")
        X = X.toarray()
    return check_array(X, "X")


def steal_groups(groups, options, replay="auto"):
    """The result of each group (one StealResult, or a PerModelResult), and the caveats to raise as warnings."""
    loud = []
    results = [_steal_group(group, options, loud, replay) for group in groups]
    if len(results) == 1:
        return results[0], loud
    out = []
    for group, r in zip(groups, results):
        if isinstance(r, PerModelResult):
            out.extend(zip(r.labels, r))
        else:
            out.append((group[0].label, r))
    return PerModelResult([r for _, r in out], [lab for lab, _ in out]), loud


def _probe(problem: Problem):
    from ..objectives import get_objective

    names = get_objective(problem.algorithm).hyperparameters
    with np.errstate(divide="ignore", invalid="ignore"):
        return problem.to_native({n: np.float64(1.0 + 0.5 * k) for k, n in enumerate(names)})


def _same_map(a: Problem, b: Problem) -> bool:
    pa, pb = _probe(a), _probe(b)
    return pa.keys() == pb.keys() and all(np.isclose(pa[k], pb[k], rtol=1e-12) for k in pa)


def _steal_group(parts: list[Part], options, loud: list, replay="auto"):
    from ..attack import steal

    notes = []
    problems = []
    for part in parts:
        X = _dense_X(part.X, notes, part.est)
        expected = getattr(part.est, "n_features_in_", None)
        if expected is not None and X.shape[1] != expected:
            raise InputError(
                f"X has {X.shape[1]} features but this {part.kind} was fitted on {expected}; pass the training data "
                "it was fitted on (after the same preprocessing)."
            )
        part.X = X
        problems += [(part, p) for p in leaf_problems(part.kind, part.est, X, part.y, part.w)]
    probs = [p for _, p in problems]
    if len(probs) == 1:
        p = probs[0]
        part = problems[0][0]
        # the estimator's own solver ran on exactly this data: its stopping rule and its replay apply
        same = p.X is part.X and _own_fit(part)
        direct = same and not p.weights
        # class weights travel with the estimator and sample weights go to each training again, so a weighted fit
        # is replayed on its own data (part.X: the weighted squared losses attack rescaled rows); the solvers'
        # stopping rules are stated for unweighted losses, so no bound from them
        replayable = direct or (_own_fit(part) and bool(p.weights))
        bound = gradient_bound(part.est, p.X, part.y) if direct else None
        # the caller's options win over what the estimator says (e.g. epsilon=None: an SVR's ε taken as unknown)
        result = steal(p.algorithm, p.X, p.y, p.params, bound=bound, sample_weight=p.sample_weight,
                       **{**p.options, **options})
        gap = gap_intervals(part.est, p.X, p.y, result.estimate) if direct and p.algorithm in (
            "lasso", "elastic_net") else None
        if direct and p.algorithm == "logistic_l1":
            gap = glmnet_intervals(part.est, p.X, part.y, result.estimate)
        if gap is not None:
            result = rejudge(result, *gap, identifiable_rtol=options.get("identifiable_rtol", 1e-6))
        loud += [m for m in flag_unconverged(part.kind, part.est, result) if m not in loud]
        if replayable:
            result = refine(result, part.est, part.X, part.y, p.to_native, mode=replay,
                            fit_params=None if part.w is None else {"sample_weight": part.w})
    else:
        if any(p.options != probs[0].options for p in probs):
            probs = [as_precomputed(p) for p in probs]
        if not all(p.algorithm == probs[0].algorithm and p.options == probs[0].options and _same_map(p, probs[0])
                   for p in probs):
            if len(parts) == 1:
                raise RuntimeError("the sub-problems of one estimator do not share an objective")
            # the same native value is a different λ on each (Lasso's 2n·alpha on folds of other sizes): one each
            each = [_steal_group([part], options, loud, replay) for part in parts]
            return PerModelResult(each, [part.label for part in parts])
        result = steal_stacked(probs, options)
        part = parts[0]
        if len(parts) == 1 and _own_fit(part):
            # the sub-problems of one estimator (one-vs-rest, one-vs-one): its training can be replayed as a whole
            result = refine(result, part.est, part.X, part.y, probs[0].to_native, mode=replay,
                            fit_params=None if part.w is None else {"sample_weight": part.w})
    lambdas = {k: np.float64(v) for k, v in result.lambdas.items()}  # NaN where not identifiable
    with np.errstate(divide="ignore", invalid="ignore"):
        result.native = {k: float(v) for k, v in probs[0].to_native(lambdas).items()}
        result.native_intervals = _native_intervals(result, probs[0].to_native)
    if len(parts) > 1:
        result.warnings.append(f"{len(parts)} sub-models share λ: their stationarity equations were stacked into this "
                               "one answer.")
    for part in parts:
        loud += [m for m in leaf_notes(part.kind, part.est, part.X, result) if m not in loud]
    result.warnings.extend(notes)
    off = max(p.intercept_residual for p in probs)
    if off > 1e-6:
        result.warnings.append(
            f"the intercept's weighted stationarity Σ w_i r_i = 0 is off by {off:.2g} (relative): the weights passed "
            "may not be the ones the model was fitted with, or the fit is not a minimum."
        )
    _weight_notes(parts[0], probs[0], result)
    grid_notes(parts[0].searched, result, probs[0].to_native)
    return result


def _own_fit(part: Part) -> bool:
    """The part is a real estimator (not a CV estimator's stand-in) on in-memory rows: its own solver's training
    can be run again."""
    return type(part.est).__name__ == part.kind and hasattr(part.est, "get_params") and not is_lazy(part.X)


def _native_intervals(result, to_native) -> dict:
    """The interval of a single λ in native names (every single-λ mapping is monotone)."""
    if len(result.intervals) != 1:
        return {}
    (k, (lo, hi)), = result.intervals.items()
    if lo > hi:
        return {}
    ends = [to_native({k: np.float64(v)}) for v in (lo, hi)]
    out = {}
    for name in ends[0]:
        a, b = float(ends[0][name]), float(ends[1][name])
        if np.isnan(a) or np.isnan(b) or a == b:
            continue
        out[name] = (min(a, b), max(a, b))
    return out


def steal_stacked(problems: list[Problem], options):
    """One λ from several sub-problems that share it (one objective, one set of model options): their
    stationarity equations are stacked (hinge margin weights stay per sub-problem)."""
    from ..attack import steal_stacked as core

    unknown = set(options) - {"identifiable_rtol", "margin_tol"}
    if unknown:
        raise TypeError(f"unexpected option(s) {sorted(unknown)}; steal_from_estimator takes identifiable_rtol and "
                        "margin_tol.")
    return core(problems[0].algorithm, [(p.X, p.y, p.params, p.sample_weight) for p in problems],
                **problems[0].options, **options)


def _weight_notes(part: Part, problem: Problem, result):
    w = part.w
    if w is None or not len(w) or np.ptp(w) != 0:
        return
    c = float(w[0])
    if problem.weights == "mean":
        result.warnings.append(
            f"sample_weight is uniform ({c:g} on every row): {part.kind} rescales weights to sum to n, so uniform "
            "weights change nothing."
        )
    elif c > 0:
        # the loss times c: alpha (a penalty's weight) reads as alpha / c without the weights, C (the loss's) as C·c
        scaled = {k: v / c if k == "alpha" else v * c for k, v in result.native.items() if k in ("alpha", "C")}
        alt = "".join(f" (without it this attack would have returned {k} = {v:.6g})" for k, v in scaled.items())
        result.warnings.append(
            f"sample_weight is uniform ({c:g} on every row): it scales the loss, which is the same fit as no weights "
            f"with λ divided by {c:g}; the model alone cannot tell the two apart{alt}."
        )
