"""The Council of the EU's voting rules in force on a date: who is a member, the weighted votes and quota, the
double majority, and the dates of proposals as the DEU files write them.

Rules (each with its source):
* EU-12 (to 31 Dec 1994) and EU-15 (1 Jan 1995 to 30 Apr 2004), Art. 148(2) EC Treaty / Art. 205(2) TEC
  (Amsterdam numbering): DE, FR, IT, UK 10 votes; ES 8; BE, EL, NL, PT 5; AT, SE 4; DK, IE, FI 3; LU 2;
  a qualified majority is 54 of 76 votes (EU-12), 62 of 87 (EU-15).
* 1 May to 31 Oct 2004, Act of Accession 2003, Art. 26: the EU-15 weights plus PL 8; CZ, HU 5; EE, LV, LT, SI,
  SK 3; CY, MT 2; 88 of 124 votes.
* From 1 Nov 2004 (Nice), Art. 205(2) and (4) TEC as amended by Art. 3 of the Protocol on the enlargement of the
  EU and Art. 12 of the Act of Accession 2003: DE, FR, IT, UK 29; ES, PL 27; NL 13; BE, CZ, EL, HU, PT 12;
  AT, SE 10; DK, IE, LT, SK, FI 7; CY, EE, LV, LU, SI 4; MT 3; 232 of 321 votes. With RO 14 and BG 10 from
  1 Jan 2007 (Act of Accession 2005, Art. 22): 255 of 345; with HR 7 from 1 Jul 2013 (Act of Accession 2012,
  Art. 20): 260 of 352. The votes in favour must also come from a majority of the members (on a Commission
  proposal), and a member may ask for a check that they hold 62 % of the population (Art. 205(4) TEC; from
  1 Dec 2009 Protocol No 36, Art. 3(3)): applied here as a third criterion.
* From 1 Nov 2014 (Lisbon), Art. 16(4) TEU and Art. 238(3) TFEU: 55 % of the members (the Treaty's "at least
  fifteen of them" follows for 27 and 28 members), representing 65 % of the population; a blocking minority must
  include at least four members, failing which the qualified majority is deemed attained. (Until 31 Mar 2017 a
  member could ask for the Nice rules, Protocol No 36, Art. 3(2); not modelled: the double majority applies from
  1 Nov 2014.) The UK leaves on 1 Feb 2020.
* Unanimity: every member (Art. 238(4) TFEU: abstentions do not prevent it). Simple majority: a majority of the
  members (Art. 238(1) TFEU).

Population: `data/eu_population.csv` (Eurostat, population on 1 January; the source is cited in the file), the
figures of the proposal's year (the nearest year in the table outside 2006-2019).

Members without a position in a data set (the DEU experts code none for some members on some issues) cannot be
placed on the issue; the criteria are applied as shares of the members that did take a position (their votes,
their number, their population), so a qualified majority of the placed members is a qualified majority in the same
proportions as of the whole Council. The blocking-minority clause counts placed members.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import numpy as np

POPULATION_FILE = Path(__file__).with_name("data") / "eu_population.csv"

DEU_CODES = {"at": "AT", "be": "BE", "bu": "BG", "bg": "BG", "cr": "HR", "hr": "HR", "cy": "CY", "cz": "CZ",
             "dk": "DK", "ee": "EE", "fi": "FI", "fr": "FR", "de": "DE", "el": "EL", "gr": "EL", "hu": "HU",
             "ie": "IE", "it": "IT", "lv": "LV", "lt": "LT", "lu": "LU", "mt": "MT", "nl": "NL", "pl": "PL",
             "pt": "PT", "ro": "RO", "si": "SI", "sk": "SK", "es": "ES", "se": "SE", "uk": "UK", "gb": "UK"}
"""Actor codes of the DEU files (lower case; `bu` Bulgaria, `cr` Croatia) -> Eurostat country codes."""

_EU12 = {"DE": 10, "FR": 10, "IT": 10, "UK": 10, "ES": 8, "BE": 5, "EL": 5, "NL": 5, "PT": 5, "DK": 3, "IE": 3,
         "LU": 2}
_EU15 = {**_EU12, "AT": 4, "SE": 4, "FI": 3}
_EU25_TRANSITION = {**_EU15, "PL": 8, "CZ": 5, "HU": 5, "EE": 3, "LV": 3, "LT": 3, "SI": 3, "SK": 3, "CY": 2,
                    "MT": 2}
_NICE25 = {"DE": 29, "FR": 29, "IT": 29, "UK": 29, "ES": 27, "PL": 27, "NL": 13, "BE": 12, "CZ": 12, "EL": 12,
           "HU": 12, "PT": 12, "AT": 10, "SE": 10, "DK": 7, "IE": 7, "LT": 7, "SK": 7, "FI": 7, "CY": 4, "EE": 4,
           "LV": 4, "LU": 4, "SI": 4, "MT": 3}
_NICE27 = {**_NICE25, "RO": 14, "BG": 10}
_NICE28 = {**_NICE27, "HR": 7}


@dataclass(frozen=True)
class Regime:
    """The qualified-majority rule of one period: a coalition passes if it holds at least `weight_share` of the
    votes (weighted regimes), more than (Nice) or at least (Lisbon) `member_share` of the members, at least
    `population_share` of the population, and -- Lisbon -- leaves fewer than `min_blockers` members against."""

    name: str
    start: date
    members: frozenset[str]
    weights: dict[str, int] | None       # None: one member, one vote (Lisbon)
    quota: int = 0
    member_share: float = 0.0
    strict_member_share: bool = False    # Nice: "a majority" (more than half); Lisbon: "at least 55 %"
    population_share: float = 0.0
    min_blockers: int = 0

    @property
    def weight_share(self) -> float:
        return self.quota / sum(self.weights.values()) if self.weights else 0.0


_LISBON_START = date(2014, 11, 1)
REGIMES: tuple[Regime, ...] = (
    Regime("EU-12 weighted votes (Art. 148(2) EC)", date(1986, 1, 1), frozenset(_EU12), _EU12, 54),
    Regime("EU-15 weighted votes (Art. 205(2) TEC)", date(1995, 1, 1), frozenset(_EU15), _EU15, 62),
    Regime("EU-25 transitional weights (Act of Accession 2003, Art. 26)", date(2004, 5, 1),
           frozenset(_EU25_TRANSITION), _EU25_TRANSITION, 88),
    Regime("Nice, EU-25 (232 of 321)", date(2004, 11, 1), frozenset(_NICE25), _NICE25, 232, 0.5, True, 0.62),
    Regime("Nice, EU-27 (255 of 345)", date(2007, 1, 1), frozenset(_NICE27), _NICE27, 255, 0.5, True, 0.62),
    Regime("Nice, EU-28 (260 of 352)", date(2013, 7, 1), frozenset(_NICE28), _NICE28, 260, 0.5, True, 0.62),
    Regime("Lisbon double majority, EU-28 (Art. 16(4) TEU)", _LISBON_START, frozenset(_NICE28), None, 0, 0.55,
           False, 0.65, 4),
    Regime("Lisbon double majority, EU-27 (Art. 16(4) TEU)", date(2020, 2, 1), frozenset(_NICE28) - {"UK"}, None, 0,
           0.55, False, 0.65, 4),
)


def regime_on(day: date) -> Regime:
    """The qualified-majority regime in force on `day` (the first one for earlier dates)."""
    current = REGIMES[0]
    for regime in REGIMES:
        if regime.start <= day:
            current = regime
    return current


@cache
def _population_table() -> dict[int, dict[str, int]]:
    with POPULATION_FILE.open(newline="") as handle:
        rows = [row for row in csv.reader(handle) if row and not row[0].startswith("#")]
    years = [int(y) for y in rows[0][1:]]
    return {year: {row[0]: int(row[k + 1]) for row in rows[1:]} for k, year in enumerate(years)}


def population(year: int) -> dict[str, int]:
    """Population on 1 January of `year` by Eurostat code (the nearest year in the table outside its range)."""
    table = _population_table()
    return table[min(table, key=lambda y: (abs(y - year), y))]


@dataclass(frozen=True)
class QualifiedMajority:
    """A voting rule over a problem's N actors: who votes, with what weight and population, and the thresholds
    (as shares of the voters that take a position on an issue; see the module docstring)."""

    votes: np.ndarray                  # (N,) weighted votes; one each under Lisbon; 0 = not a voter
    population: np.ndarray             # (N,) 0 where unknown or not a voter
    weight_share: float = 0.0
    member_share: float = 0.0
    strict_member_share: bool = False
    population_share: float = 0.0
    min_blockers: int = 0
    name: str = ""

    @property
    def voters(self) -> np.ndarray:
        return self.votes > 0

    def passes(self, coalition: np.ndarray, present: np.ndarray) -> bool:
        """Whether the voters in `coalition` (a subset of `present`, both (N,) masks) carry the vote."""
        coalition = coalition & present & self.voters
        present = present & self.voters
        n_present = int(present.sum())
        if n_present == 0:
            return False
        n_for = int(coalition.sum())
        if self.min_blockers and n_present - n_for < self.min_blockers and n_for > 0:
            return True                # no blocking minority of `min_blockers` members is possible
        checks = [(self.votes, self.weight_share, False), (np.ones_like(self.votes), self.member_share,
                                                          self.strict_member_share),
                  (self.population, self.population_share, False)]
        for amount, share, strict in checks:
            if share <= 0:
                continue
            total = float(amount[present].sum())
            held = float(amount[coalition].sum())
            if total <= 0:
                continue
            need = share * total
            if (held <= need * (1 + 1e-12)) if strict else (held < need * (1 - 1e-12)):
                return False
        return n_for > 0


def weighted_rule(votes: np.ndarray, threshold: float) -> QualifiedMajority:
    """A plain weighted-vote rule: at least `threshold` of the votes of the voters with a position."""
    return QualifiedMajority(np.asarray(votes, dtype=float), np.zeros(len(votes)), weight_share=threshold,
                             name=f"{threshold:.0%} of the weighted votes")


def council_rule(actor_codes: tuple[str, ...], day: date, rule: str = "qmv") -> QualifiedMajority | None:
    """The Council's rule `rule` (qmv, unanimity, majority) on `day` over actors named by DEU codes; None if no
    actor is a member state then. Actors that are not members on that day (the Commission, the Parliament, a state
    that joined later) have no vote."""
    regime = regime_on(day)
    codes = [DEU_CODES.get(code.lower()) for code in actor_codes]
    member = np.array([c is not None and c in regime.members for c in codes])
    if not member.any():
        return None
    people = population(day.year)
    pop = np.array([float(people.get(c, 0)) if m and c is not None else 0.0
                    for c, m in zip(codes, member, strict=True)])
    if rule == "unanimity":
        return QualifiedMajority(member.astype(float), pop, member_share=1.0, name="unanimity")
    if rule == "majority":
        return QualifiedMajority(member.astype(float), pop, member_share=0.5, strict_member_share=True,
                                 name="simple majority of the members")
    if regime.weights is None:
        votes = member.astype(float)
    else:
        votes = np.array([float(regime.weights.get(c, 0)) if m and c is not None else 0.0
                          for c, m in zip(codes, member, strict=True)])
    return QualifiedMajority(votes, pop, regime.weight_share, regime.member_share, regime.strict_member_share,
                             regime.population_share, regime.min_blockers, regime.name)


# ====================================================================== dates as the DEU files write them
_DMY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})$")
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


def _year(two_or_four: str) -> int:
    value = int(two_or_four)
    if len(two_or_four) == 4:
        return value
    return 2000 + value if value < 50 else 1900 + value


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def proposal_year(proposal_id: str) -> int | None:
    """The year in a DEU proposal id (`d04218`, `n99276`, `d170245`: its first two digits, the Commission
    document's year), or None."""
    match = re.search(r"\d{2}", proposal_id)
    return _year(match.group(0)) if match else None


def parse_date(text: str, year_hint: int | None = None) -> date | None:
    """A DEU date: `dd-mm-yy`, `dd-mm-yyyy`, or `yyyy-mm-dd`. The last is ambiguous in the distributed files,
    where a spreadsheet read many `dd-mm-yy` dates as `yy-mm-dd` and wrote them back with a century
    (`2029-09-04` for 29-09-04): both readings are tried, and the one whose year is nearest `year_hint` (the
    proposal id's year) wins, the literal reading on a tie. None if nothing parses."""
    text = text.strip()
    candidates: list[date | None] = []
    if match := _DMY.match(text):
        day, month, year = match.groups()
        candidates.append(_safe_date(_year(year), int(month), int(day)))
    elif match := _YMD.match(text):
        year, month, day = match.groups()
        candidates.append(_safe_date(int(year), int(month), int(day)))
        candidates.append(_safe_date(_year(day.zfill(2)[-2:]), int(month), int(year) % 100))
    found = [c for c in candidates if c is not None]
    if not found:
        return None
    if year_hint is None:
        return found[0]
    return min(found, key=lambda d: abs(d.year - year_hint))


# ====================================================================== voting power
POWER_PERMUTATIONS = 20_000
POWER_SEED = 1954
"""Shapley-Shubik indices are estimated from this many random orderings of the members, with this seed (Shapley &
Shubik 1954); the standard error of an index is below 0.003."""


def shapley_shubik(day: date, rule: str = "qmv") -> dict[str, float]:
    """The Shapley-Shubik index of every member state in the Council's `rule` (qmv, unanimity, majority) in force on
    `day`: the share of orderings of the members in which the state's vote turns a losing coalition into a passing
    one (L. S. Shapley & M. Shubik (1954), "A method for evaluating the distribution of power in a committee
    system", APSR 48). Computed over the whole membership, from the weights, quota and population of the rule."""
    regime = regime_on(day)
    if rule in ("unanimity", "majority"):      # symmetric games: every member the same power
        return dict.fromkeys(sorted(regime.members), 1.0 / len(regime.members))
    people = population(day.year) if regime.population_share else {}
    return _shapley_shubik(REGIMES.index(regime), tuple(sorted(people.items())))


@cache
def _shapley_shubik(which: int, people: tuple[tuple[str, int], ...]) -> dict[str, float]:
    """shapley_shubik for REGIMES[which] with the population `people`: one computation per regime and year."""
    regime = REGIMES[which]
    codes = sorted(regime.members)
    n = len(codes)
    by_code = dict(people)
    pop = np.array([float(by_code.get(c, 0)) for c in codes])
    votes = np.array([float(regime.weights[c]) if regime.weights else 1.0 for c in codes])
    order = np.random.default_rng(POWER_SEED).permuted(np.tile(np.arange(n), (POWER_PERMUTATIONS, 1)), axis=1)
    count = np.arange(1, n + 1)[None, :]
    passing = np.ones(order.shape, dtype=bool)
    if regime.weights:
        passing &= np.cumsum(votes[order], axis=1) >= regime.quota
    if regime.member_share:
        need = regime.member_share * n
        passing &= (count > need) if regime.strict_member_share else (count >= need - 1e-9)
    if regime.population_share and pop.sum() > 0:
        passing &= np.cumsum(pop[order], axis=1) >= regime.population_share * pop.sum()
    if regime.min_blockers:
        passing |= count > n - regime.min_blockers
    pivots = order[np.arange(len(order)), np.argmax(passing, axis=1)]
    power = np.bincount(pivots, minlength=n) / len(order)
    return dict(zip(codes, power.tolist(), strict=True))


def formal_power(actor_codes: tuple[str, ...], day: date, rule: str) -> np.ndarray:
    """(N,) each actor's Shapley-Shubik index in the Council on `day` under `rule`; 0 for actors that are not
    member states then."""
    power = shapley_shubik(day, rule)
    return np.array([power.get(DEU_CODES.get(code.lower(), ""), 0.0) for code in actor_codes])
