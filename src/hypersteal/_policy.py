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

#: Relative residual above which the parameters are "not a minimum": the penalty explains less than
#: three quarters of the loss gradient, whatever λ. Wrong inputs read 0.6–1 (ridge parameters given
#: as LASSO 0.60, a kernel SVM attacked with the wrong kernel 0.95); so do fits stopped far from
#: convergence (measured in benchmarks/realistic.py: liblinear at C = 1000 on raw features, SGD at
#: tiny alpha), which are no minimum either. A solver's stopping rule that holds outranks it.
NOT_A_MINIMUM_RESIDUAL = 0.5

#: Default ``identifiable_rtol``: an interval narrower than this fraction of λ̂ is a point.
IDENTIFIABLE_RTOL = 1e-6

#: An inexact fit whose interval of consistent λ spans at most this fraction of λ̂ is "approximate"
#: (λ̂ is reported as a number); a wider one is "interval_only" (λ̂ stays in ``estimate``).
APPROXIMATE_RTOL = 0.1

#: Without a solver's stopping rule, the interval of an inexact fit allows every equation this many
#: times the largest deviation left at λ̂ …
RESIDUAL_INTERVAL_FACTOR = 2.0

#: … and at least λ̂·[1/(1 + ρ), 1 + ρ] with ρ = this factor × the relative residual (Theorem 2: λ̂
#: moves in proportion to how far θ is from the minimum). Calibrated on benchmarks/realistic.py with
#: ``--no-replay``: |λ̂/λ − 1| / residual has median 0.28, 90th percentile 1.8, 95th 4.0 over the 143
#: inexact fits whose interval came from the residual (docs/realistic.md).
RESIDUAL_RELATIVE_FACTOR = 4.0

# ---------------------------------------------------------------- which learner (hypersteal.identify)

#: A candidate is "clearly not" the learner when its score exceeds the best one's this many times.
#: Calibrated in docs/identify.md (tools/identify_table.py): on exact fits a wrong learner scores at least
#: ~1e5× the truth, unless the two are genuinely tied; on default-tolerance scikit-learn fits, near-ties
#: (LASSO or an elastic net next to ridge at 1e-5…1e-2) come within ~80×, clear cases start at ~250×.
CLEAR_RATIO = 100.0

#: Scores are compared as (score + ROUND_OFF): below it every residual is round-off (the reference trainers
#: stop at 1e-16…3e-10), and a ratio of two round-off residuals means nothing.
ROUND_OFF = 1e-9

#: An elastic net pinned to a sub-learner reduces to it only when that learner's score is within this
#: factor of the elastic net's (scores compared as score + 1e-13, machine precision): an elastic net with
#: λ₁ = 1e-9 leaves ridge a residual 1.6e-10, which is within CLEAR_RATIO (so the two are tied), not
#: within this factor (so the elastic net is not discarded in favour of ridge).
REDUCE_RATIO = 10.0
