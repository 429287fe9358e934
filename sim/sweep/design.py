"""The experimental design of a sweep: which parameters vary (``--vary``), how points are sampled, the run table.

A *factor* is one varied parameter path (one that `negsim params` lists) with either a range ``LO:HI[:N]`` or
explicit values ``a,b,c``. A *point* is one setting of every factor; each point is run ``replicates`` times.
Runs are numbered ``run_id = point * replicates + replicate`` and replicate ``r`` uses the same seed at every
point (``sim.service.replicate_seeds``), so points are compared on the same random draws.

Samplers (numpy or :mod:`scipy.stats.qmc`, seeded from the root seed, so a design is reproducible):

- ``grid``: full factorial; a range needs ``N`` levels (``numpy.linspace(LO, HI, N)``); the last factor varies
  fastest.
- ``lhs``: Latin hypercube of ``samples`` points (McKay, Beckman & Conover 1979): each factor's range is cut into
  ``samples`` equal strata, each stratum gets one uniform draw, and the strata are shuffled factor by factor. Two
  numpy lines: SALib's sampler loops in Python (0.07 s per 10k points) and imports pandas, and ``scipy.stats``
  takes about a second to import, half of a 10k-run sweep.
- ``random``: ``samples`` independent uniform points.
- ``sobol``: the Saltelli design for first- and total-order Sobol indices: a scrambled Sobol' sequence
  (``qmc.Sobol``) of ``samples`` base rows in 2·D dimensions, arranged as SALib's ``sobol.sample`` with
  ``calc_second_order=False`` does (rows A, AB_1..AB_D, B per base row), i.e. ``samples * (D + 2)`` points.

In the continuous samplers a range is sampled uniformly on [LO, HI] (integers uniformly on the whole numbers in
it) and a value list is a discrete uniform choice.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.scenario import Problem, Scenario, ScenarioError, apply_params, params
from sim.service import replicate_seeds, runs_to_validate, setter_of
from sim.sweep.samplers import SAMPLERS
from sim.sweep.samplers.base import DEFAULT_SAMPLES

MAX_RUNS = 100_000_000
"""Refuse designs larger than this (a typo like ``0:1:100000`` on three factors)."""

_DYNAMIC = re.compile(r"^actors\.[a-z][a-z0-9_]*\.(red_lines|allies)\.[a-z][a-z0-9_]*$")
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}

if TYPE_CHECKING:
    import pandas as pd

VaryItem = str | tuple[str, Any]
Vary = Iterable[str] | Mapping[str, Any] | None


@dataclass(frozen=True)
class Factor:
    """One varied parameter: a numeric range (``kind='range'``) or a list of values (``kind='values'``)."""

    path: str
    kind: str                       # "range" | "values"
    dtype: str                      # "float" | "int" | "str" | "bool"
    lo: float | None = None
    hi: float | None = None
    levels: int | None = None       # grid levels of a range (None: continuous samplers only)
    values: tuple[Any, ...] = ()

    @classmethod
    def range(cls, path: str, lo: float, hi: float, levels: int | None = None, dtype: str = "float") -> Factor:
        return cls(path, "range", dtype, float(lo), float(hi), levels)

    @classmethod
    def choice(cls, path: str, values: Sequence[Any], dtype: str = "str") -> Factor:
        return cls(path, "values", dtype, values=tuple(values))

    @property
    def span(self) -> tuple[float, float]:
        """(lo, hi) of a range factor."""
        if self.lo is None or self.hi is None:
            raise ValueError(f"{self.path}: a list of values has no range")
        return self.lo, self.hi

    @property
    def spec(self) -> str:
        """The canonical ``PATH=...`` text of this factor (as ``--vary`` takes it)."""
        if self.kind == "range":
            body = f"{_num(self.lo)}:{_num(self.hi)}" + (f":{self.levels}" if self.levels is not None else "")
        else:
            body = ",".join(_text(v) for v in self.values)
        return f"{self.path}={body}"

    @property
    def cardinality(self) -> int | None:
        """Number of distinct values in a grid (None for a continuous range without levels)."""
        return len(self.values) if self.kind == "values" else self.levels

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"path": self.path, "kind": self.kind, "dtype": self.dtype, "spec": self.spec}
        if self.kind == "range":
            doc.update(lo=self.lo, hi=self.hi, levels=self.levels)
        else:
            doc["values"] = list(self.values)
        return doc

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Factor:
        if doc["kind"] == "range":
            return cls.range(doc["path"], doc["lo"], doc["hi"], doc.get("levels"), doc["dtype"])
        return cls.choice(doc["path"], doc["values"], doc["dtype"])

    # ------------------------------------------------------------------ values
    def grid_values(self) -> list[Any]:
        if self.kind == "values":
            return list(self.values)
        assert self.levels is not None
        raw = np.linspace(*self.span, self.levels)
        return [int(round(v)) for v in raw] if self.dtype == "int" else [float(v) for v in raw]

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Map uniform draws in [0, 1) to this factor's values."""
        if self.kind == "values":
            index = np.minimum((u * len(self.values)).astype(np.int64), len(self.values) - 1)
            return np.asarray(self.values, dtype=object)[index]
        low, high = self.span
        if self.dtype == "int":
            lo, hi = math.ceil(low), math.floor(high)
            return np.minimum(np.floor(lo + u * (hi - lo + 1)), hi).astype(np.int64)
        return low + u * (high - low)


def _num(value: float | None) -> str:
    assert value is not None
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _num(value)
    return str(value)


# ====================================================================== parsing --vary
def _dtype_of(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "str"


def _coerce(text: Any, dtype: str) -> Any:
    """One value of a list, typed like the parameter; raises ValueError with a readable message."""
    if isinstance(text, str) and not text.strip():
        raise ValueError("an empty value in the list (two commas in a row, or one at an end?)")
    if dtype in ("int", "float") and not isinstance(text, (int, float, np.integer, np.floating)):
        try:
            float(str(text).strip())
        except ValueError:
            raise ValueError(f"'{text}' is not a number") from None
    if dtype == "bool":
        if isinstance(text, bool):
            return text
        word = str(text).strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise ValueError(f"'{text}' is not true or false")
    if dtype == "int":
        if isinstance(text, (int, np.integer)) and not isinstance(text, bool):
            return int(text)
        number = float(str(text).strip())
        if not number.is_integer():
            raise ValueError(f"'{text}' is not a whole number")
        return int(number)
    if dtype == "float":
        number = float(str(text).strip()) if not isinstance(text, (int, float)) else float(text)
        if not math.isfinite(number):
            raise ValueError(f"'{text}' is not a finite number")
        return number
    value = str(text).strip()
    if not value:
        raise ValueError("empty value")
    return value


def _parse_one(path: str, body: Any, known: Mapping[str, Any]) -> Factor:
    """A factor from a path and its spec (text ``LO:HI[:N]`` / ``a,b,c``, a tuple range or a list)."""
    if path in known:
        dtype = _dtype_of(known[path])
    elif _DYNAMIC.match(path):
        dtype = "float"
    else:
        close = difflib.get_close_matches(path, list(known), n=3, cutoff=0.6)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise ValueError(f"not a parameter of this scenario (`negsim params SCENARIO` lists them){hint}")
    if isinstance(body, tuple):
        if len(body) not in (2, 3):
            raise ValueError("a range is (LO, HI) or (LO, HI, N)")
        body = ":".join(str(x) for x in body)
    if isinstance(body, (list, np.ndarray)):
        raw_values: list[Any] = list(body)
    elif isinstance(body, str) and ":" in body:
        if dtype in ("str", "bool"):
            raise ValueError(f"is a choice ({dtype}); give a list of values a,b,c instead of a range")
        parts = body.split(":")
        if len(parts) not in (2, 3):
            raise ValueError(f"a range is LO:HI:N (grid) or LO:HI (other samplers), got '{body}'")
        try:
            lo, hi = float(parts[0]), float(parts[1])
        except ValueError:
            raise ValueError(f"LO and HI must be numbers, got '{parts[0]}' and '{parts[1]}'") from None
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError("LO and HI must be finite numbers")
        if hi < lo:
            raise ValueError(f"LO must not exceed HI (got {parts[0]}:{parts[1]})")
        levels = None
        if len(parts) == 3:
            try:
                levels = int(parts[2])
            except ValueError:
                raise ValueError(f"N must be a whole number, got '{parts[2]}'") from None
            if not 1 <= levels <= 1_000_000:
                raise ValueError(f"N must be between 1 and 1000000, got {levels}")
        if dtype == "int" and math.floor(hi) < math.ceil(lo):
            raise ValueError(f"the range {parts[0]}:{parts[1]} holds no whole number")
        return Factor.range(path, lo, hi, levels, dtype)
    elif isinstance(body, str):
        raw_values = [v for v in body.split(",")]
    else:
        raw_values = [body]
    if not raw_values:
        raise ValueError("no values given")
    values = tuple(_coerce(v, dtype) for v in raw_values)
    return Factor.choice(path, values, dtype)


def parse_vary(vary: Vary, scenario: Scenario) -> list[Factor]:
    """Factors from ``--vary`` specs (``PATH=LO:HI:N``, ``PATH=LO:HI``, ``PATH=a,b,c``) or a mapping
    ``{path: (lo, hi[, n]) | [values] | "spec"}``; raises ScenarioError listing every problem."""
    if vary is None:
        return []
    items: list[tuple[str, Any]] = []
    problems: list[Problem] = []
    if isinstance(vary, Mapping):
        items = [(str(k), v) for k, v in vary.items()]
    else:
        if isinstance(vary, str):
            vary = [vary]
        for text in vary:
            path, sep, body = str(text).partition("=")
            if not sep or not path.strip() or not body.strip():
                problems.append(Problem("--vary", f"expected PATH=LO:HI:N or PATH=a,b,c, got '{text}'"))
                continue
            items.append((path.strip(), body.strip()))
    if not items and not problems:
        return []
    known = params(scenario)
    factors: list[Factor] = []
    seen: set[str] = set()
    for path, body in items:
        if path in seen:
            problems.append(Problem(path, "varied twice (give one --vary per parameter)"))
            continue
        seen.add(path)
        try:
            factor = _parse_one(path, body, known)
        except ValueError as error:
            problems.append(Problem(path, str(error)))
            continue
        problems.extend(_check_values(scenario, factor))
        factors.append(factor)
    if problems:
        raise ScenarioError(problems, "--vary")
    return factors


CHECKED_WITH_ANOTHER_FIELD = frozenset({"exponent"})
"""Setter fields whose values the schema checks against another field as well as against their bounds (a
strategy's exponent against its kind: boulware < 1, conceder > 1, linear = 1). `runs_to_validate` reads only the
bounds, so the ends of a range on these are always probed."""


def _check_values(scenario: Scenario, factor: Factor) -> list[Problem]:
    """Set each value (or both ends of a range) alone on the scenario; a problem reported at the factor's own
    path (out of the field's bounds, not a valid choice) is fatal. Problems elsewhere (e.g. a position off a
    narrowed scale) may vanish in combination with other factors, so they are left to the runs to report.
    Numbers that the schema's bounds accept, read without a validation (`inputs.runs_to_validate`, the check the
    runs themselves make), need no probe (each costs a few ms)."""
    probes: list[Any]
    if factor.kind == "range":
        low, high = factor.span
        probes = [math.ceil(low), math.floor(high)] if factor.dtype == "int" else [low, high]
    else:
        probes = list(factor.values)
    setter = setter_of(scenario, factor.path) if factor.dtype in ("float", "int") else None
    if setter is not None and setter.field not in CHECKED_WITH_ANOTHER_FIELD \
            and not runs_to_validate(scenario, [factor.path], np.asarray(probes, dtype=float)[:, None]).any():
        return []
    found: list[Problem] = []
    for value in probes:
        try:
            apply_params(scenario, {factor.path: value})
        except ScenarioError as error:
            found.extend(p for p in error.problems if p.path == factor.path and p not in found)
    return found


# ====================================================================== sampling
def design_rng(root_seed: int) -> np.random.Generator:
    """The generator of the sampler: independent of the run seeds (which are SeedSequence([root, r]))."""
    return np.random.default_rng(np.random.SeedSequence(root_seed, spawn_key=(0x5EED,)))


def n_points(factors: Sequence[Factor], sampler: str, samples: int | None) -> int:
    if not factors:
        return 1
    return SAMPLERS.get(sampler).size(factors, samples or DEFAULT_SAMPLES)


def point_columns(factors: Sequence[Factor], sampler: str = "grid", samples: int | None = None,
                  root_seed: int = 0) -> dict[str, np.ndarray]:
    """One typed numpy column per factor path (float64, int64, bool, or object for text), one row per point."""
    if not factors:
        return {}
    columns = SAMPLERS.get(sampler).columns(factors, samples or DEFAULT_SAMPLES, design_rng(root_seed))
    dtypes: dict[str, Any] = {"float": np.float64, "int": np.int64, "bool": np.bool_, "str": object}
    out = {}
    for factor, column in zip(factors, columns, strict=True):
        array = np.empty(len(column), dtype=dtypes[factor.dtype])
        array[:] = list(column) if factor.dtype == "str" else np.asarray(column)
        out[factor.path] = array
    return out


def build_points(factors: Sequence[Factor], sampler: str = "grid", samples: int | None = None,
                 root_seed: int = 0) -> pd.DataFrame:
    """The points as a table: one row per point, one typed column per factor path (no columns without factors:
    one empty point)."""
    return _as_frame(point_columns(factors, sampler, samples, root_seed), n_points(factors, sampler, samples))


def _as_frame(columns: Mapping[str, np.ndarray], n: int) -> pd.DataFrame:
    import pandas as pd  # here: a sweep runs without pandas (a fifth of a second to import)

    return pd.DataFrame(dict(columns)) if columns else pd.DataFrame(index=pd.RangeIndex(n))


def points_hash(columns: Mapping[str, np.ndarray], n: int) -> str:
    digest = hashlib.sha256()
    for name, column in columns.items():
        digest.update(f"{name}\x00{column.dtype}\x00".encode())
        if column.dtype == object:
            digest.update("\x1f".join(map(str, column)).encode())
        else:
            digest.update(np.ascontiguousarray(column).tobytes())
    digest.update(str(n).encode())
    return digest.hexdigest()


class ReplicateSeeds:
    """The run seed of each replicate (`sim.service.replicate_seeds`), derived when first asked for: a sweep
    starts after the first batch's seeds, and derives the others while its workers run (each costs ~15 us).
    Indexing gives numpy int64 values (arrays for slices), as a list of the seeds would."""

    def __init__(self, root_seed: int, replicates: int):
        self.root_seed, self.replicates = root_seed, replicates
        self._seeds = np.empty(replicates, dtype=np.int64)
        self.derived = 0            # the seeds of replicates 0 .. derived - 1 are known

    def __len__(self) -> int:
        return self.replicates

    def __getitem__(self, index: int | slice) -> Any:
        wanted = range(self.replicates)[index]     # IndexError, negative indices and slices as for a list
        last = (max(wanted[0], wanted[-1]) if wanted else -1) if isinstance(wanted, range) else wanted
        if last >= self.derived:
            self._seeds[self.derived:last + 1] = replicate_seeds(self.root_seed, last + 1, first=self.derived)
            self.derived = last + 1
        return self._seeds[index]

    def of(self, replicates: np.ndarray) -> np.ndarray:
        """The seeds of an array of replicate indices."""
        if len(replicates):
            self[int(replicates.max())]
        return self._seeds[replicates]


@dataclass
class Design:
    """Factors, sampler and replicates resolved into points and per-replicate seeds."""

    factors: list[Factor]
    sampler: str
    samples: int | None
    replicates: int
    root_seed: int
    columns: dict[str, np.ndarray]      # the points: one column per factor path (`point_columns`)
    seeds: ReplicateSeeds       # one per replicate
    n_points: int

    @property
    def points(self) -> pd.DataFrame:
        """The points as a table (pandas is imported here, not by a sweep)."""
        return _as_frame(self.columns, self.n_points)

    @property
    def n_runs(self) -> int:
        return self.n_points * self.replicates

    @property
    def paths(self) -> list[str]:
        return [f.path for f in self.factors]

    def runs(self, run_ids: Sequence[int] | np.ndarray) -> list[tuple[int, int, int, int, tuple[Any, ...]]]:
        """(run_id, point, replicate, seed, parameter values) of the given runs, as plain Python values."""
        ids = np.asarray(run_ids, dtype=np.int64)
        point, replicate = np.divmod(ids, self.replicates)
        values = list(zip(*(self.columns[p][point].tolist() for p in self.paths), strict=True)) \
            if self.paths else [()] * len(ids)
        return list(zip(ids.tolist(), point.tolist(), replicate.tolist(), self.seeds.of(replicate).tolist(), values,
                        strict=True))

    def to_json(self) -> dict[str, Any]:
        return {
            "factors": [f.to_json() for f in self.factors],
            "vary": [f.spec for f in self.factors],
            "sampler": self.sampler if self.factors else "none",
            "samples": self.samples if self.factors and SAMPLERS.get(self.sampler).sized else None,
            "replicates": self.replicates,
            "root_seed": self.root_seed,
            "n_points": self.n_points,
            "n_runs": self.n_runs,
            "points_sha256": points_hash(self.columns, self.n_points),
            "run_id": "point * replicates + replicate",
        }


def make_design(scenario: Scenario, vary: Vary = None, sampler: str = "grid", samples: int | None = None,
                replicates: int = 1, root_seed: int | None = None) -> Design:
    """Parse and check everything about a design; raises ScenarioError listing the problems."""
    problems: list[Problem] = []
    if sampler not in SAMPLERS:
        problems.append(Problem("--sampler", f"must be one of {', '.join(SAMPLERS)} (got {sampler!r})"))
    if not isinstance(replicates, (int, np.integer)) or replicates < 1:
        problems.append(Problem("--replicates", f"must be a whole number >= 1 (got {replicates!r})"))
    if samples is not None and (not isinstance(samples, (int, np.integer)) or samples < 1):
        problems.append(Problem("--samples", f"must be a whole number >= 1 (got {samples!r})"))
    root = scenario.protocol.seed if root_seed is None else root_seed
    if not isinstance(root, (int, np.integer)) or not 0 <= root < 2**63:
        problems.append(Problem("--seed", f"must be a whole number in 0..2^63-1 (got {root!r})"))
    try:
        factors = parse_vary(vary, scenario)
    except ScenarioError as error:
        problems.extend(error.problems)
        factors = []
    sized = sampler not in SAMPLERS or SAMPLERS.get(sampler).sized     # an unknown one: no checks of its own
    if not sized and samples is not None and factors:
        takers = ", ".join(name for name, s in SAMPLERS.items() if s.sized)
        problems.append(Problem("--samples", f"applies to the {takers} samplers, not to {sampler}"))
    if not problems and not sized:
        open_ranges = [f.path for f in factors if f.kind == "range" and f.levels is None]
        if open_ranges:
            problems.extend(Problem(p, f"the {sampler} sampler needs a number of levels: PATH=LO:HI:N")
                            for p in open_ranges)
    if problems:
        raise ScenarioError(problems, "sweep")
    total = n_points(factors, sampler, samples) * int(replicates)
    if total > MAX_RUNS:
        raise ScenarioError([Problem("sweep", f"{total:,} runs is more than the limit of {MAX_RUNS:,}")], "sweep")
    columns = point_columns(factors, sampler, samples, int(root))
    resolved = int(samples or DEFAULT_SAMPLES) if sized else None
    return Design(factors, sampler, resolved, int(replicates), int(root), columns,
                  ReplicateSeeds(int(root), int(replicates)), n_points(factors, sampler, samples))
