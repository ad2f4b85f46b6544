"""A simulated, metered ML-as-a-service platform and the paper's Train-Steal-Retrain study (§IV-C).

>>> from hypersteal.mlaas import Client, embedded_platform, train_steal_retrain   # doctest: +SKIP
>>> with embedded_platform() as (url, key):                                      # doctest: +SKIP
...     report = train_steal_retrain(Client(url, key), X, y, "ridge", fraction=0.03)
>>> report["speedup"]["M3"], report["relative_error"]["M3"]                      # doctest: +SKIP

The service (FastAPI + uvicorn, SQLite, worker processes) is in :mod:`.service`; see
``docs/mlaas.md``.  Names are imported lazily so ``import hypersteal`` stays light.
"""

from __future__ import annotations

import importlib

__all__ = ["Client", "PlatformError", "train_steal_retrain", "trt_curve", "embedded_platform",
           "EmbeddedPlatform", "Settings", "create_app", "serve", "LEARNERS"]

_WHERE = {
    "Client": "client",
    "PlatformError": "client",
    "train_steal_retrain": "trt",
    "trt_curve": "trt",
    "embedded_platform": "embedded",
    "EmbeddedPlatform": "embedded",
    "serve": "embedded",
    "Settings": "settings",
    "create_app": "service",
    "LEARNERS": "training",
}


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
