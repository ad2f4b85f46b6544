"""hypersteal.datasets: the six bundled datasets of the paper's Table II."""

from __future__ import annotations

import gzip
import hashlib
import shutil

import numpy as np
import pytest

from hypersteal import datasets
from hypersteal._validation import InputError

# name -> (shape, task, n_rows_paper)
EXPECTED = {
    "diabetes": ((442, 10), "regression", 442),
    "geoorig": ((1059, 68), "regression", 1059),
    "ujiindoorloc": ((19937, 520), "regression", 19937),
    "iris": ((100, 4), "classification", 100),
    "madelon": ((2600, 500), "classification", 4400),
    "bank": ((45211, 42), "classification", 45210),
}


def test_names_lists_the_six_in_table_order():
    assert datasets.names() == list(EXPECTED)
    assert datasets.names("regression") == ["diabetes", "geoorig", "ujiindoorloc"]
    assert datasets.names("classification") == ["iris", "madelon", "bank"]
    with pytest.raises(InputError, match="task must be"):
        datasets.names("regresion")


@pytest.mark.parametrize("name", list(EXPECTED))
def test_every_dataset_has_its_shape_task_and_metadata(name):
    shape, task, n_paper = EXPECTED[name]
    ds = datasets.load(name)
    assert ds.name == name and ds.task == task and ds.n_rows_paper == n_paper
    assert ds.X.shape == shape and ds.X.dtype == np.float64
    assert ds.y.shape == (shape[0],)
    assert np.all(np.isfinite(ds.X)) and np.all(np.isfinite(ds.y))
    assert len(ds.feature_names) == shape[1]
    if task == "classification":
        assert ds.y.dtype == np.int64 and set(np.unique(ds.y)) == {0, 1}
    else:
        assert ds.y.dtype == np.float64
    for text in (ds.target, ds.source, ds.citation, ds.licence, ds.preprocessing):
        assert isinstance(text, str) and len(text) > 10
    assert name in repr(ds) and str(shape) in repr(ds)


def test_names_are_case_insensitive():
    assert datasets.load("UJIIndoorLoc").name == "ujiindoorloc"
    assert datasets.load(" Madelon ").name == "madelon"
    assert datasets.load("GEO-ORIG").name == "geoorig"


def test_unknown_name_lists_valid_ones_and_suggests():
    with pytest.raises(InputError) as err:
        datasets.load("madelom")
    msg = str(err.value)
    assert "Unknown dataset 'madelom'" in msg and "Did you mean 'madelon'?" in msg
    for name in EXPECTED:
        assert name in msg
    with pytest.raises(TypeError, match="name must be a string"):
        datasets.load(3)


def test_returns_copies_not_the_cache():
    a = datasets.load("iris")
    a.X[:] = 0
    a.y[:] = 7
    b = datasets.load("iris")
    assert b.X.max() > 0 and set(np.unique(b.y)) == {0, 1}
    assert b.X.flags.writeable


# ---------------------------------------------------------------------------- each dataset's content


def test_diabetes_is_sklearns_scaled_version():
    from sklearn.datasets import load_diabetes

    ds, raw = datasets.load("diabetes"), load_diabetes()
    np.testing.assert_array_equal(ds.X, raw.data)
    np.testing.assert_array_equal(ds.y, raw.target)
    np.testing.assert_allclose((ds.X**2).sum(axis=0), 1.0)


def test_iris_keeps_setosa_and_versicolor():
    from sklearn.datasets import load_iris

    ds, raw = datasets.load("iris"), load_iris()
    np.testing.assert_array_equal(ds.X, raw.data[:100])
    assert np.bincount(ds.y).tolist() == [50, 50]
    assert "setosa" in ds.target and "versicolor" in ds.target


def test_geoorig_target_is_latitude():
    ds = datasets.load("geoorig")
    assert "latitude" in ds.target
    assert ds.y.min() == pytest.approx(-35.3) and ds.y.max() == pytest.approx(54.68)
    assert len(np.unique(ds.y)) == 31  # 33 countries, two latitudes shared


def test_ujiindoorloc_maps_not_detected_below_the_weakest_reading():
    ds = datasets.load("ujiindoorloc")
    assert ds.feature_names[0] == "WAP001" and ds.feature_names[-1] == "WAP520"
    assert ds.X.min() == 0.0 and ds.X.max() <= 1.0
    # -104 dBm, the weakest reading, is 1/105 above "not detected"
    assert np.min(ds.X[ds.X > 0]) == pytest.approx(1 / 105)
    assert np.mean(ds.X == 0) == pytest.approx(0.9654, abs=1e-3)
    assert int(np.all(ds.X == 0, axis=0).sum()) == 55  # never-detected WAPs, kept
    assert abs(ds.y.mean()) < 1e-9  # centred longitude
    assert np.ptp(ds.y) == pytest.approx(-7300.81899 - -7691.3384, abs=1e-3)
    assert "-105 dBm" in ds.preprocessing and "LONGITUDE" in ds.preprocessing


def test_madelon_is_train_plus_valid_standardised():
    ds = datasets.load("madelon")
    np.testing.assert_allclose(ds.X.mean(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(ds.X.std(axis=0), 1.0)
    assert np.bincount(ds.y).tolist() == [1300, 1300]
    assert "4400" in ds.notes and "test labels" in ds.notes


def test_madelon_raw_files_match_the_official_check_sums():
    data = datasets._DATA_DIR / "madelon"
    param = gzip.open(data / "madelon.param.gz").read().decode()
    rows = [line.split() for line in param.splitlines() if line[:5] in ("Train", "Valid")]
    sums = {row[0]: float(row[-1]) for row in rows}
    for split, key in (("train", "Train"), ("valid", "Valid")):
        with gzip.open(data / f"madelon_{split}.data.gz") as fh:
            assert np.loadtxt(fh).sum() == sums[key]


def test_bank_one_hot_and_standardised():
    ds = datasets.load("bank")
    numeric = ["age", "balance", "day", "duration", "campaign", "pdays", "previous"]
    assert list(ds.feature_names[:7]) == numeric
    np.testing.assert_allclose(ds.X[:, :7].mean(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(ds.X[:, :7].std(axis=0), 1.0)
    assert set(np.unique(ds.X[:, 7:])) == {0.0, 1.0}
    assert "job_admin." not in ds.feature_names and "job_blue-collar" in ds.feature_names  # drop_first
    assert int(ds.y.sum()) == 5289
    assert "45210" in ds.notes


# ---------------------------------------------------------------------------- checksums


def test_sha256sums_file_matches_module_and_files():
    lines = (datasets._DATA_DIR / "SHA256SUMS").read_text().split("\n")
    listed = dict(reversed(line.split("  ", 1)) for line in lines if line.strip())
    assert listed == datasets._SHA256
    for relative, digest in listed.items():
        assert hashlib.sha256((datasets._DATA_DIR / relative).read_bytes()).hexdigest() == digest


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A copy of the bundled data that the loaders read instead."""
    copy = tmp_path / "data"
    shutil.copytree(datasets._DATA_DIR, copy)
    monkeypatch.setattr(datasets, "_DATA_DIR", copy)
    return copy


def test_corrupt_file_is_refused_naming_it(data_copy):
    target = data_copy / "geoorig" / "default_features_1059_tracks.txt.gz"
    assert datasets.load("geoorig").X.shape == (1059, 68)  # the intact copy loads
    blob = bytearray(target.read_bytes())
    blob[1000] ^= 0xFF
    target.write_bytes(bytes(blob))
    with pytest.raises(InputError) as err:
        datasets.load("geoorig")  # checked again although the arrays are cached
    msg = str(err.value)
    assert "geoorig/default_features_1059_tracks.txt.gz" in msg and "corrupt" in msg and "reinstall" in msg


def test_missing_file_is_refused(data_copy):
    (data_copy / "madelon" / "madelon_valid.labels.gz").unlink()
    with pytest.raises(InputError, match=r"madelon/madelon_valid\.labels\.gz.*missing.*Reinstall"):
        datasets.load("madelon")


# ---------------------------------------------------------------------------- subsample


@pytest.mark.parametrize("name", ["geoorig", "bank"])
def test_subsample_is_reproducible_and_a_subset(name):
    full = datasets.load(name)
    a = datasets.load(name, subsample=300, random_state=1)
    b = datasets.load(name, subsample=300, random_state=1)
    c = datasets.load(name, subsample=300, random_state=2)
    assert a.X.shape == (300, full.n_features)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)
    rows = {r.tobytes() for r in full.X}
    assert all(r.tobytes() in rows for r in a.X)
    assert "subsample of 300" in a.preprocessing and "random_state=1" in a.preprocessing


def test_subsample_is_stratified_for_classification():
    ds = datasets.load("bank", subsample=1000, random_state=0)
    assert int(ds.y.sum()) == round(1000 * 5289 / 45211)
    tiny = datasets.load("bank", subsample=2, random_state=0)
    assert sorted(tiny.y.tolist()) == [0, 1]  # every class kept when there is room
    iris = datasets.load("iris", subsample=11, random_state=3)
    assert sorted(np.bincount(iris.y).tolist()) == [5, 6]
    assert "stratified" in ds.preprocessing


def test_subsample_of_all_rows_and_bad_values():
    full = datasets.load("iris")
    np.testing.assert_array_equal(datasets.load("iris", subsample=100).X, full.X)
    with pytest.raises(InputError, match="between 1 and the dataset's 100 rows, got 101"):
        datasets.load("iris", subsample=101)
    with pytest.raises(InputError, match="got 0"):
        datasets.load("iris", subsample=0)
    with pytest.raises(TypeError, match="whole number"):
        datasets.load("iris", subsample=0.5)
    with pytest.raises(TypeError, match="random_state"):
        datasets.load("iris", subsample=10, random_state="seed")
