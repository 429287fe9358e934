"""The expected-utility mechanism over a leading run axis (sim.core.expected_utility_kernel).

A batch of R runs -- positions (R, N, M), per-run capability, salience, scale range and options -- must give every
run, bit for bit, what the single-run call on that run's arrays gives, round after round: the lockstep engine plays
many runs at once and must reproduce the Mesa model, which calls the single-run functions.

Run with:  .venv/bin/python -m pytest tests/test_expected_utility_runs.py -W error::RuntimeWarning
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.core.expected_utility_kernel import (
    SCHOLZ_2011,
    SYMMETRIC,
    EUParams,
    EURound,
    challenge_matrices,
    eu_round,
    initial_scale_range,
    median_voter,
    run_rounds,
    weighted_mean,
)

# Every option of the mechanism: Q = 1 (no drift term) and Q < 1 with two values of T, both selection rules, both
# normalisations, both tie rules for the median.
VARIANTS = [
    EUParams(status_quo_probability=q, t_weight=t, selection=sel, normalisation=norm, median_ties=ties)
    for (q, t), sel, norm, ties in itertools.product(
        ((1.0, 1.0), (0.8, 1.0), (0.5, 0.25), (0.0, 0.0)),
        ("published", "least_move"),
        ("all_pairs", "pair"),
        ("lowest", "midpoint"),
    )
]
ROUND_FIELDS = ("positions", "median", "mean", "offer_kind", "offer_from", "risk_exponent")
ROUNDS = 4


def assert_same_bits(batch: np.ndarray, single: np.ndarray, what: str) -> None:
    """Equal as np.array_equal and, stricter, byte for byte (dtype, shape, the sign of zeros)."""
    single = np.asarray(single)
    assert batch.shape == single.shape and batch.dtype == single.dtype, what
    assert np.array_equal(batch, single), what
    assert batch.tobytes() == single.tobytes(), what


def random_runs(rng: np.random.Generator, n: int, m: int, runs: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions (R, N, M), capability (R, N), salience (R, N, M) with the awkward cases the mechanism has to
    handle: positions on a coarse grid (ties, duplicate positions, equidistant pairs), a whole issue at one point
    (R == 0), zero saliences and capabilities, an issue nobody cares about, an all-zero capability."""
    grid = rng.integers(0, 5, size=(runs, n, m)) * 25.0
    x = np.where(rng.random((runs, n, m)) < 0.5, grid, rng.uniform(0.0, 100.0, (runs, n, m)))
    flat = rng.random((runs, m)) < 0.1
    x = np.where(flat[:, None, :], x[:, :1, :], x)
    c = rng.uniform(0.0, 10.0, (runs, n)) * (rng.random((runs, n)) > 0.15)
    c[rng.random(runs) < 0.05] = 0.0
    s = rng.uniform(0.0, 1.0, (runs, n, m)) * (rng.random((runs, n, m)) > 0.2)
    s = np.where((rng.random((runs, m)) < 0.05)[:, None, :], 0.0, s)
    return x, c, s


def check_rounds(x, c, s, scale, params) -> None:
    """ROUNDS consecutive batch rounds against each run's own single-run rounds. c, s, scale and params are per run
    (leading R, a list of EUParams) or shared by every run."""
    runs = x.shape[0]

    def own(r: int) -> tuple:
        return (c[r] if c.ndim == 2 else c, s[r] if s.ndim == 3 else s, scale[r] if scale.ndim == 2 else scale,
                params[r] if isinstance(params, list) else params)

    singles = [x[r].copy() for r in range(runs)]
    batch = x.copy()
    for t in range(ROUNDS):
        out = eu_round(batch, c, s, scale, params)
        assert isinstance(out, EURound)
        for r in range(runs):
            one = eu_round(singles[r], *own(r))
            for field in ROUND_FIELDS:
                assert_same_bits(getattr(out, field)[r], getattr(one, field), f"round {t} run {r} {field}")
            singles[r] = one.positions
        batch = out.positions


@pytest.mark.parametrize("seed", range(14))
def test_batch_of_runs_is_each_run_bit_for_bit_under_every_option(seed):
    rng = np.random.default_rng(1000 + seed)
    n, m, runs = 2 + seed % 5, 1 + seed % 4, 1 + seed % 7  # every N in 2..6, M in 1..4, R in 1..7
    x, c, s = random_runs(rng, n, m, runs)
    scale = initial_scale_range(x)
    assert scale.shape == (runs, m)
    for params in VARIANTS:
        check_rounds(x, c, s, scale, params)


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(2, 6),
    m=st.integers(1, 4),
    runs=st.integers(1, 7),
    data=st.data(),
)
def test_batch_of_runs_is_each_run_bit_for_bit_hypothesis(n, m, runs, data):
    # Positions on a small grid (many ties and duplicates), saliences and capabilities with zeros.
    cells = st.integers(0, 4).map(lambda v: v * 0.25)
    x = np.array(data.draw(st.lists(cells, min_size=runs * n * m, max_size=runs * n * m))).reshape(runs, n, m)
    c = np.array(data.draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 3.0]), min_size=runs * n,
                                    max_size=runs * n))).reshape(runs, n)
    s = np.array(data.draw(st.lists(st.sampled_from([0.0, 0.3, 0.7, 1.0]), min_size=runs * n * m,
                                    max_size=runs * n * m))).reshape(runs, n, m)
    per_run = data.draw(st.lists(st.sampled_from(VARIANTS), min_size=runs, max_size=runs))
    check_rounds(x, c, s, initial_scale_range(x), per_run)


@pytest.mark.parametrize("seed", range(12))
def test_each_run_may_have_its_own_options(seed):
    rng = np.random.default_rng(2000 + seed)
    n, m, runs = int(rng.integers(2, 7)), int(rng.integers(1, 5)), int(rng.integers(1, 8))
    x, c, s = random_runs(rng, n, m, runs)
    scale = initial_scale_range(x)
    per_run = [VARIANTS[i] for i in rng.integers(0, len(VARIANTS), runs)]
    check_rounds(x, c, s, scale, per_run)


@pytest.mark.parametrize("seed", range(4))
def test_inputs_shared_by_every_run(seed):
    # One capability (N,), one salience (N, M) or (N,), one scale range (M,) for every run: the lockstep engine's
    # replicates of one scenario differ only in their positions.
    rng = np.random.default_rng(3000 + seed)
    n, m, runs = int(rng.integers(2, 7)), int(rng.integers(1, 5)), int(rng.integers(1, 8))
    x, c, s = random_runs(rng, n, m, runs)
    scale = initial_scale_range(x).max(axis=0)
    sal = s[0] if seed % 2 else s[0, :, 0]
    for params in (SCHOLZ_2011, SYMMETRIC, EUParams(status_quo_probability=0.5, t_weight=0.5)):
        check_rounds(x, c[0], sal, scale, params)


@pytest.mark.parametrize("seed", range(3))
def test_many_actors(seed):
    # From 8 actors up numpy sums a row pairwise rather than left to right: the batch must still sum each row
    # exactly as the single run does.
    rng = np.random.default_rng(4000 + seed)
    n, m, runs = int(rng.integers(8, 14)), int(rng.integers(1, 4)), int(rng.integers(2, 6))
    x, c, s = random_runs(rng, n, m, runs)
    scale = initial_scale_range(x)
    for params in (SCHOLZ_2011, SYMMETRIC, EUParams(status_quo_probability=0.7, t_weight=0.4)):
        check_rounds(x, c, s, scale, params)


@pytest.mark.parametrize("ties", ["lowest", "midpoint"])
def test_median_mean_and_matrices_over_runs(ties):
    rng = np.random.default_rng(5000)
    x, c, s = random_runs(rng, 5, 3, 6)
    scale = initial_scale_range(x)
    med = median_voter(x, c, s, scale, ties)
    mean = weighted_mean(x, c, s)
    params = EUParams(status_quo_probability=0.6, median_ties=ties)
    mats = challenge_matrices(x, c, s, scale, params)
    assert med.shape == mean.shape == (6, 3)
    assert mats.probability.shape == (6, 5, 5, 3) and mats.danger.shape == (6, 5, 3)
    for r in range(6):
        assert_same_bits(med[r], median_voter(x[r], c[r], s[r], scale[r], ties), f"median run {r}")
        assert_same_bits(mean[r], weighted_mean(x[r], c[r], s[r]), f"mean run {r}")
        one = challenge_matrices(x[r], c[r], s[r], scale[r], params)
        for field in ("probability", "eu_ij", "eu_ji", "danger", "risk_exponent"):
            assert_same_bits(getattr(mats, field)[r], getattr(one, field), f"{field} run {r}")


def test_run_rounds_over_runs():
    rng = np.random.default_rng(6000)
    x, c, s = random_runs(rng, 4, 3, 5)
    batch = run_rounds(x, c, s, 6, SYMMETRIC)
    for r in range(5):
        alone = run_rounds(x[r], c[r], s[r], 6, SYMMETRIC)
        for t, (b, a) in enumerate(zip(batch, alone, strict=True)):
            assert_same_bits(b.positions[r], a.positions, f"round {t} run {r}")
            assert_same_bits(b.median[r], a.median, f"median round {t} run {r}")


def test_a_batch_of_one_run_and_the_run_alone_agree_with_the_published_trace_inputs():
    # The EC-like shape of the Feb-2022 scenarios (N=4, M=3) with R = 1: the run axis only adds a leading 1.
    x = np.array([[0.0, 10.0, 4.0], [3.0, 7.0, 4.0], [9.0, 2.0, 8.0], [10.0, 0.0, 1.0]])
    c = np.array([0.9, 0.6, 0.4, 0.8])
    s = np.array([[0.9, 0.5, 0.2], [0.4, 0.9, 0.7], [0.6, 0.6, 0.6], [1.0, 0.3, 0.8]])
    scale = initial_scale_range(x)
    one = eu_round(x, c, s, scale)
    batch = eu_round(x[None], c[None], s[None], scale[None])
    assert batch.positions.shape == (1, 4, 3) and batch.median.shape == (1, 3) and batch.offer_kind.shape == (1, 4, 3)
    for field in ROUND_FIELDS:
        assert_same_bits(getattr(batch, field)[0], getattr(one, field), field)


@pytest.mark.parametrize(
    ("cap", "sal", "scale", "params", "message"),
    [
        (np.ones((3, 4)), np.ones((2, 4, 3)), np.ones(3), EUParams(), "capability must have shape"),
        (np.ones(5), np.ones((2, 4, 3)), np.ones(3), EUParams(), "capability must have shape"),
        (np.ones(4), np.ones((2, 5, 3)), np.ones(3), EUParams(), "salience must have shape"),
        (np.ones(4), np.ones((3, 4, 3)), np.ones(3), EUParams(), "salience must have shape"),
        (np.ones(4), np.ones((4, 3)), np.ones((3, 3)), EUParams(), "scale_range must have shape"),
        (np.ones(4), np.ones((4, 3)), np.ones(3), [EUParams()] * 3, "one EUParams per run"),
        (np.ones(4), np.ones((4, 3)), np.ones(3), [EUParams(), "published"], "one EUParams per run"),
    ],
)
def test_bad_run_axis_inputs_are_named(cap, sal, scale, params, message):
    x = np.zeros((2, 4, 3))
    with pytest.raises(ValueError, match=message):
        eu_round(x, cap, sal, scale, params)


def test_options_per_run_need_a_run_axis():
    with pytest.raises(ValueError, match="one EUParams per run"):
        eu_round(np.zeros((4, 3)), np.ones(4), np.ones((4, 3)), np.ones(3), [EUParams()])
    with pytest.raises(ValueError, match="positions must have shape"):
        eu_round(np.zeros((1, 2, 4, 3)), np.ones(4), np.ones((4, 3)), np.ones(3))


def test_an_empty_batch_keeps_its_shape():
    # A lockstep engine whose runs have all ended may still call the round with no run left.
    out = eu_round(np.zeros((0, 4, 3)), np.ones(4), np.ones((4, 3)), np.ones(3), [])
    assert out.positions.shape == out.offer_kind.shape == (0, 4, 3) and out.median.shape == (0, 3)
    assert median_voter(np.zeros((0, 4, 3)), np.ones((0, 4)), np.ones((0, 4, 3)), np.ones((0, 3))).shape == (0, 3)
