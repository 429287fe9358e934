"""95 % intervals for the shares a Monte Carlo reports, and for paired differences of shares.

A share of n runs (k of them ending so) gets Wilson's score interval, which stays inside [0, 1] and is sound for
shares near 0 or 1 and for small n (the normal approximation is not). Two settings played with the same seeds
(common random numbers, `sim.core.streams`) are compared run by run: d_i = x_i(B) - x_i(A) for each seed i of an
indicator x (this outcome happened, this issue was agreed), and the difference of the shares is the mean of d_i
with Student's t interval, mean +- t(0.975, n - 1) s / sqrt(n), s the sample standard deviation of the d_i. The
pairing removes the seed-to-seed variation both settings share, so the interval is narrower than the one of
two independent batches wherever the settings agree on most seeds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

LEVEL = 0.95
Z = 1.959963984540054
"""The standard normal's 97.5 % quantile."""


class Interval(NamedTuple):
    """A share and its 95 % interval (NaN where there are no runs)."""

    share: float
    low: float
    high: float
    n: int


class Paired(NamedTuple):
    """The paired difference of a share, B minus A, over n seeds played on both sides."""

    difference: float   # mean of d_i (a share: -1 to 1)
    low: float          # its 95 % interval
    high: float
    n: int              # paired seeds
    changed: int        # seeds where the indicator differs (d_i != 0)


def wilson(successes: int, n: int, z: float = Z) -> Interval:
    """Wilson's score interval of the share successes / n."""
    if n <= 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    low = 0.0 if successes == 0 else max(0.0, centre - half)     # exact ends where the formula rounds
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Interval(p, low, high, n)


def share_interval(indicator: Sequence[bool] | np.ndarray) -> Interval:
    """The share of true values and its Wilson interval."""
    values = np.asarray(indicator, dtype=bool)
    return wilson(int(values.sum()), int(values.size))


def paired_difference(before: Sequence[float] | np.ndarray, after: Sequence[float] | np.ndarray,
                      level: float = LEVEL) -> Paired:
    """Mean of d_i = after_i - before_i and its t interval (see the module's docstring); with one seed, or
    none, the interval is NaN; where every d_i is the same, it is that value (no spread)."""
    a, b = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired values need the same seeds on both sides (got {a.size} and {b.size})")
    d = b - a
    n = int(d.size)
    changed = int(np.count_nonzero(d))
    if n == 0:
        return Paired(math.nan, math.nan, math.nan, 0, 0)
    mean = float(d.mean())
    if n == 1:
        return Paired(mean, math.nan, math.nan, 1, changed)
    from scipy import stats  # here: the CLI imports this module and starts fast without scipy

    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * float(d.std(ddof=1)) / math.sqrt(n)
    return Paired(mean, mean - half, mean + half, n, changed)


def points(share: float) -> str:
    """A share in percentage points, signed ("-12")."""
    value = round(100 * share)
    return "0" if value == 0 else f"{value:+d}"


def describe_paired(what: str, paired: Paired) -> str:
    """'breakdown -12 points [-16, -8] over 500 paired seeds'; 'partial: no seed changed over 500 paired seeds'."""
    seeds = f"over {paired.n} paired seed{'s' if paired.n != 1 else ''}"
    if paired.n == 0:
        return f"{what}: no paired seeds"
    if paired.changed == 0:
        return f"{what}: no seed changed {seeds}"
    shown = points(paired.difference)
    text = f"{what} {shown} point{'' if shown.lstrip('+-') == '1' else 's'}"
    if not math.isnan(paired.low):
        text += f" [{points(paired.low)}, {points(paired.high)}]"
    return f"{text} {seeds}"


def describe_share(interval: Interval) -> str:
    """'42 % [36, 48]'."""
    if interval.n == 0:
        return "no runs"
    return f"{100 * interval.share:.0f} % [{100 * interval.low:.0f}, {100 * interval.high:.0f}]"
