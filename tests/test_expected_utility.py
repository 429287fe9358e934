"""Tests of sim.core.expected_utility_kernel (the BDM / Scholz et al. 2011 challenge mechanism).

Run with:  .venv/bin/python -m pytest tests/test_expected_utility.py -W error::RuntimeWarning
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.core.expected_utility_kernel import (
    OFFER_CAPITULATION,
    OFFER_COMPROMISE,
    OFFER_CONFRONTATION,
    OFFER_NAMES,
    OFFER_NONE,
    EUParams,
    EURound,
    challenge_matrices,
    eu_round,
    initial_scale_range,
    median_voter,
    run_rounds,
    weighted_mean,
)

EC_CSV = Path(__file__).resolve().parents[1] / "scenarios" / "ec_emissions_1994.csv"

# Scholz, Calbert & Smith (2011): median-voter position by round, round 0 = initial, Q = 1.
PUBLISHED_MEDIANS = [7.0, 8.416, 9.611, 9.962, 9.962, 9.962, 7.472, 8.825, 9.671, 9.671, 7.0]

HYP = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
ALL_PARAMS = [
    EUParams(selection=sel, normalisation=norm, status_quo_probability=q, t_weight=t)
    for sel in ("published", "least_move")
    for norm in ("all_pairs", "pair")
    for q, t in ((1.0, 1.0), (0.6, 0.3))
]


def no_float_errors():
    return np.errstate(divide="raise", over="raise", invalid="raise")


# --------------------------------------------------------------------------- data


def load_ec() -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    with EC_CSV.open(newline="") as fh:
        rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    names = [r["Actor"] for r in rows]
    cap = np.array([float(r["Capability"]) for r in rows])
    pos = np.array([[float(r["Position"])] for r in rows])
    sal = np.array([[float(r["Salience"])] for r in rows])
    return names, cap, pos, sal


def test_csv_is_the_reference_table():
    text = EC_CSV.read_text()
    lines = text.splitlines()
    assert lines[0].startswith("#")
    assert any("Table 1" in line for line in lines if line.startswith("#"))
    header = next(line for line in lines if not line.startswith("#"))
    assert header == "Actor,Capability,Position,Salience"
    names, cap, pos, sal = load_ec()
    assert names == [
        "Netherlands", "Belgium", "Luxembourg", "Germany", "France",
        "Italy", "UK", "Ireland", "Denmark", "Greece",
    ]  # fmt: skip
    np.testing.assert_allclose(cap, [0.08, 0.08, 0.03, 0.16, 0.16, 0.16, 0.16, 0.05, 0.05, 0.08])
    np.testing.assert_allclose(pos[:, 0], [4, 7, 4, 4, 10, 10, 10, 7, 4, 7])
    np.testing.assert_allclose(sal[:, 0], [0.8, 0.4, 0.2, 0.8, 0.6, 0.6, 0.9, 0.1, 1.0, 0.7])


# --------------------------------------------------------------------------- replication


def test_published_median_trace():
    _, cap, pos, sal = load_ec()
    rounds = run_rounds(pos, cap, sal, 10, EUParams(status_quo_probability=1.0))
    medians = [float(r.median[0]) for r in rounds]
    medians.append(float(median_voter(rounds[-1].positions, cap, sal, initial_scale_range(pos))[0]))
    np.testing.assert_allclose(medians, PUBLISHED_MEDIANS, rtol=0, atol=5e-4)


def test_round_zero_mean_and_median():
    _, cap, pos, sal = load_ec()
    w = cap * sal[:, 0]
    expected_mean = float((w * pos[:, 0]).sum() / w.sum())
    assert expected_mean == pytest.approx(7.390, abs=5e-4)
    assert float(weighted_mean(pos, cap, sal)[0]) == pytest.approx(expected_mean, rel=1e-12)
    assert float(median_voter(pos, cap, sal, 6.0)[0]) == 7.0
    rnd = eu_round(pos, cap, sal, initial_scale_range(pos))
    assert float(rnd.mean[0]) == pytest.approx(expected_mean, rel=1e-12)
    assert float(rnd.median[0]) == 7.0


def test_first_round_offers():
    names, cap, pos, sal = load_ec()
    rnd = eu_round(pos, cap, sal, initial_scale_range(pos))
    kind = dict(zip(names, rnd.offer_kind[:, 0], strict=True))
    src = {n: names[j] if j >= 0 else None for n, j in zip(names, rnd.offer_from[:, 0], strict=True)}
    new = dict(zip(names, rnd.positions[:, 0], strict=True))
    assert kind["Belgium"] == OFFER_COMPROMISE and src["Belgium"] == "France"
    assert new["Belgium"] == pytest.approx(8.416, abs=5e-4)
    assert kind["Luxembourg"] == OFFER_CONFRONTATION and new["Luxembourg"] == 7.0
    assert kind["Ireland"] == OFFER_CONFRONTATION and new["Ireland"] == 4.0
    moved = {n for n in names if new[n] != pos[names.index(n), 0]}
    assert moved == {"Belgium", "Luxembourg", "Ireland"}
    assert all(kind[n] == OFFER_NONE and src[n] is None for n in set(names) - moved)
    assert np.all((rnd.risk_exponent >= 0.5) & (rnd.risk_exponent <= 2.0))


# --------------------------------------------------------------------------- options


def test_selection_rules_differ_on_ec_data():
    _, cap, pos, sal = load_ec()
    pub = run_rounds(pos, cap, sal, 3, EUParams(selection="published"))
    lm = run_rounds(pos, cap, sal, 3, EUParams(selection="least_move"))
    # Round 1: Luxembourg and Ireland take a confrontation under "published" but a smaller
    # compromise under "least_move"; Belgium's compromise (and the median) agree.
    changed = np.flatnonzero(pub[0].positions[:, 0] != lm[0].positions[:, 0]).tolist()
    assert changed == [2, 7]
    assert lm[0].offer_kind[2, 0] == lm[0].offer_kind[7, 0] == OFFER_COMPROMISE
    assert float(pub[1].median[0]) == float(lm[1].median[0]) == pytest.approx(8.416, abs=5e-4)
    assert float(pub[2].median[0]) == pytest.approx(9.611, abs=5e-4)
    assert float(lm[2].median[0]) == pytest.approx(9.475, abs=5e-4)


CAP_CASE = (
    np.array([[7.0], [6.0], [0.0]]),
    np.array([0.1, 0.4, 0.8]),
    np.array([[0.5], [0.8], [0.4]]),
)


def test_capitulation_only_under_least_move():
    pos, cap, sal = CAP_CASE
    R = initial_scale_range(pos)
    lm = eu_round(pos, cap, sal, R, EUParams(selection="least_move"))
    assert lm.offer_kind[0, 0] == OFFER_CAPITULATION and lm.offer_from[0, 0] == 1
    assert lm.positions[0, 0] == 6.0
    pub = eu_round(pos, cap, sal, R, EUParams(selection="published"))
    assert not np.any(pub.offer_kind == OFFER_CAPITULATION)
    assert pub.positions[0, 0] != 6.0


def test_published_rule_ignores_capitulations_in_offer_choice():
    # Capitulation-only situations are rare (none found in 100k random small cases),
    # so the choice step is checked directly on hand-made expected utilities.
    from sim.core.expected_utility_kernel import _select

    X = np.array([[0.0, 1.0]])  # one issue, two actors
    same = X[:, :, None] == X[:, None, :]
    eu_ij = np.array([[[0.0, -2.0], [-0.5, 0.0]]])  # actor 0: EU_01 = -2 (loses badly)
    eu_ji = np.array([[[0.0, 1.0], [-0.1, 0.0]]])  # actor 0: EU_10 = 1 > 0, 1 < |-2|
    x_lm, k_lm, src_lm = _select(X, eu_ij, eu_ji, same, "least_move")
    assert k_lm[0].tolist() == [OFFER_CAPITULATION, OFFER_NONE] and src_lm[0].tolist() == [1, -1]
    assert x_lm[0].tolist() == [1.0, 1.0]
    x_p, k_p, src_p = _select(X, eu_ij, eu_ji, same, "published")
    assert k_p[0].tolist() == [OFFER_NONE, OFFER_NONE] and src_p[0].tolist() == [-1, -1]
    assert x_p[0].tolist() == [0.0, 1.0]
    # the same numbers with |EU_01| < EU_10 are a compromise under both rules
    eu_ij[0, 0, 1] = -0.25
    for rule in ("published", "least_move"):
        x_c, k_c, _ = _select(X, eu_ij, eu_ji, same, rule)
        assert k_c[0, 0] == OFFER_COMPROMISE and x_c[0, 0] == pytest.approx(0.25)


def test_normalisations_differ():
    _, cap, pos, sal = load_ec()
    R = initial_scale_range(pos)
    a = challenge_matrices(pos, cap, sal, R, EUParams(normalisation="all_pairs")).probability[..., 0]
    p = challenge_matrices(pos, cap, sal, R, EUParams(normalisation="pair")).probability[..., 0]
    distinct = pos[:, None, 0] != pos[None, :, 0]
    # "pair": P(i, j) + P(j, i) = 1 for every contested pair; "all_pairs": far below 1.
    np.testing.assert_allclose((p + p.T)[distinct], 1.0, rtol=1e-12)
    assert np.all((a + a.T)[distinct] < 0.2)
    assert np.all(p[~distinct] == 0) and np.all(a[~distinct] == 0)
    trace = [float(r.median[0]) for r in run_rounds(pos, cap, sal, 10, EUParams(normalisation="pair"))]
    assert trace != pytest.approx(PUBLISHED_MEDIANS[:10], abs=5e-4)


@HYP
@given(data=st.data())
def test_all_pairs_probabilities_sum_to_half(data):
    # With distinct positions, sum_ij P(i, j) = sum max(0, v) / sum |v| = 1/2 exactly.
    n = data.draw(st.integers(2, 7))
    x = np.array(data.draw(st.lists(st.integers(0, 50), min_size=n, max_size=n, unique=True)), float)
    cap = np.array(data.draw(st.lists(st.floats(0.01, 1), min_size=n, max_size=n)))
    sal = np.array(data.draw(st.lists(st.floats(0.01, 1), min_size=n, max_size=n)))
    P = challenge_matrices(x[:, None], cap, sal, [np.ptp(x)]).probability[..., 0]
    assert P.sum() == pytest.approx(0.5, rel=1e-9)


def test_t_weight_matters_only_when_q_below_one():
    _, cap, pos, sal = load_ec()
    R = initial_scale_range(pos)

    def eus(q, t):
        m = challenge_matrices(pos, cap, sal, R, EUParams(status_quo_probability=q, t_weight=t))
        return m.eu_ij

    np.testing.assert_array_equal(eus(1.0, 0.0), eus(1.0, 1.0))
    assert not np.allclose(eus(0.5, 0.0), eus(0.5, 1.0))
    assert not np.allclose(eus(0.5, 1.0), eus(1.0, 1.0))


def test_params_validation():
    with pytest.raises(ValueError):
        EUParams(status_quo_probability=1.5)
    with pytest.raises(ValueError):
        EUParams(t_weight=-0.1)
    with pytest.raises(ValueError):
        EUParams(selection="nearest")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        EUParams(normalisation="global")  # type: ignore[arg-type]
    assert OFFER_NAMES[OFFER_NONE] == "none"
    assert OFFER_NAMES[OFFER_CONFRONTATION] == "confrontation"
    assert OFFER_NAMES[OFFER_COMPROMISE] == "compromise"
    assert OFFER_NAMES[OFFER_CAPITULATION] == "capitulation"


def test_input_validation():
    pos, cap, sal = CAP_CASE
    with pytest.raises(ValueError):
        eu_round(pos[:, 0], cap, sal, [7.0])  # positions must be 2-D
    with pytest.raises(ValueError):
        eu_round(pos, cap[:2], sal, [7.0])
    with pytest.raises(ValueError):
        eu_round(pos, -cap, sal, [7.0])
    with pytest.raises(ValueError):
        eu_round(pos, cap, sal[:2], [7.0])
    with pytest.raises(ValueError):
        eu_round(pos * np.nan, cap, sal, [7.0])
    with pytest.raises(ValueError):
        eu_round(pos, cap, sal, [-1.0])


def test_one_dimensional_helpers():
    _, cap, pos, sal = load_ec()
    m = weighted_mean(pos[:, 0], cap, sal[:, 0])
    v = median_voter(pos[:, 0], cap, sal[:, 0], 6.0)
    assert m.shape == () and v.shape == ()
    assert float(m) == pytest.approx(float(weighted_mean(pos, cap, sal)[0]))
    assert float(v) == 7.0
    assert initial_scale_range(pos).tolist() == [6.0]


# --------------------------------------------------------------------------- oracle


def oracle_issue(x, c, s, R, params):
    """Scalar, loop-by-loop transcription of the equations for one issue: returns
    (P, EU_ij, EU_ji, danger, r, median) with P computed with the round's exponents."""
    n = len(x)
    w = [c[k] * s[k] for k in range(n)]
    q, t = params.status_quo_probability, params.t_weight

    def dist(a, b):
        return min(abs(a - b) / R, 1.0) if R > 0 else 0.0

    def vote(k, i, j, r):
        return w[k] * (dist(x[k], x[j]) ** r[k] - dist(x[k], x[i]) ** r[k])

    def prob(i, j, r):
        if abs(x[i] - x[j]) <= 1e-12 * R:     # one position, up to rounding (as the kernel's `_same_positions`)
            return 0.0
        num = sum(max(0.0, vote(k, i, j, r)) for k in range(n))
        if params.normalisation == "all_pairs":
            den = sum(abs(vote(k, a, b, r)) for k in range(n) for a in range(n) for b in range(n))
        else:
            den = sum(abs(vote(k, i, j, r)) for k in range(n))
        return num / den if den > 0 else 0.0

    ones = [1.0] * n
    # median voter: unbeaten in r = 1 pairwise votes (vote totals within a 1e-12 relative
    # tolerance count as ties); ties -> closest to the weighted mean, then the lowest
    spread = max(x) - min(x)
    tol = 1e-12 * sum(w) * spread / R if R > 0 else 0.0
    beats = [[sum(vote(k, b, a, ones) for k in range(n)) for a in range(n)] for b in range(n)]
    unbeaten = [a for a in range(n) if all(beats[b][a] <= tol for b in range(n))]
    wsum = sum(w)
    centre = sum(wk * xk for wk, xk in zip(w, x, strict=True)) / wsum if wsum > 0 else sum(x) / n
    gap = {a: abs(x[a] - centre) for a in unbeaten}
    med = min(x[a] for a in unbeaten if gap[a] <= min(gap.values()) + 1e-12 * spread)

    def eu(a, b, re, r_votes):
        d = dist(x[a], x[b])
        p = prob(a, b, r_votes)
        us = 2 - 4 * (0.5 - 0.5 * d) ** re
        uf = 2 - 4 * (0.5 + 0.5 * d) ** re
        usq = 2 - 4 * 0.5**re
        m = dist(x[a], med)
        ub = 2 - 4 * max(0.0, 0.5 - 0.25 * (m + d)) ** re
        uw = 2 - 4 * (0.5 + 0.25 * (m + d)) ** re
        return s[b] * (p * us + (1 - p) * uf) + (1 - s[b]) * us - q * usq - (1 - q) * (t * ub + (1 - t) * uw)

    danger = [sum(eu(j, i, 1.0, ones) for j in range(n) if j != i) for i in range(n)]
    dmax, dmin = max(danger), min(danger)
    if R == 0 or dmax - dmin <= 1e-12 * max(1.0, abs(dmax), abs(dmin)):
        r = ones
    else:
        rho = [(2 * d - dmax - dmin) / (dmax - dmin) for d in danger]
        r = [(1 - h / 3) / (1 + h / 3) for h in rho]
    P = [[prob(i, j, r) for j in range(n)] for i in range(n)]
    eij = [[eu(i, j, r[i], r) for j in range(n)] for i in range(n)]
    eji = [[eu(j, i, r[i], r) for j in range(n)] for i in range(n)]
    return np.array(P), np.array(eij), np.array(eji), np.array(danger), np.array(r), med


def oracle_choice(x, eij, eji, selection, R=None):
    """Offer classification and choice for one issue, from given EU matrices. As the kernel: positions within
    1e-12 x R of each other are one position (no offer between them), and keys within 1e-12 x max(spread, |key|)
    of the smallest tie, the first actor winning (rules that do not depend on the direction of the scale)."""
    n = len(x)
    tol = 1e-12
    same_span = tol * (R if R is not None else 0.0)
    spread = max(x) - min(x)

    def first_best(options, key):
        best = min(key(o) for o in options)
        return next(o for o in options if key(o) <= best + tol * max(spread, abs(best)))

    out = []
    for i in range(n):
        offers = []
        for j in range(n):
            if abs(x[j] - x[i]) <= same_span:
                continue
            a, b = eij[i][j], eji[i][j]
            if b > a > 0:
                offers.append((OFFER_CONFRONTATION, j, x[j]))
            elif b > 0 > a and b > abs(a):
                offers.append((OFFER_COMPROMISE, j, x[i] + (x[j] - x[i]) * abs(a / b)))
            elif b > 0 > a and b < abs(a) and selection == "least_move":
                offers.append((OFFER_CAPITULATION, j, x[j]))
        if selection == "published":
            conf = [o for o in offers if o[0] == OFFER_CONFRONTATION]
            comp = [o for o in offers if o[0] == OFFER_COMPROMISE]
            if conf:
                best = first_best(conf, lambda o, i=i: abs(o[2] - x[i]))
            elif comp:

                def key(o, i=i):
                    a, b = abs(eij[i][o[1]]), abs(eji[i][o[1]])
                    return (a * x[i] + b * x[o[1]]) / (a + b)

                best = first_best(comp, key)
            else:
                best = None
        else:
            best = first_best(offers, lambda o, i=i: abs(o[2] - x[i])) if offers else None
        out.append(best if best else (OFFER_NONE, -1, x[i]))
    return out


@st.composite
def scenarios(draw, max_n=6, max_m=3):
    n = draw(st.integers(2, max_n))
    m = draw(st.integers(1, max_m))
    grid = draw(st.booleans())
    if grid:  # few distinct values: shared positions, ties
        pos = draw(st.lists(st.integers(0, 4), min_size=n * m, max_size=n * m))
    else:
        pos = draw(st.lists(st.floats(-50, 50, allow_subnormal=False), min_size=n * m, max_size=n * m))
    weight = st.one_of(st.just(0.0), st.floats(0.001, 1.0))
    cap = draw(st.lists(weight, min_size=n, max_size=n))
    sal = draw(st.lists(weight, min_size=n * m, max_size=n * m))
    return (
        np.array(pos, float).reshape(n, m),
        np.array(cap, float),
        np.array(sal, float).reshape(n, m),
    )


@HYP
@given(sc=scenarios(max_n=5, max_m=2), params=st.sampled_from(ALL_PARAMS))
def test_matches_scalar_oracle(sc, params):
    pos, cap, sal = sc
    R = initial_scale_range(pos)
    with no_float_errors():
        mats = challenge_matrices(pos, cap, sal, R, params)
        rnd = eu_round(pos, cap, sal, R, params)
    for m in range(pos.shape[1]):
        x = pos[:, m].tolist()
        P, eij, eji, danger, r, med = oracle_issue(x, cap.tolist(), sal[:, m].tolist(), R[m], params)
        assert float(rnd.median[m]) == med
        np.testing.assert_allclose(mats.danger[:, m], danger, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(rnd.risk_exponent[:, m], r, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(mats.probability[..., m], P, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(mats.eu_ij[..., m], eij, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(mats.eu_ji[..., m], eji, rtol=1e-9, atol=1e-12)
        # choice logic, fed with the module's own EU matrices (no rounding disagreements)
        expected = oracle_choice(x, mats.eu_ij[..., m], mats.eu_ji[..., m], params.selection, R[m])
        assert rnd.offer_kind[:, m].tolist() == [e[0] for e in expected]
        assert rnd.offer_from[:, m].tolist() == [e[1] for e in expected]
        np.testing.assert_allclose(rnd.positions[:, m], [e[2] for e in expected], rtol=0, atol=1e-12)


def test_median_tie_breaks():
    one = np.ones(3)
    # F(4) = F(7) = 2.25 < F(10): tie between 4 and 7, weighted mean 6.25 -> 7
    assert float(median_voter([4.0, 7.0, 10.0], [0.5, 0.25, 0.25], one, 6.0)) == 7.0
    # equal weights on 4 and 10: every point ties, mean 7 -> equidistant -> lowest
    assert float(median_voter([4.0, 10.0], [1.0, 1.0], [1.0, 1.0], 6.0)) == 4.0
    # ... or their midpoint under the mirror-symmetric rule (SYMMETRIC)
    assert float(median_voter([4.0, 10.0], [1.0, 1.0], [1.0, 1.0], 6.0, ties="midpoint")) == 7.0
    # all weights zero: closest to the plain mean (4) -> 2
    assert float(median_voter([1.0, 2.0, 9.0], one, np.zeros(3), 8.0)) == 2.0
    # a strict winner ignores the mean: 3 holds a majority of the weight
    assert float(median_voter([0.0, 3.0, 100.0], [0.3, 0.6, 0.1], one, 100.0)) == 3.0


@HYP
@given(sc=scenarios())
def test_median_voter_is_unbeaten(sc):
    pos, cap, sal = sc
    med = median_voter(pos, cap, sal, initial_scale_range(pos))
    for m in range(pos.shape[1]):
        x, w = pos[:, m], cap * sal[:, m]
        assert med[m] in x
        loss = (w[:, None] * np.abs(x[:, None] - x[None, :])).sum(axis=0)  # F(y) for y in x
        at_median = float(np.sum(w * np.abs(x - med[m])))
        assert np.all(at_median <= loss + 1e-9 * (1 + loss))
        np.testing.assert_allclose(
            weighted_mean(pos, cap, sal)[m], np.average(x, weights=w) if w.sum() > 0 else x.mean()
        )


# --------------------------------------------------------------------------- robustness


def check_round(pos, rnd: EURound):
    n, m = pos.shape
    assert rnd.positions.shape == (n, m)
    assert rnd.offer_kind.shape == rnd.offer_from.shape == rnd.risk_exponent.shape == (n, m)
    assert rnd.median.shape == rnd.mean.shape == (m,)
    for arr in (rnd.positions, rnd.median, rnd.mean, rnd.risk_exponent):
        assert np.all(np.isfinite(arr))
    lo, hi = pos.min(axis=0), pos.max(axis=0)
    assert np.all(rnd.positions >= lo) and np.all(rnd.positions <= hi)
    assert np.all((rnd.mean >= lo - 1e-9) & (rnd.mean <= hi + 1e-9))
    assert np.all((rnd.risk_exponent >= 0.5) & (rnd.risk_exponent <= 2.0))
    for i in range(n):
        for k in range(m):
            kind, j, new, old = rnd.offer_kind[i, k], rnd.offer_from[i, k], rnd.positions[i, k], pos[i, k]
            if kind == OFFER_NONE:
                assert j == -1 and new == old
                continue
            assert 0 <= j < n and j != i and pos[j, k] != old
            if kind in (OFFER_CONFRONTATION, OFFER_CAPITULATION):
                assert new == pos[j, k]
            else:
                assert kind == OFFER_COMPROMISE
                assert min(old, pos[j, k]) <= new <= max(old, pos[j, k])


@HYP
@given(sc=scenarios(max_n=8), params=st.sampled_from(ALL_PARAMS), rounds=st.integers(1, 4))
def test_robust_random(sc, params, rounds):
    pos, cap, sal = sc
    R = initial_scale_range(pos)
    x = pos
    with no_float_errors():
        for _ in range(rounds):
            rnd = eu_round(x, cap, sal, R, params)
            check_round(x, rnd)
            x = rnd.positions
        mats = challenge_matrices(x, cap, sal, R, params)
    for arr in (mats.probability, mats.eu_ij, mats.eu_ji, mats.danger):
        assert np.all(np.isfinite(arr))
    assert np.all((mats.probability >= 0) & (mats.probability <= 1))


@HYP
@given(sc=scenarios(max_n=6), params=st.sampled_from(ALL_PARAMS))
def test_one_actor_holds_all_capability(sc, params):
    pos, cap, sal = sc
    cap = np.zeros_like(cap)
    cap[0] = 1.0
    sal[0] = np.maximum(sal[0], 0.5)
    with no_float_errors():
        rnd = eu_round(pos, cap, sal, initial_scale_range(pos), params)
    check_round(pos, rnd)
    # the only voter is the median (up to the 1e-12 relative tie tolerance)
    atol = 1e-9 * (1.0 + np.ptp(pos, axis=0))
    assert np.all(np.abs(rnd.median - pos[0]) <= atol)
    np.testing.assert_allclose(rnd.mean, pos[0], rtol=1e-12, atol=1e-300)


@HYP
@given(sc=scenarios(max_n=6), selection=st.sampled_from(["published", "least_move"]))
def test_all_saliences_zero_nothing_moves(sc, selection):
    # Nobody votes (P = 0) and, with Q = 1, EU(i, j) = EU(j, i) = U_s - U_sq >= 0 from i's
    # view, so no confrontation (needs a strict inequality) and no compromise.
    pos, cap, _ = sc
    sal = np.zeros_like(pos)
    with no_float_errors():
        rnd = eu_round(pos, cap, sal, initial_scale_range(pos), EUParams(selection=selection))
    check_round(pos, rnd)
    np.testing.assert_array_equal(rnd.positions, pos)
    assert np.all(rnd.offer_kind == OFFER_NONE)


@HYP
@given(sc=scenarios(max_n=6), params=st.sampled_from(ALL_PARAMS), value=st.floats(-10, 10))
def test_identical_positions_nothing_moves(sc, params, value):
    _, cap, sal = sc
    pos = np.full(sal.shape, value)
    with no_float_errors():
        for R in (initial_scale_range(pos), np.full(pos.shape[1], 5.0)):  # R = 0 and R > 0
            rnd = eu_round(pos, cap, sal, R, params)
            check_round(pos, rnd)
            np.testing.assert_array_equal(rnd.positions, pos)
            assert np.all(rnd.offer_kind == OFFER_NONE) and np.all(rnd.offer_from == -1)
            np.testing.assert_array_equal(rnd.risk_exponent, 1.0)
            np.testing.assert_array_equal(rnd.median, pos[0])


def test_zero_scale_range_freezes_issue():
    # A caller-supplied R = 0 on one issue freezes that issue; the other still runs.
    _, cap, pos, sal = load_ec()
    pos2 = np.hstack([pos, pos])
    sal2 = np.hstack([sal, sal])
    with no_float_errors():
        rnd = eu_round(pos2, cap, sal2, [6.0, 0.0])
    np.testing.assert_array_equal(rnd.positions[:, 1], pos[:, 0])
    assert np.all(rnd.offer_kind[:, 1] == OFFER_NONE)
    assert not np.array_equal(rnd.positions[:, 0], pos[:, 0])


@HYP
@given(
    x=st.lists(st.floats(0, 10, allow_subnormal=False), min_size=2, max_size=2),
    cap=st.lists(st.floats(0, 1), min_size=2, max_size=2),
    sal=st.lists(st.floats(0, 1), min_size=2, max_size=2),
    params=st.sampled_from(ALL_PARAMS),
)
def test_two_actors(x, cap, sal, params):
    pos = np.array(x)[:, None]
    with no_float_errors():
        rnds = run_rounds(pos, np.array(cap), np.array(sal)[:, None], 3, params)
    prev = pos
    for rnd in rnds:
        check_round(prev, rnd)
        prev = rnd.positions


# --------------------------------------------------------------------------- vectorisation


@HYP
@given(sc=scenarios(max_n=7, max_m=4), params=st.sampled_from(ALL_PARAMS))
def test_issues_are_independent_and_vectorised(sc, params):
    pos, cap, sal = sc
    R = initial_scale_range(pos)
    with no_float_errors():
        joint = eu_round(pos, cap, sal, R, params)
        for m in range(pos.shape[1]):
            alone = eu_round(pos[:, m : m + 1], cap, sal[:, m : m + 1], R[m : m + 1], params)
            np.testing.assert_allclose(joint.positions[:, m], alone.positions[:, 0], rtol=1e-12, atol=1e-12)
            np.testing.assert_array_equal(joint.offer_kind[:, m], alone.offer_kind[:, 0])
            np.testing.assert_array_equal(joint.offer_from[:, m], alone.offer_from[:, 0])
            np.testing.assert_allclose(joint.risk_exponent[:, m], alone.risk_exponent[:, 0], rtol=1e-12)
            assert joint.median[m] == alone.median[0]


def test_salience_vector_broadcasts_over_issues():
    _, cap, pos, sal = load_ec()
    pos2 = np.hstack([pos, 14.0 - pos])
    a = eu_round(pos2, cap, sal[:, 0], initial_scale_range(pos2))
    b = eu_round(pos2, cap, np.hstack([sal, sal]), initial_scale_range(pos2))
    np.testing.assert_array_equal(a.positions, b.positions)


@HYP
@given(
    pos=st.lists(st.integers(0, 20), min_size=3, max_size=7),
    data=st.data(),
    params=st.sampled_from(ALL_PARAMS),
)
def test_translation_and_scale_equivariance(pos, data, params):
    # x -> 2x + 6 with R -> 2R gives identical distance ratios, hence the same offers.
    n = len(pos)
    x = np.array(pos, float)[:, None]
    cap = np.array(data.draw(st.lists(st.floats(0.01, 1), min_size=n, max_size=n)))
    sal = np.array(data.draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))[:, None]
    R = initial_scale_range(x)
    a = eu_round(x, cap, sal, R, params)
    b = eu_round(2 * x + 6, cap, sal, 2 * R, params)
    np.testing.assert_array_equal(a.offer_kind, b.offer_kind)
    np.testing.assert_array_equal(a.offer_from, b.offer_from)
    np.testing.assert_allclose(2 * a.positions + 6, b.positions, rtol=1e-12)
    np.testing.assert_array_equal(2 * a.median + 6, b.median)
