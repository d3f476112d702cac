"""Drift statistics between a reference distribution and a current one, both given as bin (or category) counts.

Every function takes two count vectors over the same bins and returns one
float; higher means more drift. Empty bins are smoothed with `EPSILON` (as a
fraction) so that PSI and Jensen-Shannon stay finite.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

EPSILON = 1e-4
"""Smallest fraction a bin is given before taking logs (the usual PSI smoothing)."""

Counts = npt.NDArray[np.float64] | npt.NDArray[np.int64] | Sequence[float]
"""Bin counts: an array, or any sequence of numbers (every function reads them through np.asarray)."""


def fractions(counts: Counts) -> npt.NDArray[np.float64]:
    """Counts as fractions summing to 1, empty bins raised to EPSILON and renormalised."""
    values = np.asarray(counts, dtype=np.float64)
    total = values.sum()
    if total <= 0:
        raise ValueError("no observations to compare; expected at least one counted value")
    shares = np.maximum(values / total, EPSILON)
    return shares / shares.sum()


def psi(reference: Counts, current: Counts) -> float:
    """Population Stability Index: sum over bins of (current - reference) * ln(current / reference)."""
    ref, cur = fractions(reference), fractions(current)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def ks(reference: Counts, current: Counts) -> float:
    """Kolmogorov-Smirnov distance between the binned distributions: the largest gap of the cumulative shares (0..1).

    Computed on the reference's quantile bins, so it is a lower bound of the exact two-sample statistic
    (exact at the bin edges); with 20 quantile bins it resolves shifts of 5% of the mass.
    """
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    if ref.sum() <= 0 or cur.sum() <= 0:
        raise ValueError("no observations to compare; expected at least one counted value")
    return float(np.max(np.abs(np.cumsum(ref / ref.sum()) - np.cumsum(cur / cur.sum()))))


def jensen_shannon(reference: Counts, current: Counts) -> float:
    """Jensen-Shannon distance, base 2 (the square root of the divergence), 0..1."""
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    if ref.sum() <= 0 or cur.sum() <= 0:
        raise ValueError("no observations to compare; expected at least one counted value")
    p, q = ref / ref.sum(), cur / cur.sum()
    m = (p + q) / 2
    divergence = 0.0
    for side in (p, q):
        mask = side > 0
        divergence += 0.5 * float(np.sum(side[mask] * np.log2(side[mask] / m[mask])))
    return math.sqrt(max(divergence, 0.0))


def chi_square(reference: Counts, current: Counts) -> tuple[float, float]:
    """Goodness of fit of the current counts to the reference shares: (chi-square statistic, Cramer's V 0..1).

    Cramer's V = sqrt(chi2 / (n * (k - 1))) does not grow with the sample size, so one
    threshold fits every traffic level; the spec's thresholds apply to it.
    """
    expected_shares = fractions(reference)
    observed = np.asarray(current, dtype=np.float64)
    n = observed.sum()
    if n <= 0:
        raise ValueError("no observations to compare; expected at least one counted value")
    expected = expected_shares * n
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    k = len(observed)
    if k < 2:
        return statistic, 0.0
    return statistic, min(1.0, math.sqrt(statistic / (n * (k - 1))))


def compute(statistic: str, reference: Counts, current: Counts) -> float:
    """The named statistic (psi, ks, chi-square as Cramer's V, jensen-shannon)."""
    if statistic == "psi":
        return psi(reference, current)
    if statistic == "ks":
        return ks(reference, current)
    if statistic == "jensen-shannon":
        return jensen_shannon(reference, current)
    if statistic == "chi-square":
        return chi_square(reference, current)[1]
    raise ValueError(f"unknown statistic {statistic}; expected psi, ks, chi-square or jensen-shannon")
