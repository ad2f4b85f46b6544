"""Adapters of scikit-learn's support vector regressors: ``LinearSVR`` (liblinear) and ``SVR`` (libsvm).

Both minimise ½‖w‖² + C Σ_i ℓ(y_i − f_i) with the ε-insensitive loss ℓ(r) = max(0, |r| − ε) (``LinearSVR`` also
its square), so λ = 1/(2C) (:data:`hypersteal.registry.NATIVE`) and ε is a known option of the loss.
``LinearSVR`` penalises its intercept as ``LinearSVC`` does (a weight on the constant ``intercept_scaling``);
``SVR`` leaves it unpenalised, and its ``dual_coef_`` (α − α* at ``support_``) is the representer weight α, which
the attack reads for every kernel. The ν-formulations (``NuSVR``, ``NuSVC``) are C-formulations in disguise:
see :func:`nu_svr` and :func:`nu_svc` for what their fits give away.
"""

from __future__ import annotations

__all__ = ["linear_svr", "svr", "nu_svr", "nu_svc"]

_LOSSES = {"epsilon_insensitive": "svr_epsilon_insensitive",
           "squared_epsilon_insensitive": "svr_squared_epsilon_insensitive"}


def linear_svr(est, X):
    from .sklearn import _linear_params, _to_native

    algo = _LOSSES[est.loss]
    opts = {"epsilon": float(est.epsilon)}
    opts.update({"intercept_scaling": float(est.intercept_scaling)} if est.fit_intercept else {"fit_intercept": False})
    return algo, opts, _linear_params(est), _to_native("LinearSVR", algo, X)


def svr(est, X):
    """Every kernel, the linear one included, through the dual coefficients: each point outside the tube has
    α = ±C exactly, an equation for λ that the primal weights ``coef_`` of a linear kernel no longer hold."""
    from .sklearn import _kernel_options, _libsvm_params, _to_native

    opts = {**_kernel_options(est, X), "epsilon": float(est.epsilon), "fit_intercept": True}
    return ("kernel_svr_epsilon_insensitive", opts, _libsvm_params(est, X),
            _to_native("SVR", "kernel_svr_epsilon_insensitive", X))


def nu_svr(est, X):
    """``NuSVR(nu, C)``: libsvm's ν-formulation adds ν·ε to the objective and optimises ε too; its solution is the
    ε-SVR's at the same C and the ε it found, which scikit-learn does not keep. So ε is recovered from the dual
    coefficients with λ (``epsilon=None``: :mod:`hypersteal.attack.shape`), and λ = 1/(2C) with NuSVR's own C."""
    algorithm, opts, params, to_native = svr(est, X)
    return algorithm, {**opts, "epsilon": None}, params, to_native


def nu_svc(est, X):
    """``NuSVC(nu)``: libsvm solves the ν-problem and rescales its solution by 1/ρ into a C-SVM's with C = 1/ρ
    (its dual coefficients lie in [−C, C]); ν has no closed-form λ. The attack reads the λ of that C-SVM from the
    dual coefficients: ``native["C"]`` is the C of the ``SVC`` whose fit these parameters are. Two classes only:
    each one-vs-one pair of a multi-class NuSVC has its own ρ, hence its own C."""
    from .._validation import InputError
    from .sklearn import _kernel_options, _libsvm_params, _to_native

    if len(est.classes_) > 2:
        raise InputError(f"NuSVC with {len(est.classes_)} classes is not supported: each one-vs-one pair is rescaled "
                         "by its own ρ, so the pairs share ν but no C (λ). Steal a binary NuSVC, or each pair's.")
    opts = {**_kernel_options(est, X), "fit_intercept": True}
    return "kernel_svm_hinge", opts, _libsvm_params(est, X), _to_native("SVC", "kernel_svm_hinge", X)
