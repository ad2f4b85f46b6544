"""The thresholds that decide a verdict, each defined once with the reason for its value.

Local numerics (a solver's own tolerance, a pivot threshold) stay where they are used; what decides
what a result *says* lives here, so that every entry point (``steal``, the estimator and PyTorch
adapters, the black box, the platform) reaches the same verdict on the same numbers.
"""

from __future__ import annotations

#: Relative stationarity residual above which the parameters are "not an exact minimum". Exact
#: solvers (ours, libsvm at tol 1e-10, scikit-learn at tol 1e-10) leave 1e-16…1e-7; default-tolerance
#: fits 1e-6…1e-1. Below this, λ̂ is reported as the solution of the conditions, above it as a fit.
NOT_STATIONARY_RESIDUAL = 1e-3

#: Relative residual above which no λ makes the parameters anything like a minimum: the gradient of the
#: loss is not explained by the penalty at all (wrong learner, missing intercept, another loss). Trained
#: models seen in the realistic corpus stay below 0.6 even when stopped after one epoch; wrong inputs
#: (ridge parameters given as LASSO, an intercept left out) read 0.9–1.
NOT_A_MINIMUM_RESIDUAL = 0.9

#: Default ``identifiable_rtol``: an interval narrower than this fraction of λ̂ is a point.
IDENTIFIABLE_RTOL = 1e-6

#: An inexact fit whose interval of consistent λ spans at most this fraction of λ̂ is "approximate"
#: (λ̂ is reported as a number); a wider one is "interval_only" (λ̂ stays in ``estimate``).
APPROXIMATE_RTOL = 0.1

#: Without a solver's stopping rule, the interval of an inexact fit allows every equation this many
#: times the largest deviation left at λ̂. Calibrated on ``benchmarks/realistic.py`` (coverage measured
#: there, not assumed): see docs/realistic.md.
RESIDUAL_INTERVAL_FACTOR = 2.0
