"""Expected-utility ("challenge") mechanism of Bueno de Mesquita, as formalised by
Scholz, Calbert & Smith (2011), "Unravelling Bueno de Mesquita's group decision model",
Journal of Theoretical Politics 23(4).

Pure, deterministic numpy functions; no imports from other ``sim`` modules.

Array conventions
-----------------
* ``positions``: shape ``(N, M)`` -- N actors, M issues.
* ``capability``: shape ``(N,)`` -- one capability per actor, shared by all issues.
* ``salience``: shape ``(N, M)`` (or ``(N,)``, broadcast to every issue) -- 0..1.
* ``scale_range``: shape ``(M,)`` -- R, max - min of the *initial* positions on each issue.
  The caller keeps it fixed across rounds (:func:`initial_scale_range`).

Many runs at once: :func:`eu_round`, :func:`median_voter`, :func:`weighted_mean`,
:func:`challenge_matrices`, :func:`run_rounds` and :func:`initial_scale_range` also take a leading
run axis -- positions ``(R, N, M)``, salience ``(R, N, M)`` (or one ``(N, M)`` / ``(N,)`` for every
run), capability ``(R, N)`` or ``(N,)``, scale_range ``(R, M)`` or ``(M,)``, and ``params`` one
:class:`EUParams` or one per run -- and return every field with that leading axis. Each run's
result is bit for bit what the call on that run alone returns.

Issues are independent: each issue runs the mechanism with the actors' salience on that
issue; nothing couples issues. Internally every array is issue-major, ``(K, N, ...)`` with one
row per issue -- and per run and issue, K = R x M, when there is a run axis: runs are as
independent as issues -- so everything is computed in one vectorised pass (pairwise votes are a
``(K, N, N, N)`` tensor: row, pair (i, j), voter). Every reduction runs along the actor axes of
one row only, in the same order whatever K is, which is what makes a run's result in a batch
identical to its result alone.

See ``docs/model.md`` (section 3.9) for the equations and the choices made.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from sim.core import spatial

__all__ = [
    "OFFER_NONE",
    "OFFER_CONFRONTATION",
    "OFFER_COMPROMISE",
    "OFFER_CAPITULATION",
    "OFFER_NAMES",
    "EUParams",
    "EURound",
    "weighted_mean",
    "median_voter",
    "initial_scale_range",
    "EUMatrices",
    "challenge_matrices",
    "eu_round",
    "run_rounds",
    "SCHOLZ_2011",
    "SYMMETRIC",
    "StableForecast",
    "stable_forecast",
]

OFFER_NONE, OFFER_CONFRONTATION, OFFER_COMPROMISE, OFFER_CAPITULATION = 0, 1, 2, 3
OFFER_NAMES: tuple[str, ...] = ("none", "confrontation", "compromise", "capitulation")

# Relative tolerance used to decide that two vote totals / danger levels are "equal".
# Exactly tied quantities can differ by a few ulps after summation; treating such noise as
# a real difference would make the median and the risk exponents arbitrary.
_REL_TOL = 1e-12


@dataclass(frozen=True)
class EUParams:
    """Parameters of the mechanism.

    status_quo_probability
        Q, the probability an actor attaches to the status quo persisting when it does not
        challenge. The published replication of the EC example uses Q = 1.0.
    t_weight
        T, weight of U_better against U_worse in the (1 - Q) term. Default 1.0 (the status
        quo, if it moves, moves in the challenger's favour), the value used by public
        replications of Scholz et al. With Q = 1 the (1 - Q) term vanishes and T has no
        effect.
    selection
        Which offer an actor takes when it receives several:
        ``"published"`` -- the rule of the code behind the published results: prefer
        confrontations (least movement), then compromises (smallest EU-weighted position
        (|EU_ij| x_i + |EU_ji| x_j) / (|EU_ij| + |EU_ji|)); capitulations never happen
        (the published code's capitulation test can never be true). Reproduces the trace.
        ``"least_move"`` -- BDM's text: among all offers (confrontation, compromise and
        capitulation, the latter with the intended test) take the one that moves the
        actor least.
    normalisation
        Denominator of the probability of success P(i, j):
        ``"all_pairs"`` -- sum of |votes| of every voter over every ordered pair of actors
        (the published replication; P(i, j) + P(j, i) is far below 1);
        ``"pair"`` -- sum of |votes| of every voter on the pair (i, j) only (BDM's apparent
        intent; P(i, j) + P(j, i) = 1 whenever anyone cares about the pair).
    median_ties
        When two unbeaten positions are equally close to the weighted mean (e.g. a symmetric
        pair): ``"lowest"`` -- the lower one, the published replication's rule (default,
        SCHOLZ_2011); ``"midpoint"`` -- their midpoint, so a reversed scale mirrors the median
        (SYMMETRIC). Only the reported median and, with Q < 1, the drift term use the median.
    """

    status_quo_probability: float = 1.0
    t_weight: float = 1.0
    selection: Literal["published", "least_move"] = "published"
    normalisation: Literal["all_pairs", "pair"] = "all_pairs"
    median_ties: Literal["midpoint", "lowest"] = "lowest"

    def __post_init__(self) -> None:
        if not (0.0 <= self.status_quo_probability <= 1.0):
            raise ValueError("status_quo_probability (Q) must be in [0, 1]")
        if not (0.0 <= self.t_weight <= 1.0):
            raise ValueError("t_weight (T) must be in [0, 1]")
        if self.selection not in ("published", "least_move"):
            raise ValueError(f"unknown selection rule {self.selection!r}")
        if self.normalisation not in ("all_pairs", "pair"):
            raise ValueError(f"unknown normalisation {self.normalisation!r}")
        if self.median_ties not in ("midpoint", "lowest"):
            raise ValueError(f"unknown median tie rule {self.median_ties!r}")


@dataclass(frozen=True)
class EURound:
    """Result of one round (all arrays actor-major like the inputs; with a run axis every
    field gains a leading R: positions (R, N, M), median (R, M), ...)."""

    positions: np.ndarray  # (N, M) new positions after everyone takes its chosen offer
    median: np.ndarray  # (M,) median-voter position of the positions the round started from
    mean: np.ndarray  # (M,) weighted mean of the starting positions
    offer_kind: np.ndarray  # (N, M) OFFER_* code of the offer taken, OFFER_NONE if none
    offer_from: np.ndarray  # (N, M) index of the actor whose offer was taken, -1 if none
    risk_exponent: np.ndarray  # (N, M) risk exponent r used this round


# --------------------------------------------------------------------------- input handling


@dataclass(frozen=True)
class _Rows:
    """The inputs issue-major: one row per issue (per run and issue with a run axis, K = R x M,
    run-major), actors on the last axis."""

    X: np.ndarray  # (K, N) positions
    C: np.ndarray  # (K, N) capability, repeated on every row of its run; (1, N) when every row has the same
    S: np.ndarray  # (K, N) salience
    issues: tuple[int, ...]  # per-issue shape: (M,), or (R, M) with a run axis
    out: tuple[int, ...]  # shape of a per-issue result: ``issues``, or () for 1-D positions

    def per_issue(self, a: np.ndarray) -> np.ndarray:
        """(K, ...) -> out + (...)."""
        return a.reshape(self.out + a.shape[1:])

    def actor_major(self, a: np.ndarray) -> np.ndarray:
        """(K, N, ...) -> (N, ..., M) or (R, N, ..., M), C-contiguous."""
        lead = a.reshape(self.issues + a.shape[1:])
        return np.moveaxis(lead, len(self.issues) - 1, -1).copy()


def _rows(positions: np.ndarray, capability: np.ndarray, salience: np.ndarray) -> _Rows:
    """Validate and fold positions (N,), (N, M) or (R, N, M) and their capability and salience into rows."""
    x = np.asarray(positions, dtype=float)
    if x.ndim not in (1, 2, 3):
        raise ValueError("positions must have shape (N,), (N, M) or, with a run axis, (R, N, M)")
    runs = x.ndim == 3
    xm = x[:, None] if x.ndim == 1 else x  # (..., N, M)
    n, m = xm.shape[-2:]
    issues = (x.shape[0], m) if runs else (m,)
    s = np.asarray(salience, dtype=float)
    if s.ndim == 1:
        s = s[:, None]
    try:
        if not (2 <= s.ndim <= xm.ndim and s.shape[-2] == n):
            raise ValueError
        s = np.broadcast_to(s, xm.shape)
    except ValueError:
        raise ValueError("salience must have shape (N,) or (N, M)" + (" or (R, N, M)" if runs else "")
                         + " matching positions") from None
    c = np.asarray(capability, dtype=float)
    if not (c.ndim == 1 or (runs and c.ndim == 2 and c.shape[0] == x.shape[0])) or c.shape[-1] != n:
        raise ValueError("capability must have shape (N,)" + (" or (R, N)" if runs else ""))
    if n == 0:
        raise ValueError("need at least one actor")
    for name, a in (("positions", x), ("capability", c), ("salience", s)):
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} must be finite")
    if np.any(c < 0) or np.any(s < 0):
        raise ValueError("capability and salience must be non-negative")
    k = math.prod(issues)

    def rows(a: np.ndarray) -> np.ndarray:  # (..., N, M) -> (K, N)
        return np.ascontiguousarray(np.swapaxes(a, -1, -2)).reshape(k, n)

    C = c[None, :] if c.ndim == 1 else np.repeat(c, m, axis=0)  # every row of a run gets the run's capability
    return _Rows(rows(xm), C, rows(s), issues, () if x.ndim == 1 else issues)


def _scale(scale_range: np.ndarray | float, issues: tuple[int, ...]) -> np.ndarray:
    """R per row (K,), from (M,), (R, M) with a run axis, or a scalar."""
    try:
        R = np.broadcast_to(np.asarray(scale_range, dtype=float), issues).reshape(-1).copy()
    except ValueError:
        raise ValueError("scale_range must have shape (M,)" + (" or (R, M)" if len(issues) == 2 else "")) from None
    if not np.all(np.isfinite(R)) or np.any(R < 0):
        raise ValueError("scale_range must be finite and non-negative")
    return R


@dataclass(frozen=True)
class _Rules:
    """EUParams per row (K,), so that every run may have its own."""

    q: np.ndarray  # status_quo_probability
    t: np.ndarray  # t_weight
    least_move: np.ndarray  # bool: selection == "least_move"
    pair: np.ndarray  # bool: normalisation == "pair"
    midpoint: np.ndarray  # bool: median_ties == "midpoint"


def _rules(params: EUParams | Sequence[EUParams], issues: tuple[int, ...]) -> _Rules:
    if isinstance(params, EUParams):
        per_run = [params]
    else:
        per_run = list(params)
        if len(issues) != 2 or len(per_run) != issues[0] or not all(isinstance(p, EUParams) for p in per_run):
            raise ValueError("params must be one EUParams, or one EUParams per run (with positions (R, N, M))")
    repeat = math.prod(issues) // max(len(per_run), 1)

    def column(values: list) -> np.ndarray:
        return np.repeat(np.array(values), repeat)

    return _Rules(
        q=column([float(p.status_quo_probability) for p in per_run]),
        t=column([float(p.t_weight) for p in per_run]),
        least_move=column([p.selection == "least_move" for p in per_run]),
        pair=column([p.normalisation == "pair" for p in per_run]),
        midpoint=column([p.median_ties == "midpoint" for p in per_run]),
    )


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den where den > 0, else 0 (no warnings)."""
    num, den = np.broadcast_arrays(num, den)
    return np.divide(num, den, out=np.zeros(num.shape), where=den > 0)


def _weights(C: np.ndarray, S: np.ndarray) -> np.ndarray:
    """Vote weights c_k s_k per row (K, N), divided by their per-row maximum.

    Every use of the weights (mean, median, P) is invariant to a per-issue scale factor;
    rescaling keeps tiny (even subnormal) products from losing precision.
    """
    cn = _safe_div(C, C.max(axis=1, keepdims=True))  # pre-scaling also rules out overflow
    Sn = _safe_div(S, S.max(axis=1, keepdims=True))
    W = cn * Sn
    return _safe_div(W, W.max(axis=1, keepdims=True))


def _same_positions(X: np.ndarray, R: np.ndarray) -> np.ndarray:
    """(M, N, N): x_a and x_b are the same position, up to rounding (|x_a - x_b| <= _REL_TOL x R).

    Two actors at one position make each other no offer. Exact equality would not mirror: a position reached by a
    compromise on a reversed scale can differ from the mirrored one by an ulp, and the two actors would then offer each
    other a capitulation of no length, which the least-move rule takes before any real offer (issue 22:
    DEU d00062i2 forecast 54.0 forward, 40.0 mirrored)."""
    return np.abs(X[:, :, None] - X[:, None, :]) <= (_REL_TOL * R)[:, None, None]


def _distance_ratio(X: np.ndarray, R: np.ndarray) -> np.ndarray:
    """(M, N, N): |x_a - x_b| / R, clipped to [0, 1]; 0 on issues with R == 0."""
    diff = np.abs(X[:, :, None] - X[:, None, :])
    return np.clip(_safe_div(diff, R[:, None, None]), 0.0, 1.0)


# --------------------------------------------------------------------------- public helpers


def initial_scale_range(positions: np.ndarray) -> np.ndarray:
    """R per issue: max - min of the (initial) positions over the actors, shape (M,) (or () for
    1-D input, (R, M) for positions (R, N, M))."""
    x = np.asarray(positions, dtype=float)
    return np.ptp(x, axis=0 if x.ndim == 1 else -2)


def weighted_mean(x: np.ndarray, capability: np.ndarray, salience: np.ndarray) -> np.ndarray:
    """Per-issue mean of positions weighted by capability x salience.

    Returns shape (M,) for (N, M) input, a 0-d array for (N,) input, (R, M) for (R, N, M). If
    every weight on an issue is zero the plain (unweighted) mean is returned.
    """
    rows = _rows(x, capability, salience)
    return rows.per_issue(_mean_rows(rows.X, _weights(rows.C, rows.S)))


def _mean_rows(X: np.ndarray, W: np.ndarray) -> np.ndarray:
    return spatial.weighted_mean(X.T, W.T)  # the forecast's formula, on the rescaled weights


def _median_im(X: np.ndarray, W: np.ndarray, midpoint: np.ndarray | np.bool_) -> np.ndarray:
    """Median voter per row for issue-major X, W (K, N).

    midpoint (K,) bool, or one for every row: False for the ``"lowest"`` tie rule (the published replication's),
    True for ``"midpoint"``: when two unbeaten positions are equally close to the weighted mean, their midpoint, so
    that reversing the scale mirrors the result."""
    # Total r = 1 vote for a over b: sum_k w_k (|x_k - x_b| - |x_k - x_a|) / R
    #                              = (F(b) - F(a)) / R, with F(a) = sum_k w_k |x_k - x_a|.
    # a is unbeaten iff F(a) <= F(b) for every b, so the unbeaten set is argmin F; R > 0
    # only rescales the votes and does not change the winner.
    absdiff = np.abs(X[:, :, None] - X[:, None, :])  # (M, k, a)
    loss = np.einsum("mk,mka->ma", W, absdiff)  # F(a)
    tol = _REL_TOL * W.sum(axis=1) * np.ptp(X, axis=1)
    unbeaten = loss <= loss.min(axis=1, keepdims=True) + tol[:, None]
    # Exact ties (F flat between two positions; every position when all weights are 0):
    # take the unbeaten position closest to the weighted mean, then the lowest.
    total = W.sum(axis=1)
    centre = np.where(total > 0, _safe_div((W * X).sum(axis=1), total), X.mean(axis=1))
    gap = np.where(unbeaten, np.abs(X - centre[:, None]), np.inf)
    closest = gap <= gap.min(axis=1, keepdims=True) + _REL_TOL * (np.ptp(X, axis=1)[:, None])
    lowest = np.where(closest, X, np.inf).min(axis=1)
    if not midpoint.any():
        return lowest
    return np.where(midpoint, 0.5 * (lowest + np.where(closest, X, -np.inf).max(axis=1)), lowest)


def median_voter(
    x: np.ndarray,
    capability: np.ndarray,
    salience: np.ndarray,
    scale_range: np.ndarray | float,
    ties: Literal["midpoint", "lowest"] = "lowest",
) -> np.ndarray:
    """Per-issue median-voter position: the actor position that no other actor position
    beats in the capability x salience weighted pairwise vote (risk exponent r = 1).

    With r = 1 this is the weighted median of the positions. If several positions are
    unbeaten (an exact tie, including all weights zero) the one closest to the weighted
    mean is returned; if two are equally close, the lower one (``ties="lowest"``, the published
    replication's rule) or their midpoint (``"midpoint"``: a reversed scale gives the mirrored
    median, a symmetric pair its midpoint). ``scale_range`` only rescales
    the votes (validated, does not change the result). Returns shape (M,), a 0-d array for
    (N,) input, or (R, M) for positions (R, N, M) (run axis; scale_range (M,) or (R, M)).
    """
    if ties not in ("midpoint", "lowest"):
        raise ValueError(f"unknown tie rule {ties!r}")
    rows = _rows(x, capability, salience)
    _scale(scale_range, rows.issues)  # validated only: R rescales votes, not the winner
    midpoint = np.bool_(ties == "midpoint")  # one rule for every row
    return rows.per_issue(_median_im(rows.X, _weights(rows.C, rows.S), midpoint))


# --------------------------------------------------------------------------- core tensors


def _win_probability(
    ratio: np.ndarray, W: np.ndarray, r: np.ndarray, same: np.ndarray, pair: np.ndarray
) -> np.ndarray:
    """P[m, i, j]: probability that i beats j.

    ratio (M, N, N) distance ratios, W (M, N) vote weights c_k s_k, r (M, N) voters'
    risk exponents, same (M, N, N) x_i == x_j, pair (M,) bool: the "pair" normalisation
    (else "all_pairs").
    """
    # Voter k's vote for i over j: v_k(i, j) = w_k [ D(k, j) - D(k, i) ],
    # D(k, a) = (|x_k - x_a| / R) ^ r_k. Votes are antisymmetric, v_k(j, i) = -v_k(i, j),
    # so |v| = max(0, v) + max(0, -v) and the pairwise sum of |votes| is num + num^T:
    # a single pass over the (M, N, N, N) tensor.
    E = W[:, :, None] * ratio ** r[:, :, None]  # (M, k, a) = w_k D(k, a)
    Et = np.ascontiguousarray(np.swapaxes(E, 1, 2))  # (M, a, k): voters on the last axis
    v = Et[:, None, :, :] - Et[:, :, None, :]  # (M, i, j, k) = v_k(i, j)
    np.maximum(v, 0.0, out=v)
    num = v.sum(axis=3)  # (M, i, j) = sum_k max(0, v_k(i, j))
    A = num + np.swapaxes(num, 1, 2)  # sum_k |v_k(i, j)|
    if pair.all():
        den = A
    else:
        every_pair = A.sum(axis=(1, 2))[:, None, None]
        den = np.where(pair[:, None, None], A, every_pair) if pair.any() else every_pair
    P = np.clip(_safe_div(num, den), 0.0, 1.0)
    return np.where(same, 0.0, P)


def _utilities(d: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """U_success, U_failure, U_statusquo for distance ratio d and exponent r (broadcast)."""
    us = 2.0 - 4.0 * (0.5 - 0.5 * d) ** r
    uf = 2.0 - 4.0 * (0.5 + 0.5 * d) ** r
    usq = 2.0 - 4.0 * 0.5**r
    return us, uf, usq


def _drift_term(mu_challenger: np.ndarray, d: np.ndarray, r: np.ndarray, Q: np.ndarray, T: np.ndarray
                ) -> np.ndarray:
    """(1 - Q) [T U_better + (1 - T) U_worse] for a challenger at distance ratio
    mu_challenger from the median and d from its target."""
    spread = 0.25 * (mu_challenger + d)  # in [0, 0.5]
    ub = 2.0 - 4.0 * np.clip(0.5 - spread, 0.0, None) ** r
    uw = 2.0 - 4.0 * (0.5 + spread) ** r
    return (1.0 - Q) * (T * ub + (1.0 - T) * uw)


def _expected_utilities(
    X: np.ndarray,
    W: np.ndarray,
    S: np.ndarray,
    R: np.ndarray,
    ratio: np.ndarray,
    same: np.ndarray,
    median: np.ndarray,
    r: np.ndarray,
    rules: _Rules,
    challenges_by_i: bool = True,
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """EU_ij[m, i, j] = EU(i challenges j) and EU_ji[m, i, j] = EU(j challenges i), both
    seen by actor i, i.e. with i's risk exponent r[m, i]. Votes inside P use each voter's
    own exponent. Returns (EU_ij, EU_ji, P); EU_ij is None unless ``challenges_by_i``
    (the danger levels need only EU_ji)."""
    P = _win_probability(ratio, W, r, same, rules.pair)
    re = r[:, :, None]  # evaluator i's exponent, broadcast over j
    us, uf, usq = _utilities(ratio, re)
    s_j = S[:, None, :]
    s_i = S[:, :, None]
    PT = np.swapaxes(P, 1, 2)  # PT[m, i, j] = P(j, i)
    Q, T = rules.q[:, None, None], rules.t[:, None, None]
    drifts = rules.q < 1.0
    # Expected status quo when it is not kept (Q < 1): the median moves towards (U_better) or
    # away from (U_worse) the challenger. Distances are fractions of R.
    mu = np.clip(_safe_div(np.abs(X - median[:, None]), R[:, None]), 0.0, 1.0) if drifts.any() else None  # (M, N)

    def less_status_quo(eu: np.ndarray, challenger_axis: int) -> np.ndarray:
        eu = eu - Q * usq
        if mu is None:
            return eu
        drifted = eu - _drift_term(np.expand_dims(mu, 3 - challenger_axis), ratio, re, Q, T)
        return drifted if drifts.all() else np.where(drifts[:, None, None], drifted, eu)  # Q = 1 rows untouched

    eu_ji = less_status_quo(s_i * (PT * us + (1.0 - PT) * uf) + (1.0 - s_i) * us, challenger_axis=2)
    if not challenges_by_i:
        return None, eu_ji, P
    eu_ij = less_status_quo(s_j * (P * us + (1.0 - P) * uf) + (1.0 - s_j) * us, challenger_axis=1)
    return eu_ij, eu_ji, P


def _risk_from_danger(danger: np.ndarray) -> np.ndarray:
    """Risk exponent r in [0.5, 2] from danger levels (M, N)."""
    dmax = danger.max(axis=1, keepdims=True)
    dmin = danger.min(axis=1, keepdims=True)
    span = dmax - dmin
    scale = np.maximum(np.abs(dmax), np.abs(dmin))
    # EU values are O(1) whatever the units of capability, so the floor of 1 is a fixed
    # absolute tolerance for rounding noise.
    flat = span <= _REL_TOL * np.maximum(scale, 1.0)
    rho = _safe_div(2.0 * danger - dmax - dmin, np.where(flat, 0.0, span))
    rho = np.clip(rho, -1.0, 1.0)
    return (1.0 - rho / 3.0) / (1.0 + rho / 3.0)


def _danger_im(X, W, S, R, ratio, same, median, rules: _Rules) -> np.ndarray:
    """D_i = sum_{j != i} EU(j, i), everyone evaluated with r = 1. Shape (M, N)."""
    ones = np.ones_like(X)
    _, eu_ji, _ = _expected_utilities(X, W, S, R, ratio, same, median, ones, rules, challenges_by_i=False)
    off_diag = ~np.eye(X.shape[1], dtype=bool)
    return np.where(off_diag[None], eu_ji, 0.0).sum(axis=2)


@dataclass(frozen=True)
class _Stage:
    """Everything one round computes, issue-major (M, ...) (K = R x M rows with a run axis)."""

    rows: _Rows
    X: np.ndarray
    R: np.ndarray
    live: np.ndarray  # (M,) R > 0
    same: np.ndarray  # (M, N, N) x_i == x_j (within _REL_TOL x R: `_same_positions`)
    median: np.ndarray  # (M,)
    mean: np.ndarray  # (M,)
    danger: np.ndarray  # (M, N)
    r: np.ndarray  # (M, N)
    P: np.ndarray  # (M, N, N) P(i, j) with the round's exponents
    eu_ij: np.ndarray  # (M, N, N)
    eu_ji: np.ndarray  # (M, N, N)


def _stage(positions, capability, salience, scale_range, params: EUParams | Sequence[EUParams]
           ) -> tuple[_Stage, _Rules]:
    if np.ndim(positions) not in (2, 3):
        raise ValueError("positions must have shape (N, M) or, with a run axis, (R, N, M)")
    rows = _rows(positions, capability, salience)
    X, S = rows.X, rows.S
    R = _scale(scale_range, rows.issues)
    rules = _rules(params, rows.issues)
    W = _weights(rows.C, S)
    ratio = _distance_ratio(X, R)
    same = _same_positions(X, R)
    median = _median_im(X, W, rules.midpoint)
    mean = _mean_rows(X, W)
    live = R > 0
    danger = _danger_im(X, W, S, R, ratio, same, median, rules)
    # On an issue with R == 0 every actor holds the same position: r = 1, nothing to do.
    r = np.where(live[:, None], _risk_from_danger(danger), 1.0)
    eu_ij, eu_ji, P = _expected_utilities(X, W, S, R, ratio, same, median, r, rules)
    assert eu_ij is not None    # computed where challenges_by_i (the default): for the type checker
    return _Stage(rows, X, R, live, same, median, np.asarray(mean), danger, r, P, eu_ij, eu_ji), rules


@dataclass(frozen=True)
class EUMatrices:
    """Pairwise quantities of one round (diagnostics, quadrant charts). Actor-major; with a run
    axis every field gains a leading R."""

    probability: np.ndarray  # (N, N, M) P(i, j), votes with the round's risk exponents
    eu_ij: np.ndarray  # (N, N, M) EU(i challenges j) as seen by i (exponent r_i)
    eu_ji: np.ndarray  # (N, N, M) EU(j challenges i) as seen by i (exponent r_i)
    danger: np.ndarray  # (N, M) D_i = sum_{j != i} EU(j, i) with all r = 1
    risk_exponent: np.ndarray  # (N, M)


def challenge_matrices(
    positions: np.ndarray,
    capability: np.ndarray,
    salience: np.ndarray,
    scale_range: np.ndarray,
    params: EUParams | Sequence[EUParams] = EUParams(),
) -> EUMatrices:
    """The probabilities, expected utilities, danger levels and risk exponents that
    :func:`eu_round` uses to build offers from ``positions`` (N, M) or (R, N, M)."""
    st, _ = _stage(positions, capability, salience, scale_range, params)
    am = st.rows.actor_major

    return EUMatrices(
        probability=am(st.P),
        eu_ij=am(st.eu_ij),
        eu_ji=am(st.eu_ji),
        danger=am(st.danger),
        risk_exponent=am(st.r),
    )


# --------------------------------------------------------------------------- one round


def _select(
    X: np.ndarray,
    eu_ij: np.ndarray,
    eu_ji: np.ndarray,
    same: np.ndarray,
    selection: str | np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Classify offers and choose one per (issue, actor). selection: the rule's name for every
    row, or per row (M,) bool, True for "least_move" (else "published").
    Returns (new_x, kind, source)."""
    least_move = np.full(X.shape[0], selection == "least_move") if isinstance(selection, str) else selection
    xi = X[:, :, None]
    xj = X[:, None, :]
    valid = ~same
    conf = valid & (eu_ji > eu_ij) & (eu_ij > 0.0)
    contested = valid & (eu_ji > 0.0) & (eu_ij < 0.0)
    abs_ij = np.abs(eu_ij)
    comp = contested & (eu_ji > abs_ij)
    cap = contested & (eu_ji < abs_ij)
    share = _safe_div(abs_ij, np.where(comp, eu_ji, 0.0))  # in [0, 1) for compromises
    # Compromise point, kept between x_i and x_j (x_i + (x_j - x_i) t can round past x_j).
    between = np.clip(xi + (xj - xi) * share, np.minimum(xi, xj), np.maximum(xi, xj))
    cand = np.where(comp, between, xj)  # offered position
    move = np.abs(cand - xi)
    kind = np.full(eu_ij.shape, OFFER_NONE, dtype=np.int8)
    kind[conf] = OFFER_CONFRONTATION
    kind[comp] = OFFER_COMPROMISE
    kind[cap] = OFFER_CAPITULATION

    key = None
    if not least_move.all() or least_move.size == 0:
        # Confrontations first (least movement), else compromises (smallest EU-weighted
        # position). Capitulations are never chosen: the published code's test for them
        # can never be true.
        weight = abs_ij + np.abs(eu_ji)
        comp_key = _safe_div(abs_ij * xi + np.abs(eu_ji) * xj, weight)
        has_conf = conf.any(axis=2, keepdims=True)
        key = np.where(has_conf, np.where(conf, move, np.inf), np.where(comp, comp_key, np.inf))
    if least_move.any():
        nearest = np.where(kind != OFFER_NONE, move, np.inf)
        key = nearest if key is None else np.where(least_move[:, None, None], nearest, key)

    # The smallest key wins; keys equal up to rounding (_REL_TOL x the row's range of positions) are a tie, which the
    # first actor wins: a rule that does not depend on the direction of the scale, where rounding noise would.
    assert key is not None      # one of the two branches above set it: for the type checker
    best = key.min(axis=2, keepdims=True)
    spread = np.ptp(X, axis=1)[:, None, None]
    src = np.argmax(key <= best + _REL_TOL * np.maximum(spread, np.abs(best)), axis=2)
    chosen_key = np.take_along_axis(key, src[:, :, None], axis=2)[:, :, 0]
    has = np.isfinite(chosen_key)
    new_x = np.take_along_axis(cand, src[:, :, None], axis=2)[:, :, 0]
    new_kind = np.take_along_axis(kind, src[:, :, None], axis=2)[:, :, 0]
    new_x = np.where(has, new_x, X)
    new_kind = np.where(has, new_kind, OFFER_NONE).astype(np.int8)
    source = np.where(has, src, -1)
    return new_x, new_kind, source


def eu_round(
    positions: np.ndarray,
    capability: np.ndarray,
    salience: np.ndarray,
    scale_range: np.ndarray,
    params: EUParams | Sequence[EUParams] = EUParams(),
) -> EURound:
    """One round of the challenge mechanism on every issue at once.

    positions (N, M), capability (N,), salience (N, M) or (N,), scale_range (M,) -- R from
    the initial positions. Steps per issue: median and mean of the starting positions;
    risk exponents from danger levels (all r = 1); expected utilities with those exponents;
    offers; each actor takes one offer; all moves apply simultaneously. On an issue with
    R == 0 nothing moves (all r = 1, no offers).

    Many runs at once: positions (R, N, M), salience (R, N, M) (or (N, M) / (N,) shared),
    capability (R, N) or (N,), scale_range (R, M) or (M,), params one EUParams or a sequence of
    R; every field of the result gains a leading R, and run r's fields are bit for bit those of
    the call on run r alone.
    """
    st, rules = _stage(positions, capability, salience, scale_range, params)
    X = st.X
    new_x, kind, source = _select(X, st.eu_ij, st.eu_ji, st.same, rules.least_move)
    live = st.live[:, None]
    new_x = np.where(live, new_x, X)
    kind = np.where(live, kind, OFFER_NONE).astype(np.int8)
    source = np.where(live, source, -1)
    rows = st.rows
    return EURound(
        positions=rows.actor_major(new_x),
        median=rows.per_issue(st.median),
        mean=rows.per_issue(st.mean),
        offer_kind=rows.actor_major(kind),
        offer_from=rows.actor_major(source),
        risk_exponent=rows.actor_major(st.r),
    )


def run_rounds(
    positions: np.ndarray,
    capability: np.ndarray,
    salience: np.ndarray,
    n_rounds: int,
    params: EUParams | Sequence[EUParams] = EUParams(),
    scale_range: np.ndarray | None = None,
) -> list[EURound]:
    """Run ``n_rounds`` rounds from ``positions`` (N, M) or (R, N, M); R defaults to the range of
    ``positions``. Returns one :class:`EURound` per round; the medians of the rounds are
    the medians of each round's starting positions (round 0 = initial)."""
    x = np.asarray(positions, dtype=float)
    R = initial_scale_range(x) if scale_range is None else scale_range
    out: list[EURound] = []
    for _ in range(int(n_rounds)):
        rnd = eu_round(x, capability, salience, R, params)
        out.append(rnd)
        x = rnd.positions
    return out


# --------------------------------------------------------------------------- a stable forecast

SCHOLZ_2011 = EUParams(status_quo_probability=1.0, selection="published", normalisation="all_pairs",
                       median_ties="lowest")
"""The options that reproduce the published median trace of the EC example (Scholz et al. 2011, Table 1 data):
the published code's offer choice (prefers the compromise with the smallest EU-weighted *position*, so it depends on
which end of the scale is 0), its all-pairs normalisation and its tie rule (the lowest of tied medians): the
defaults of EUParams and of the Mesa model's expected-utility mechanism (scenario.py)."""

SYMMETRIC = EUParams(status_quo_probability=1.0, selection="least_move", normalisation="pair", median_ties="midpoint")
"""The options the forecast uses: BDM's text for the offer choice (the offer that moves the actor least; nothing
refers to the direction of the scale) and P(i, j) + P(j, i) = 1. Reversing the scale mirrors every round."""

STABLE_TOLERANCE = 1e-3
"""Stopping rule: the talks have settled in the first round in which no actor's position moves by more than this share
of the issue's range R. The rounds are deterministic, so from then on nothing moves and the median is final."""
MAX_CYCLE = 8
"""Longest cycle the stopping rule recognises: an issue whose positions are back, within STABLE_TOLERANCE x R, where
they were k <= MAX_CYCLE rounds earlier repeats those k rounds for ever (the rounds are deterministic); its forecast is
the mean median over one period. (k = 1: nothing moves, the rule above.)"""
MAX_ROUNDS = 200
"""Rounds after which an issue still moving is cut off; its forecast is then the average median over the last half
of the rounds (the centre of its cycle), not whichever point of the cycle the cut-off happens to hit. On the DEU III
development file every issue settles or cycles well before (the slowest, d99244i4, in round 150: a slow creep of
compromises towards the median; at 60 rounds 8 issues were still creeping and one, n00250i1, cycles with period 2)."""


@dataclass(frozen=True)
class StableForecast:
    """The median-voter forecast of each issue once its median stops moving."""

    forecast: np.ndarray  # (M,) the median once settled (the mean over one period of a cycle), else the mean median
    #                       over the last half of the rounds
    stable: np.ndarray  # (M,) bool: the stopping rule fired (nothing moves, or the positions cycle)
    rounds: np.ndarray  # (M,) round in which the rule fired (max_rounds if never)
    medians: np.ndarray  # (T + 1, M) median by round, round 0 = initial positions
    period: np.ndarray | None = None  # (M,) 1: nothing moves any more; k > 1: a cycle of k rounds; 0: neither


def stable_forecast(
    positions: np.ndarray,
    capability: np.ndarray,
    salience: np.ndarray,
    params: EUParams = SYMMETRIC,
    *,
    max_rounds: int = MAX_ROUNDS,
    tolerance: float = STABLE_TOLERANCE,
    max_cycle: int = MAX_CYCLE,
) -> StableForecast:
    """Run rounds until each issue settles: a round in which no position moves by more than ``tolerance`` x R
    (R: the range of the initial positions), or in which the positions are back, within that tolerance, where they
    were k <= ``max_cycle`` rounds earlier. Its forecast is the median voter then (for a cycle, the mean median over
    its k rounds). The challenge dynamics can cycle -- the EC example under SCHOLZ_2011 repeats 7.0 -> 8.4 -> 9.6 ->
    9.96 -> 7.0 ... with pauses of up to nine rounds at 7.0, so a pause in the median alone proves nothing; the
    positions, not the median, must repeat -- and an issue still moving after ``max_rounds`` gets the average median
    over the last half of the rounds, with ``stable`` False. Median ties follow ``params.median_ties``; under
    SYMMETRIC a mirrored scale gives the mirrored forecast (every test here compares distances)."""
    if max_rounds < 1 or tolerance < 0 or max_cycle < 1:
        raise ValueError("max_rounds and max_cycle must be >= 1 and tolerance >= 0")
    x = np.asarray(positions, dtype=float)
    if x.ndim != 2:
        raise ValueError("positions must have shape (N, M)")
    rows = _rows(x, capability, salience)
    c = np.asarray(capability, dtype=float)
    W = _weights(rows.C, rows.S)
    R = initial_scale_range(x)
    m = x.shape[1]
    midpoint = np.full(m, params.median_ties == "midpoint")
    medians = [_median_im(rows.X, W, midpoint)]
    seen = [x]                                 # positions by round, round 0 = initial
    done = np.zeros(m, dtype=bool)
    settled_at = np.full(m, max_rounds)
    period = np.zeros(m, dtype=int)
    result = np.full(m, np.nan)
    for t in range(1, max_rounds + 1):
        new = eu_round(x, c, salience, R, params).positions
        medians.append(_median_im(np.ascontiguousarray(new.T), W, midpoint))
        seen.append(new)
        for k in range(1, min(max_cycle, t) + 1):    # the shortest period first: k = 1 is "nothing moves"
            back = np.abs(new - seen[-1 - k]).max(axis=0) <= tolerance * R
            newly = ~done & back
            if newly.any():
                result[newly] = np.mean(medians[-k:], axis=0)[newly]
                settled_at[newly] = t
                period[newly] = k
                done |= newly
        x = np.where(done[None, :], x, new)   # a settled issue stays exactly where it settled
        if done.all():
            break
    trace = np.array(medians)
    late = trace[len(trace) // 2:]
    result = np.where(done, result, late.mean(axis=0))
    return StableForecast(forecast=result, stable=done, rounds=settled_at, medians=trace, period=period)
