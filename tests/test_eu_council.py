"""The Council's voting rules by date (sim.forecasting.eu_council) and the procedural model that uses them: weights
and quotas, the double majority, the population table, DEU dates, consultation and co-decision."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from sim.forecasting import Problem, eu_council, procedural

EU15 = ("at", "be", "dk", "fi", "fr", "de", "el", "ie", "it", "lu", "nl", "pt", "es", "se", "uk")
EU28 = EU15 + ("bu", "cr", "cy", "cz", "ee", "hu", "lv", "lt", "mt", "pl", "ro", "si", "sk")


@pytest.mark.parametrize(("day", "total", "quota", "members"), [
    (date(1999, 6, 1), 87, 62, 15),
    (date(2004, 6, 1), 124, 88, 25),
    (date(2005, 6, 1), 321, 232, 25),
    (date(2008, 6, 1), 345, 255, 27),
    (date(2014, 1, 1), 352, 260, 28),
])
def test_weighted_votes_and_quota_in_force(day, total, quota, members):
    regime = eu_council.regime_on(day)
    assert sum(regime.weights.values()) == total and regime.quota == quota and len(regime.members) == members


def test_lisbon_double_majority_from_november_2014():
    assert eu_council.regime_on(date(2014, 10, 31)).weights is not None
    lisbon = eu_council.regime_on(date(2014, 11, 1))
    assert lisbon.weights is None and (lisbon.member_share, lisbon.population_share, lisbon.min_blockers) == (
        0.55, 0.65, 4)
    assert "UK" not in eu_council.regime_on(date(2020, 2, 1)).members


def test_population_table_is_sourced_and_complete():
    text = eu_council.POPULATION_FILE.read_text()
    assert "Eurostat" in text and "tps00001" in text
    for year in range(2006, 2020):
        people = eu_council.population(year)
        assert set(eu_council.DEU_CODES.values()) <= set(people)
        assert 490e6 < sum(people.values()) < 520e6                          # the EU-28 on 1 January
    assert eu_council.population(2016)["DE"] == 82175684
    assert eu_council.population(1999) == eu_council.population(2006)    # nearest year outside the table


def test_nice_needs_the_votes_and_a_majority_of_the_members():
    rule = eu_council.council_rule(EU28[:-1] + ("sk",), date(2008, 6, 1))      # EU-27 codes (no HR)
    everyone = np.ones(len(EU28), dtype=bool)
    assert rule.passes(everyone, everyone)
    big = np.array([code in ("de", "fr", "it", "uk", "es", "pl", "ro", "nl", "el", "cz", "be", "hu", "pt")
                    for code in EU28])
    votes = rule.votes[big].sum()
    assert votes >= 255 and big.sum() == 13                               # the votes, but 13 of 27 members
    assert not rule.passes(big, everyone)


def test_lisbon_blocking_minority_needs_four_members():
    rule = eu_council.council_rule(EU28, date(2016, 6, 1))
    everyone = np.ones(len(EU28), dtype=bool)
    against = np.isin(EU28, ("de", "fr", "uk"))                           # over 35 % of the population, 3 members
    assert rule.passes(~against, everyone)
    against |= np.isin(EU28, ("mt",))                                    # a fourth member: now a blocking minority
    assert not rule.passes(~against, everyone)


def test_deu_dates_including_the_spreadsheet_mangled_ones():
    assert eu_council.parse_date("14-03-00") == date(2000, 3, 14)
    assert eu_council.parse_date("20-07-2016") == date(2016, 7, 20)
    # written back as yyyy-mm-dd by a spreadsheet: 29-09-04 became 2029-09-04; the proposal id says 2004
    assert eu_council.parse_date("2029-09-04", eu_council.proposal_year("d04218")) == date(2004, 9, 29)
    assert eu_council.parse_date("1930-06-05", eu_council.proposal_year("n05124")) == date(2005, 6, 30)
    assert eu_council.parse_date("2017-04-18", eu_council.proposal_year("d180104")) == date(2018, 4, 17)
    assert eu_council.parse_date("2016-03-08", 2016) == date(2016, 3, 8)   # a real ISO date stays one
    assert eu_council.parse_date("999") is None and eu_council.proposal_year("x") is None


def test_shapley_shubik_indices_of_the_eu15():
    power = eu_council.shapley_shubik(date(1999, 1, 1))
    assert sum(power.values()) == pytest.approx(1.0)
    assert power["DE"] == pytest.approx(0.117, abs=0.006) and power["LU"] == pytest.approx(0.021, abs=0.005)
    assert set(eu_council.shapley_shubik(date(1999, 1, 1), "unanimity").values()) == {1 / 15}


# ---------------------------------------------------------------------------------------------------- procedural
def eu_problem(positions, rule="qmv", procedure="CNS", day=date(1999, 1, 1), reference=0.0) -> Problem:
    actors = ("com", "ep") + EU15
    x = np.array([positions], dtype=float)
    return Problem(x, np.ones_like(x), np.ones(len(actors)), reference=np.array([reference]), rules=(rule,),
                   proposer=0, veto_player=1 if procedure == "COD" else None, actors=actors, date=day)


def test_procedural_uses_the_council_weights_in_force():
    """EU-15, status quo 0, Commission at 100. The big four (40 of 87 votes) at 20, the others at 80: moving up
    needs 62 votes, so the pivot is at 20 and the Commission gets 40 -- unless a state at 20 is small."""
    big = {"de", "fr", "it", "uk"}
    positions = [100, 50] + [20 if code in big else 80 for code in EU15]
    assert procedural.forecast(eu_problem(positions))[0] == pytest.approx(40.0)
    # with equal weights (71 % of the capabilities, no date) the voters at 80 and 50 pass anything up to 100, and
    # the unanimity to amend caps the proposal at the highest voter, 80
    generic = Problem(np.array([positions], float), np.ones((1, 17)), np.ones(17), reference=np.array([0.0]),
                      proposer=0)
    assert procedural.forecast(generic)[0] == pytest.approx(80.0)


def test_consultation_needs_unanimity_to_amend_and_codecision_the_parliament():
    """Everyone prefers change from 0; the Commission at 100 beyond every member (at most 60): under consultation
    the members would unanimously amend anything above 60, so the proposal is 60. Under co-decision the Parliament
    at 30 accepts up to 60 and conciliation keeps the outcome between it and the Council's core."""
    positions = [100, 30] + [40, 45, 50, 55, 60] * 3
    assert procedural.forecast(eu_problem(positions))[0] == pytest.approx(60.0)
    assert procedural.forecast(eu_problem(positions, procedure="COD"))[0] == pytest.approx(
        procedural.outcome_interval(eu_problem(positions, procedure="COD"), 0)[1])
    low, high = procedural.outcome_interval(eu_problem(positions, procedure="COD"), 0)
    assert 30 <= low <= high <= 60


def test_unanimity_keeps_the_status_quo_when_one_member_objects():
    positions = [100, 50] + [90] * 14 + [0]
    assert procedural.forecast(eu_problem(positions, "unanimity", reference=10.0))[0] == 10.0
    assert procedural.forecast(eu_problem(positions, "qmv", reference=10.0))[0] > 10.0
