import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_iris
from sklearn.preprocessing import StandardScaler

LAMBDAS = [1e-3, 1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3]


def _synthetic_regression():
    rng = np.random.default_rng(42)
    X = rng.normal(size=(120, 6))
    return X, X @ rng.normal(size=6) + 0.5 * rng.normal(size=120)


def _synthetic_classification():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(150, 6))
    return X, (X @ rng.normal(size=6) + rng.normal(size=150) > 0).astype(int)


def _diabetes():
    X, y = load_diabetes(return_X_y=True)
    return X, y


def _diabetes_classes():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), (y > np.median(y)).astype(int)


def _iris():
    X, y = load_iris(return_X_y=True)
    keep = y < 2
    return X[keep], np.where(y[keep] == 1, "versicolor", "setosa")  # any two labels


REGRESSION = {"synthetic": _synthetic_regression, "diabetes": _diabetes}
CLASSIFICATION = {"synthetic": _synthetic_classification, "iris": _iris, "diabetes-median": _diabetes_classes}


@pytest.fixture(scope="session")
def datasets():
    return {**{f"reg-{k}": f() for k, f in REGRESSION.items()},
            **{f"clf-{k}": f() for k, f in CLASSIFICATION.items()}}
