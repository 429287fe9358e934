"""95 % intervals for the shares a Monte Carlo reports, and for paired differences of shares.

A share of n runs (k of them ending so) gets Wilson's score interval, which stays inside [0, 1] and is sound for
shares near 0 or 1 and for small n (the normal approximation is not). Two settings played with the same seeds
(common random numbers, `sim.core.streams`) are compared run by run: d_i = x_i(B) - x_i(A) for each seed i of an
indicator x (this outcome happened, this issue was agreed), and the difference of the shares is the mean of d_i.

Its interval (`paired_share_difference`) is Newcombe's hybrid score interval for paired proportions (Newcombe
1998, Statistics in Medicine 17:2635, method 10): the two shares' Wilson intervals combined with the correlation
phi of the paired indicators. Unlike the t interval of the d_i (`paired_difference`, for measures that are not
shares), it stays inside [-1, 1] and does not collapse to a point when every seed moved the same way (20 seeds
all turning to agreement: +100 points [+77, +100], not [+100, +100]). The pairing removes the seed-to-seed
variation both settings share, so the interval is narrower than the one of two independent batches wherever the
settings agree on most seeds.
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


def paired_share_difference(before: Sequence[bool] | np.ndarray, after: Sequence[bool] | np.ndarray,
                            z: float = Z) -> Paired:
    """The difference of two shares measured on the same seeds, after minus before (the mean of d_i), with
    Newcombe's hybrid score interval (see the module's docstring). With counts e (true on both sides), f (true
    only before), g (true only after), h (on neither) of n seeds, shares p1 = (e + f) / n and p2 = (e + g) / n
    with Wilson intervals (l1, u1), (l2, u2), and phi = C / sqrt((e + f)(g + h)(e + g)(f + h)) (0 where a margin is
    empty) with C = e h - f g, or max(0, e h - f g - n / 2) where e h > f g (Newcombe's correction):
    p2 - p1 - sqrt((p2 - l2)^2 - 2 phi (p2 - l2)(u1 - p1) + (u1 - p1)^2) to
    p2 - p1 + sqrt((u2 - p2)^2 - 2 phi (u2 - p2)(p1 - l1) + (p1 - l1)^2)."""
    a, b = np.asarray(before, dtype=bool), np.asarray(after, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"paired values need the same seeds on both sides (got {a.size} and {b.size})")
    n = int(a.size)
    if n == 0:
        return Paired(math.nan, math.nan, math.nan, 0, 0)
    e, f, g = int((a & b).sum()), int((a & ~b).sum()), int((~a & b).sum())
    h = n - e - f - g
    p1, l1, u1, _ = wilson(e + f, n, z)
    p2, l2, u2, _ = wilson(e + g, n, z)
    margins = (e + f) * (g + h) * (e + g) * (f + h)
    cross: float = e * h - f * g
    if cross > 0:                   # Newcombe's continuity correction of a positive phi (method 10): without it
        cross = max(0.0, cross - n / 2)   # small paired samples cover as little as 85 % (n = 10)
    phi = 0.0 if margins == 0 else cross / math.sqrt(margins)
    delta = math.sqrt(max(0.0, (p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1) ** 2))
    epsilon = math.sqrt(max(0.0, (u2 - p2) ** 2 - 2 * phi * (u2 - p2) * (p1 - l1) + (p1 - l1) ** 2))
    difference = (g - f) / n
    return Paired(difference, max(-1.0, difference - delta), min(1.0, difference + epsilon), n, f + g)


def percent(share: float, digits: int = 0) -> str:
    """A share in percent with `digits` decimals ("47.5"), and more decimals (up to 3) where a share short of 0 or
    100 % would otherwise read as 0 or 100: 59 of 60 has the upper bound 99.7, not 100 (which would look certain)."""
    if math.isnan(share):
        return "–"
    text = f"{100 * share:.{digits}f}"
    while 0 < share < 1 and float(text) in (0.0, 100.0) and digits < 3:
        digits += 1
        text = f"{100 * share:.{digits}f}"
    return text


def points(share: float, digits: int = 0) -> str:
    """A share in percentage points, signed ("-12", or "-12.5" with digits=1)."""
    value = round(100 * share, digits)
    if value == 0:
        return f"{0:.{digits}f}"      # unsigned: "0", "0.0"
    return f"{value:+.{digits}f}" if digits else f"{int(value):+d}"


def shown_difference(before: float, after: float, digits: int = 0) -> float:
    """after - before (shares) as the difference of the two shares as `percent` shows them, in points: the sides
    and their difference then agree on the page (47.5 % and 48.5 % differ by +1.0, never +0.9 or +1.1)."""
    return round(round(100 * after, digits) - round(100 * before, digits), digits)


def describe_paired(what: str, paired: Paired, digits: int = 0) -> str:
    """'breakdown -12 points [-16, -8] over 500 paired seeds'; 'partial: no seed changed over 500 paired seeds'."""
    seeds = f"over {paired.n} paired seed{'s' if paired.n != 1 else ''}"
    if paired.n == 0:
        return f"{what}: no paired seeds"
    if paired.changed == 0:
        return f"{what}: no seed changed {seeds}"
    shown = points(paired.difference, digits)
    text = f"{what} {shown} point{'' if shown.lstrip('+-') == '1' else 's'}"
    if not math.isnan(paired.low):
        text += f" [{points(paired.low, digits)}, {points(paired.high, digits)}]"
    return f"{text} {seeds}"


def describe_share(interval: Interval, digits: int = 0) -> str:
    """'42 % [36, 48]' ('42.5 % [36.1, 48.9]' with digits=1; see `percent` for the ends)."""
    if interval.n == 0:
        return "no runs"
    return (f"{percent(interval.share, digits)} % "
            f"[{percent(interval.low, digits)}, {percent(interval.high, digits)}]")
