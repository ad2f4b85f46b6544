"""One BLAS thread for the attack's small dense factorisations."""

from __future__ import annotations

from threadpoolctl import ThreadpoolController

_CONTROLLER = None


def one_blas_thread():
    """A context in which BLAS runs on one thread: for the attack's small dense factorisations one thread is
    fastest, and several on a busy machine were measured up to 100× slower (a 500 × 500 QR: 0.5 s on two
    threads under load, 0.08 s on one)."""
    global _CONTROLLER
    if _CONTROLLER is None:  # finding the BLAS libraries takes milliseconds: once
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")
