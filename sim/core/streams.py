"""Common random numbers: each random quantity of a run comes from its own stream, keyed by the run's seed and
what the numbers are for, never from one generator consumed in sequence.

A run's streams are
  - "noise": the noise of every round (`generator(seed, NOISE)`),
  - "order": the order of moves of every round under random activation (`generator(seed, ORDER)`),
  - one per uncertain input, keyed by its parameter path (`input_uniforms`).

So adding, removing, fixing or re-ranging one uncertain input, or changing any coded value, leaves every other
draw of the same seed unchanged, and two scenarios compared with the same seeds differ only where they differ
(paired comparisons). The keys are stable hashes of text (BLAKE2b), the same on every machine and in every
Python process (Python's `hash()` of a string is salted per process).

The round streams are numpy Generators seeded by `SeedSequence(entropy=seed, spawn_key=(key of the purpose,))`.
An uncertain input needs one uniform number per run: deriving a SeedSequence per (seed, path) costs about as much
as a whole lockstep run for a scenario with ~40 uncertain inputs, so the inputs share one SeedSequence-derived
64-bit root per seed (`SeedSequence(seed, spawn_key=(key "inputs",))`), and each path's number is a keyed
64-bit mix of that root and the path's key (SplitMix64's finaliser, applied twice), computed for many runs and
paths at once. Each (seed, path) number depends on that seed and that path only.

DRAWS is the version of this scheme: results whose draws were made another way (a sweep resumed) are refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from sim.core.utility import constant

DRAWS = "keyed-streams/1"
"""How runs draw their random numbers (recorded by sweeps; `negsim-sweep` manifests without it drew in sequence
from one generator per run)."""
NOISE = "noise"
ORDER = "order"
INPUTS = "inputs"


def _word(value: int) -> NDArray[np.uint64]:
    """A 64-bit constant as a 0-d array (`utility.constant`): an operand numpy takes as it is (a numpy scalar is
    converted to an array on every operation, which costs as much as the operation itself on a few dozen words)."""
    return constant(value, np.uint64)


_GOLDEN = _word(0x9E3779B97F4A7C15)
_M1 = _word(0xBF58476D1CE4E5B9)
_M2 = _word(0x94D049BB133111EB)


@lru_cache(maxsize=4096)
def key(text: str) -> int:
    """A stable 64-bit key of `text` (BLAKE2b; the same in every process, unlike `hash()`)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def generator(seed: int, purpose: str) -> np.random.Generator:
    """The run's own generator for `purpose` (NOISE, ORDER): numpy's default generator seeded by
    SeedSequence(entropy=seed, spawn_key=(key(purpose),))."""
    return np.random.default_rng(seed_sequence(int(seed), key(purpose)))


@lru_cache(maxsize=65_536)
def _root(seed: int) -> int:
    # the first 64-bit word of the state is its first two 32-bit words, least significant first (numpy's uint64
    # view of them; asked as uint32 words, a third cheaper)
    low, high = seed_sequence(seed, key(INPUTS)).generate_state(2, np.uint32).tolist()
    return low | high << 32


_POOL_SIZE = 4      # SeedSequence's default pool size (words)


def seed_sequence(seed: int, spawn_key: int) -> np.random.SeedSequence:
    """SeedSequence(entropy=seed, spawn_key=(spawn_key,)) (the same state), given the entropy as SeedSequence
    assembles it: the seed's 32-bit words padded with zeros to the pool size, then the key's words. numpy splits
    an int seed and key into words in Python, which costs more than the rest of SeedSequence (a model run makes
    two); tests/test_streams.py checks the states are numpy's own."""
    words = _words(seed)
    words += [0] * (_POOL_SIZE - len(words))
    return np.random.SeedSequence(np.array(words + _words(spawn_key), dtype=np.uint32))


def _words(n: int) -> list[int]:
    """The 32-bit words of a non-negative int, least significant first ([0] for 0), as SeedSequence splits it."""
    if n < 0:
        raise ValueError("expected non-negative integer")
    words = [] if n else [0]
    while n:
        words.append(n & 0xFFFFFFFF)
        n >>= 32
    return words


def _mix(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """SplitMix64's finaliser (a bijection of 64-bit words whose every output bit depends on every input bit), of
    an array of the caller's own, computed in it (no new array for each step: input_uniforms runs it per run)."""
    x ^= x >> _S30
    x *= _M1
    x ^= x >> _S27
    x *= _M2
    x ^= x >> _S31
    return x


_S30, _S27, _S31 = _word(30), _word(27), _word(31)


def input_uniforms(seeds: Sequence[int], paths: Sequence[str]) -> NDArray[np.float64]:
    """One uniform number in [0, 1) per run and uncertain input (R, K): run r's number for `paths[k]` depends
    only on `seeds[r]` and that path (53 random bits, as numpy's `Generator.random` makes a double)."""
    roots = np.array([_root(int(seed)) for seed in seeds], dtype=np.uint64)[:, None]
    # arrays (never numpy scalars): their integer arithmetic wraps around without a warning
    x = _mix(roots ^ _mixed_keys(tuple(paths)))
    x += _GOLDEN
    x = _mix(x)
    x >>= _SHIFT
    return x.astype(np.float64) * _UNIT


_SHIFT = _word(11)
_UNIT = constant(1.0 / 9007199254740992.0)    # 2^-53: 53 random bits as a double in [0, 1)


@lru_cache(maxsize=256)
def _mixed_keys(paths: tuple[str, ...]) -> NDArray[np.uint64]:
    """The paths' keys, mixed (1, K), kept for the last few sets of paths (every run of a scenario draws by the
    same paths)."""
    keys = np.array([key(path) for path in paths], dtype=np.uint64).reshape(1, -1)
    with np.errstate(over="ignore"):
        mixed = _mix(keys)
    mixed.flags.writeable = False
    return mixed
