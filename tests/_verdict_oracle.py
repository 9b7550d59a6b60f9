"""Independent oracle for the yield verdict (domain brief), from scipy's exact interval.

"target met" when the one-sided 95 % lower bound is >= the target, "target missed"
when the one-sided upper bound is below it, else "not yet decidable"; one-sided 95 %
exact bounds are the two-sided 90 % Clopper-Pearson interval.
"""

from __future__ import annotations

from scipy.stats import binomtest


def expected_verdict(n_pass: int, n_fail: int, target: float = 0.95) -> str:
    ci = binomtest(n_pass, n_pass + n_fail).proportion_ci(confidence_level=0.90, method="exact")
    if ci.low >= target:
        return "target met"
    if ci.high < target:
        return "target missed"
    return "not yet decidable"
