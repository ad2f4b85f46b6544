"""The six datasets of the paper's Table II, bundled and preprocessed the same way every time.

>>> from hypersteal import datasets
>>> datasets.names()
['diabetes', 'geoorig', 'ujiindoorloc', 'iris', 'madelon', 'bank']
>>> ds = datasets.load("madelon", subsample=200)
>>> ds.X.shape, ds.task
((200, 500), 'classification')

Diabetes and Iris come from scikit-learn; GeoOrig, UJIIndoorLoc, Madelon and Bank are the original
UCI / NIPS files, gzip-compressed, in ``data/`` (citations, licences and provenance in
``data/README.md``).  Each compressed file's sha256 is checked on every :func:`load`; parsing is
done once per process (the arrays are cached, and every call returns fresh copies).  What was done
to each dataset is in ``Dataset.preprocessing`` and in ``docs/datasets.md``.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .._validation import InputError, suggest

__all__ = ["Dataset", "load", "names"]

#: Folder holding the bundled compressed files (module-level so tests can point it elsewhere).
_DATA_DIR = Path(__file__).resolve().with_name("data")

#: sha256 of every bundled .gz file (the same values as ``data/SHA256SUMS``).
_SHA256 = {
    "bank/bank-full.csv.gz": "a33820520e31d26b498e31003e99eb0e477690b699a38eade375acf3b3004dcd",
    "bank/bank-names.txt.gz": "6cb5c975cc78662ce9f74e40eac5179dfeb40ce101e39724e568ec1c68d60145",
    "geoorig/default_features_1059_tracks.txt.gz": (
        "67d412c6e9c9982607dff8992915016e640ddf222dea57926ad0e9bf42991cf1"
    ),
    "madelon/madelon.param.gz": "ba1db393b6366b76c6b29df2410d3f13ae8a51cab1195306e3e1536d3189ad2e",
    "madelon/madelon_train.data.gz": "95d0caa82babd069fbcb9e14ccd32e1f05513900e3249fa0ab5d3794fdcab29e",
    "madelon/madelon_train.labels.gz": "99f69fc62be6f9374b13a11a688626fcc36697b8d467965f36b83673e8c27d4d",
    "madelon/madelon_valid.data.gz": "9437799ad767e00fd429e62839f0bdfdcca84cbb71094eede43f6a547cd4e629",
    "madelon/madelon_valid.labels.gz": "12542ee4a72c2e0763663ffc924eebee31cf02764a041e02f2275dbeeaa5ec3f",
    "ujiindoorloc/trainingData.csv.gz": "b1935492d3a790369e52263eb5893d1fc75a6b09303d2939ac322c39c0bd6599",
}

_UCI_LICENCE = (
    "UCI Machine Learning Repository, CC BY 4.0 (likely; the licence field could not be checked when "
    "the copy was made): cite the creators."
)


@dataclass(frozen=True, repr=False)
class Dataset:
    """One preprocessed dataset.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features), float64
        The features, preprocessed as ``preprocessing`` says.
    y : ndarray of shape (n_samples,)
        Float64 targets (regression) or int64 labels 0/1 (classification).
    name, task : str
        The dataset's name in :func:`names`; ``"regression"`` or ``"classification"``.
    feature_names : tuple of str
        One name per column of ``X``.
    target : str
        What ``y`` is.
    source, citation, licence : str
        Where the data came from, whom to cite, and under which terms it is used.
    preprocessing : str
        Exactly what was done to the raw data (and the subsample, if one was taken).
    n_rows_paper, n_features_paper : int
        The size the paper's Table II gives.
    notes : str
        Differences from the paper and other things worth knowing.
    files : tuple of str
        The bundled files it was read from, relative to ``data/`` (empty for scikit-learn's).
    """

    X: np.ndarray
    y: np.ndarray
    name: str
    task: str
    feature_names: tuple[str, ...]
    target: str
    source: str
    citation: str
    licence: str
    preprocessing: str
    n_rows_paper: int
    n_features_paper: int
    notes: str = ""
    files: tuple[str, ...] = field(default=())

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, task={self.task!r}, X={self.X.shape}, y={self.y.shape}, "
            f"target={self.target!r}, n_rows_paper={self.n_rows_paper})"
        )


# --------------------------------------------------------------------------------------------------
# Files and checksums


def _path(relative: str, data_dir: str | None = None) -> Path:
    """The verified path of a bundled file; raises if it is missing or its sha256 is wrong."""
    path = Path(_DATA_DIR if data_dir is None else data_dir) / relative
    if not path.is_file():
        raise InputError(
            f"The bundled data file {relative!r} is missing (looked in {path}); the hypersteal "
            "installation is incomplete. Reinstall hypersteal."
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != _SHA256[relative]:
        raise InputError(
            f"The bundled data file {relative!r} ({path}) fails its checksum: sha256 {digest}, "
            f"expected {_SHA256[relative]}. The hypersteal installation is corrupt; reinstall hypersteal."
        )
    return path


def _zscore(a: np.ndarray) -> np.ndarray:
    """Centre each column and divide by its standard deviation (ddof=0; constant columns are only centred)."""
    mean, std = a.mean(axis=0), a.std(axis=0)
    return (a - mean) / np.where(std > 0, std, 1.0)


# --------------------------------------------------------------------------------------------------
# The six loaders. Each returns (X, y, feature_names, fields) for the full dataset; fields are the
# remaining Dataset attributes.  They are cached by _load_full.


def _diabetes(data_dir: str):
    from sklearn.datasets import load_diabetes

    raw = load_diabetes()
    fields = dict(
        task="regression",
        target="disease progression one year after baseline (25 to 346), as is",
        source="scikit-learn sklearn.datasets.load_diabetes (scaled version)",
        citation=(
            "B. Efron, T. Hastie, I. Johnstone, R. Tibshirani, 'Least Angle Regression', "
            "Annals of Statistics 32(2):407-499, 2004."
        ),
        licence="Distributed with scikit-learn (BSD-3-Clause); original data from Efron et al. (2004).",
        preprocessing=(
            "scikit-learn's scaled version, unchanged: each of the 10 features is mean-centred and "
            "scaled to unit Euclidean norm over the 442 rows (std * sqrt(n_samples)). "
            "Target unchanged. No rows dropped."
        ),
        n_rows_paper=442,
        n_features_paper=10,
        notes="Same size as the paper.",
    )
    return raw.data.astype(np.float64), raw.target.astype(np.float64), list(raw.feature_names), fields


def _iris(data_dir: str):
    from sklearn.datasets import load_iris

    raw = load_iris()
    keep = raw.target < 2
    fields = dict(
        task="classification",
        target="species: 0 = setosa, 1 = versicolor",
        source="scikit-learn sklearn.datasets.load_iris",
        citation=(
            "R. A. Fisher, 'The use of multiple measurements in taxonomic problems', "
            "Annals of Eugenics 7(2):179-188, 1936. UCI Machine Learning Repository, 'Iris'."
        ),
        licence="Distributed with scikit-learn (BSD-3-Clause); UCI 'Iris' is CC BY 4.0.",
        preprocessing=(
            "The first two classes only (setosa = 0, versicolor = 1; the 50 virginica rows dropped): "
            "100 rows x 4 features, in centimetres, not rescaled."
        ),
        n_rows_paper=100,
        n_features_paper=4,
        notes=(
            "Same size as the paper (two of the three classes). The two classes are linearly "
            "separable. scikit-learn's copy follows Fisher's paper, which differs from the UCI file "
            "in two setosa rows."
        ),
    )
    return (
        raw.data[keep].astype(np.float64),
        raw.target[keep].astype(np.int64),
        list(raw.feature_names),
        fields,
    )


def _geoorig(data_dir: str):
    relative = "geoorig/default_features_1059_tracks.txt.gz"
    with gzip.open(_path(relative, data_dir)) as fh:
        raw = np.loadtxt(fh, delimiter=",")
    fields = dict(
        task="regression",
        target="latitude of the country of origin (column 68 of the file), in degrees, as is",
        source=(
            "UCI 'Geographical Original of Music', default_features_1059_tracks.txt (bundled: "
            "data/geoorig/default_features_1059_tracks.txt.gz, the original file gzip-compressed)"
        ),
        citation=(
            "F. Zhou, C. Q, R. D. King, 'Predicting the Geographical Origin of Music', IEEE ICDM 2014. "
            "UCI Machine Learning Repository, 'Geographical Original of Music'."
        ),
        licence=_UCI_LICENCE,
        preprocessing=(
            "Columns 0-67 (the 68 MARSYAS audio features) as X, unchanged: the file's features are "
            "already standardised (column means ~0, standard deviations 0.91-1.02). Target = "
            "column 68 (latitude). Column 69 (longitude) is not used. No rows dropped."
        ),
        n_rows_paper=1059,
        n_features_paper=68,
        notes=(
            "The paper does not say which coordinate it regressed on; we use latitude. "
            "The tracks come from 33 locations (one per country), which have 31 distinct latitudes."
        ),
        files=(relative,),
    )
    names = [f"feature_{j:02d}" for j in range(68)]
    return raw[:, :68].copy(), raw[:, 68].copy(), names, fields


def _ujiindoorloc(data_dir: str):
    import pandas as pd

    relative = "ujiindoorloc/trainingData.csv.gz"
    frame = pd.read_csv(_path(relative, data_dir))
    wap = [c for c in frame.columns if c.startswith("WAP")]
    rssi = frame[wap].to_numpy(dtype=np.float64)
    detected = rssi != 100
    weakest = float(rssi[detected].min())  # -104 dBm in this file
    floor = weakest - 1.0
    rssi[~detected] = floor
    X = (rssi - floor) / -floor
    lon = frame["LONGITUDE"].to_numpy(dtype=np.float64)
    lon_mean = float(lon.mean())
    never = int((~detected).all(axis=0).sum())
    other = [c for c in frame.columns if c not in wap and c != "LONGITUDE"]
    fields = dict(
        task="regression",
        target=f"LONGITUDE minus its mean ({lon_mean:.6f}), in metres (projected coordinates)",
        source=(
            "UCI 'UJIIndoorLoc', trainingData.csv (bundled: data/ujiindoorloc/trainingData.csv.gz, "
            "the original file gzip-compressed)"
        ),
        citation=(
            "J. Torres-Sospedra, R. Montoliu, A. Martinez-Uso, T. J. Arnau, J. P. Avariento, "
            "M. Benedito-Bordonau, J. Huerta, 'UJIIndoorLoc: A new multi-building and multi-floor "
            "database for WLAN fingerprint-based indoor localization problems', IPIN 2014, pp. 261-270, "
            "doi:10.1109/IPIN.2014.7275492. UCI Machine Learning Repository, 'UJIIndoorLoc'."
        ),
        licence=_UCI_LICENCE,
        preprocessing=(
            f"X = the 520 WAP columns (RSSI in dBm, {weakest:g} to 0). The value 100 ('access point not "
            f"detected', {np.mean(~detected):.1%} of entries) is replaced by {floor:g} dBm, one dB below "
            "the weakest reading in the file, so that 'not heard' ranks just below 'barely heard' and "
            f"each feature is monotone in signal strength; then rescaled to ({-floor:g} + rssi) / "
            f"{-floor:g}, so 0 = not detected and 1 = 0 dBm (all features in [0, 1]). "
            f"Target = LONGITUDE centred by subtracting its mean over the 19937 rows ({lon_mean:.6f}); "
            f"add it back for absolute coordinates. The other 8 columns ({', '.join(other)}) are not "
            "used. No rows or columns dropped."
        ),
        n_rows_paper=19937,
        n_features_paper=529,
        notes=(
            f"The paper's 529 attributes count every column of the file; we use the 520 WAP columns. "
            f"{never} WAP columns are never detected in this file and are therefore all-zero; they are "
            "kept, so that the columns are WAP001 ... WAP520 in order. The file has "
            f"{int(frame.duplicated().sum())} exact duplicate rows; they are kept, as the paper "
            "counted them. The 1111-row validation file is not bundled."
        ),
        files=(relative,),
    )
    return X, lon - lon_mean, wap, fields


def _madelon(data_dir: str):
    _path("madelon/madelon.param.gz", data_dir)  # checked with the rest, though not parsed
    parts = []
    relatives = []
    for split in ("train", "valid"):
        data_rel, labels_rel = f"madelon/madelon_{split}.data.gz", f"madelon/madelon_{split}.labels.gz"
        with gzip.open(_path(data_rel, data_dir)) as fh:
            X = np.loadtxt(fh)
        with gzip.open(_path(labels_rel, data_dir)) as fh:
            y = np.loadtxt(fh)
        parts.append((X, y))
        relatives += [data_rel, labels_rel]
    raw = np.vstack([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    fields = dict(
        task="classification",
        target="the label files' class: -1 -> 0, +1 -> 1",
        source=(
            "NIPS 2003 Feature Selection Challenge / UCI 'Madelon': madelon_train and madelon_valid "
            "data + labels (bundled: data/madelon/*.gz, the original files gzip-compressed)"
        ),
        citation=(
            "I. Guyon, S. Gunn, A. Ben-Hur, G. Dror, 'Result analysis of the NIPS 2003 feature selection "
            "challenge', NIPS 2004. UCI Machine Learning Repository, 'Madelon'."
        ),
        licence=_UCI_LICENCE,
        preprocessing=(
            "The 2000 train rows followed by the 600 valid rows (2600 x 500, integer features 0-999). "
            "Every feature standardised (z-score: minus its mean, divided by its standard deviation, "
            "ddof=0, both over the 2600 rows). Labels -1/+1 mapped to 0/1. No rows dropped."
        ),
        n_rows_paper=4400,
        n_features_paper=500,
        notes=(
            "The paper's 4400 rows = 2000 train + 600 valid + 1800 test, but the test labels were never "
            "published, so only the 2600 labelled rows are used (balanced: 1300 per class)."
        ),
        files=tuple(relatives) + ("madelon/madelon.param.gz",),
    )
    names = [f"feature_{j:03d}" for j in range(raw.shape[1])]
    return _zscore(raw), (labels > 0).astype(np.int64), names, fields


def _bank(data_dir: str):
    import pandas as pd

    relative = "bank/bank-full.csv.gz"
    frame = pd.read_csv(_path(relative, data_dir), sep=";")
    _path("bank/bank-names.txt.gz", data_dir)
    y = (frame.pop("y") == "yes").to_numpy().astype(np.int64)
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    categorical = [c for c in frame.columns if c not in numeric]
    baseline = {c: sorted(frame[c].unique())[0] for c in categorical}
    encoded = pd.get_dummies(frame, columns=categorical, drop_first=True, dtype=np.float64)
    encoded[numeric] = _zscore(frame[numeric].to_numpy(dtype=np.float64))
    fields = dict(
        task="classification",
        target="y: subscribed a term deposit? yes -> 1, no -> 0",
        source=(
            "UCI 'Bank Marketing' (id 222), bank-full.csv (bundled: data/bank/bank-full.csv.gz, the "
            "original file gzip-compressed, with bank-names.txt)"
        ),
        citation=(
            "S. Moro, P. Cortez, P. Rita, 'A Data-Driven Approach to Predict the Success of Bank "
            "Telemarketing', Decision Support Systems 62:22-31, 2014; S. Moro, R. Laureano, P. Cortez, "
            "'Using Data Mining for Bank Direct Marketing: An Application of the CRISP-DM Methodology', "
            "ESM 2011, pp. 117-121. UCI Machine Learning Repository, 'Bank Marketing'."
        ),
        licence=_UCI_LICENCE + " bank-names.txt: 'public available for research'.",
        preprocessing=(
            f"All 45211 rows. The {len(numeric)} numeric columns ({', '.join(numeric)}) standardised "
            "(z-score, ddof=0, over all rows), first in X. The "
            f"{len(categorical)} categorical columns one-hot encoded as 0/1 with pandas.get_dummies("
            "drop_first=True), so the design is not exactly collinear with an intercept; the dropped "
            "(baseline) level of each is the alphabetically first: "
            + ", ".join(f"{c}={v}" for c, v in baseline.items())
            + ". 'unknown' is kept as a level of its own. pdays = -1 (never contacted) is kept as a "
            f"number. Target y yes/no -> 1/0. {encoded.shape[1]} features in all."
        ),
        n_rows_paper=45210,
        n_features_paper=16,
        notes=(
            "The file has 45211 rows; the paper says 45210. 11.7% of rows are positive (5289). "
            "'duration' is known only after the call (bank-names.txt says to discard it for a "
            "realistic predictive model); it is kept, as the paper used all 16 attributes."
        ),
        files=(relative, "bank/bank-names.txt.gz"),
    )
    return encoded.to_numpy(dtype=np.float64), y, list(encoded.columns), fields


_LOADERS: dict[str, Callable] = {
    "diabetes": _diabetes,
    "geoorig": _geoorig,
    "ujiindoorloc": _ujiindoorloc,
    "iris": _iris,
    "madelon": _madelon,
    "bank": _bank,
}


def names(task: str | None = None) -> list[str]:
    """The names :func:`load` accepts, in the order of the paper's Table II.

    Parameters
    ----------
    task : {"regression", "classification"} or None
        Only the datasets of this task; all six when None.
    """
    if task is None:
        return list(_LOADERS)
    if task not in ("regression", "classification"):
        raise InputError(
            f"task must be 'regression', 'classification' or None, got {task!r}."
            f"{suggest(str(task), ['regression', 'classification'])}"
        )
    regression = {"diabetes", "geoorig", "ujiindoorloc"}
    return [n for n in _LOADERS if (n in regression) == (task == "regression")]


@functools.lru_cache(maxsize=16)
def _load_full(name: str, data_dir: str) -> Dataset:
    X, y, feature_names, fields = _LOADERS[name](data_dir)
    X.setflags(write=False)
    y.setflags(write=False)
    return Dataset(X=X, y=y, name=name, feature_names=tuple(feature_names), **fields)


def load(name: str, *, subsample: int | None = None, random_state=0) -> Dataset:
    """Load one of the paper's datasets, preprocessed.

    Parameters
    ----------
    name : str
        One of :func:`names` (case-insensitive): ``"diabetes"``, ``"geoorig"``, ``"ujiindoorloc"``
        (regression), ``"iris"``, ``"madelon"``, ``"bank"`` (classification).
    subsample : int or None
        Return only this many rows, drawn without replacement (stratified by class for
        classification, so each class keeps its share and, where ``subsample`` allows, at least one
        row); rows keep the file's order.  Preprocessing (standardisation, centring) is always done on
        the full dataset first.  None: all rows.
    random_state : int, numpy Generator or None
        Seed of the subsample; the same seed gives the same rows.

    Returns
    -------
    Dataset
        Fresh copies of the arrays; see :class:`Dataset` and its ``preprocessing``.

    Raises
    ------
    InputError
        For an unknown name (the closest is suggested), a bad ``subsample``, or a bundled file that
        is missing or fails its sha256 check (a corrupt installation).
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string such as 'diabetes', got {type(name).__name__}.")
    key = name.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    if key not in _LOADERS:
        raise InputError(
            f"Unknown dataset {name!r}.{suggest(key, list(_LOADERS))} "
            f"Valid datasets (case-insensitive): {', '.join(_LOADERS)}."
        )
    data_dir = str(_DATA_DIR)
    full = _load_full(key, data_dir)
    for relative in full.files:  # checked on every load, not only the first (cheap: ~4 MB in all)
        _path(relative, data_dir)
    if subsample is None:
        return replace(full, X=full.X.copy(), y=full.y.copy())
    rows = _subsample_rows(full.y, subsample, random_state, stratify=full.task == "classification")
    how = "stratified by class" if full.task == "classification" else "uniformly at random"
    return replace(
        full,
        X=full.X[rows],
        y=full.y[rows],
        preprocessing=(
            f"{full.preprocessing} Then a subsample of {len(rows)} of the {full.n_samples} rows, drawn "
            f"without replacement {how} (random_state={random_state!r}), in file order."
        ),
    )


def _subsample_rows(y: np.ndarray, k, random_state, *, stratify: bool) -> np.ndarray:
    """Sorted indices of ``k`` rows, stratified by the labels ``y`` if asked."""
    n = len(y)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"subsample must be a whole number of rows or None, got {type(k).__name__} ({k!r}).")
    k = int(k)
    if not 1 <= k <= n:
        raise InputError(f"subsample must be between 1 and the dataset's {n} rows, got {k}.")
    try:
        rng = np.random.default_rng(random_state)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"random_state must be an int >= 0, a numpy Generator or None, got {random_state!r} ({exc})."
        ) from None
    if k == n:
        return np.arange(n)
    if not stratify:
        return np.sort(rng.choice(n, size=k, replace=False))
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    exact = k * counts / n
    take = np.minimum(np.floor(exact).astype(int), counts)
    if k >= len(classes):
        take = np.maximum(take, 1)
    while take.sum() > k:  # only after the at-least-one rule: take from the most over-served class
        over = np.where(take > 1, take - exact, -np.inf)
        take[np.argmax(over)] -= 1
    while take.sum() < k:  # largest remainder first
        short = np.where(take < counts, exact - take, -np.inf)
        take[np.argmax(short)] += 1
    chosen = [rng.choice(np.flatnonzero(inverse == c), size=t, replace=False) for c, t in enumerate(take)]
    return np.sort(np.concatenate(chosen))
