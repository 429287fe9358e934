"""The input every forecasting model takes: one negotiation (a legislative proposal) as small typed arrays."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np

RULES = ("unanimity", "qmv", "majority")
"""Decision rules a problem's issues can be decided by (Council voting rules in the DEU data)."""


@dataclass(frozen=True)
class Problem:
    """One negotiation over M issues among N actors, in native units (every issue on [scale_min, scale_max]).

    positions    (M, N) ideal points; NaN = the actor took no position on that issue (it then plays no part).
    saliences    (M, N) weights in [0, 1]; read only where a position exists.
    capabilities (N,) positive, relative.
    reference    (M,) status quo / reference point per issue; NaN = unknown.
    rules        one decision rule per issue, from RULES.
    proposer     index of the agenda setter (the Commission in the EU), or None.
    veto_player  index of a further actor whose consent is required (the Parliament under co-decision), or None.
    vote_weights (N,) voting weights of the actors who vote under `rules` (the Council members); 0 for actors that
                 do not vote. None: the capabilities of every actor that is neither proposer nor veto player.
    qmv_threshold share of the vote weight a qualified majority needs.
    actors       names of the actors (N,), e.g. the DEU codes; None: unnamed.
    date         the date of the proposal; with EU member-state `actors` it selects the Council's voting rules in
                 force (sim.forecasting.eu_council) in place of `vote_weights` and `qmv_threshold`.
    """

    positions: np.ndarray
    saliences: np.ndarray
    capabilities: np.ndarray
    # None at construction means the default; __post_init__ always sets these three
    reference: np.ndarray = None  # type: ignore[assignment]
    rules: tuple[str, ...] = None  # type: ignore[assignment]
    proposer: int | None = None
    veto_player: int | None = None
    vote_weights: np.ndarray = None  # type: ignore[assignment]
    qmv_threshold: float = 0.71
    scale_min: float = 0.0
    scale_max: float = 100.0
    actors: tuple[str, ...] | None = None
    date: date | None = None
    has_position: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        x = np.asarray(self.positions, dtype=float)
        if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
            raise ValueError("positions must have shape (issues, actors)")
        m, n = x.shape
        s = np.asarray(self.saliences, dtype=float)
        if s.shape != (m, n):
            raise ValueError(f"saliences must have shape {(m, n)} like positions (got {s.shape})")
        c = np.asarray(self.capabilities, dtype=float)
        if c.shape != (n,) or not np.all(np.isfinite(c)) or np.any(c < 0):
            raise ValueError(f"capabilities must be {n} non-negative numbers")
        has = np.isfinite(x)
        if not (self.scale_max > self.scale_min):
            raise ValueError("scale_max must exceed scale_min")
        if np.any((x[has] < self.scale_min) | (x[has] > self.scale_max)):
            raise ValueError(f"positions must lie in [{self.scale_min:g}, {self.scale_max:g}]")
        if np.any(~np.isfinite(s[has])) or np.any(s[has] < 0) or np.any(s[has] > 1):
            raise ValueError("every actor with a position needs a salience in [0, 1]")
        if np.any(has.sum(axis=1) < 1):
            raise ValueError("every issue needs at least one position")
        ref = np.full(m, np.nan) if self.reference is None else np.asarray(self.reference, dtype=float)
        if ref.shape != (m,):
            raise ValueError(f"reference must have one value per issue ({m})")
        rules = ("qmv",) * m if self.rules is None else tuple(self.rules)
        if len(rules) != m or any(r not in RULES for r in rules):
            raise ValueError(f"rules must be {m} values from {', '.join(RULES)}")
        for name in ("proposer", "veto_player"):
            index = getattr(self, name)
            if index is not None and not 0 <= index < n:
                raise ValueError(f"{name} must be an actor index below {n}")
        if self.vote_weights is None:
            votes = c.copy()
            for index in (self.proposer, self.veto_player):
                if index is not None:
                    votes[index] = 0.0
        else:
            votes = np.asarray(self.vote_weights, dtype=float)
            if votes.shape != (n,) or np.any(votes < 0):
                raise ValueError(f"vote_weights must be {n} non-negative numbers")
        if not 0.5 <= self.qmv_threshold <= 1.0:
            raise ValueError("qmv_threshold must be in [0.5, 1]")
        if self.actors is not None and len(self.actors) != n:
            raise ValueError(f"actors must name {n} actors")
        for name, value in (("positions", x), ("saliences", np.where(has, s, 0.0)), ("capabilities", c),
                            ("reference", ref), ("vote_weights", votes)):
            value.setflags(write=False)
            object.__setattr__(self, name, value)
        object.__setattr__(self, "rules", rules)
        has.setflags(write=False)
        object.__setattr__(self, "has_position", has)

    @property
    def n_issues(self) -> int:
        return self.positions.shape[0]

    @property
    def n_actors(self) -> int:
        return self.positions.shape[1]

    @property
    def scale_range(self) -> float:
        return self.scale_max - self.scale_min

    def weights(self) -> np.ndarray:
        """(M, N) capability x salience, 0 where an actor took no position."""
        return np.where(self.has_position, self.capabilities[None, :] * self.saliences, 0.0)

    def mirrored(self) -> Problem:
        """The same problem with the scale reversed (x -> min + max - x): a model's forecast should mirror."""
        flip = self.scale_min + self.scale_max
        return replace(self, positions=flip - self.positions, reference=flip - self.reference)

    def with_inputs(self, capabilities: np.ndarray, saliences: np.ndarray) -> Problem:
        """The same problem with other capabilities and saliences (the forecast intervals resample them)."""
        return replace(self, capabilities=capabilities, saliences=saliences)
