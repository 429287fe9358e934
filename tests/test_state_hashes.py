"""Every number a run produces, pinned: a SHA-256 of the full results of 50 seeds of every shipped scenario (and a
few variants) under both engines, computed before the speed work of issue 21 (item 4). An optimisation that
changes a single bit of any outcome, round count, final offer, utility, drawn input or round-table cell fails here.

The model side hashes `service.run_scenario` with and without collection (the JSON contract without its explanations'
sentences, the tidy history) and, for 10 seeds, Mesa's DataCollector tables; the lockstep side hashes `lockstep.play`
with its round table. The model digests were recomputed once when the sentences left the hash (a
rewording, 'walk-away level' to 'walk-away utility'; every number the same: the old digests still matched on the
six variants whose sentences did not change, and on the seventh only the 'why' text differed). The digests are
those of this platform's IEEE arithmetic (x86-64, the numpy installed); after a deliberate change of the numbers,
print the new ones with `python -m tests.test_state_hashes` and say why in the commit.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache

import numpy as np
import pytest

from sim import service
from sim.engine import lockstep
from sim.scenario import Scenario, with_protocol
from tests.conftest import SCENARIOS

SEEDS = list(range(50))

VARIANTS: dict[str, tuple[str, dict]] = {
    "baseline": ("feb2022_baseline.yaml", {}),
    "four_issues": ("feb2022_four_issues.yaml", {}),
    "hardline_russia": ("feb2022_hardline_russia.yaml", {}),
    "issue_by_issue": ("feb2022_issue_by_issue.yaml", {}),
    "us_moratorium": ("feb2022_us_moratorium.yaml", {}),
    "ec_emissions": ("ec_emissions_1994.csv", {}),
    "ec_emissions_eu": ("ec_emissions_1994.csv", {"mechanism": "expected_utility"}),
    "baseline_random_order": ("feb2022_baseline.yaml", {"activation": "random"}),
    "baseline_sequential": ("feb2022_baseline.yaml", {"activation": "sequential"}),
}

EXPECTED: dict[tuple[str, str], str] = {
    ('baseline', 'model'): 'b8fe45b08338fa8ef13ac64c955d1773228ef4a983f7b9aafcb808784a8500d6',
    ('baseline', 'lockstep'): '2e999f285ad32e1ff99644fb5f5af0e25559d9b4c507241983e7a8b30319f7ee',
    ('baseline', 'datacollector'): 'ae88b4c93f172a9cd2a63030ff056565e810cf55b54c7fb45a383c0ae85a8523',
    ('four_issues', 'model'): 'ff5db5d3a26db583c185a594a3dda9fde847975e26d764c8c9400b214d8112a0',
    ('four_issues', 'lockstep'): '22242cbad69fb412f522114ceda6591c5e9bbd350efb60ef7c77a0a7e9b884d4',
    ('four_issues', 'datacollector'): '2dde8dae726248d3f2750e0775693d794855e82c5faaeae6ff3f73d2a8e42194',
    ('hardline_russia', 'model'): '5df5dc90abf6febe571f08fcb09fbcaa0cc99e37690b2e460a4e4a6ee8a9f225',
    ('hardline_russia', 'lockstep'): '822a1816860a63bc191b677443d1c20adb6799a9adb6264d6999bb72a3209cee',
    ('hardline_russia', 'datacollector'): 'c08b596f63dad0eeecdf76d969861e6ffe39525847b52bfe1bd484abbd024878',
    ('issue_by_issue', 'model'): '24d88e8ee93183b891366a88f7253447c3779ff7f8a506b176b23cce6a590f4b',
    ('issue_by_issue', 'lockstep'): '57b38bf0be74b7a9986089aa3150d74b077346e44294e8dbfc05306fb4ba8aee',
    ('issue_by_issue', 'datacollector'): 'f9876d299bbf74ce73c7df2c588546c7a23c8235349221a92a4be68ce2ab5154',
    ('us_moratorium', 'model'): '307c2b402d9b64b69cbf0d352c6c7857d8b286e16f1a08cc95a895832a6991f3',
    ('us_moratorium', 'lockstep'): 'fcfe638a5c125eb77f9dbfc368307a056c7d3c06c30df75acaba6d060266e333',
    ('us_moratorium', 'datacollector'): '5f502659f8feaeb86c0c46b28c40499f655da56da0592c4b3fe7cc98fd821a9a',
    ('ec_emissions', 'model'): '71d0e089f716fec9c2edb01d6a1edcb1649c0f9e956a1846eea8edfd9ba4f871',
    ('ec_emissions', 'lockstep'): '17d578ba27295482f758948bad6841fd9bcafe99f060f010b64ecde2f9561029',
    ('ec_emissions', 'datacollector'): '30ee2899c4ebfbeda72e8268685a1573184127e5970e4f96c9f79a6f2fb52a08',
    ('ec_emissions_eu', 'model'): '732470c54062bcbdea6570d92fcb76d703c0b88d130d1c8bc055691424068e48',
    ('ec_emissions_eu', 'lockstep'): 'e36b06a0bfd63ca939cb1d3cc21083792de263839e0397721f130a0f00e9da8a',
    ('ec_emissions_eu', 'datacollector'): '4835ac08ade418103e4acc57728361ee1ae5b2cc55330e68a6240ce4bd354458',
    ('baseline_random_order', 'model'): '7409a11b52db423bf2e3b5ca308d58d7fadfb93f1db794fd4a4b5837faadbdc8',
    ('baseline_random_order', 'lockstep'): '0f9af21a851ecd5ef704750f6d1167563cce7e58946a4e78a23579d2e72e9644',
    ('baseline_random_order', 'datacollector'): '954f23fe555aa30c05d22d3b3c551a0bef8a2adc85fb076c10b9923b01de5f9f',
    ('baseline_sequential', 'model'): 'd6cefc93d7db3d6aa31bf601393025919451c248ce20e18bc75d31c30ec4c37d',
    ('baseline_sequential', 'lockstep'): '583aa4018d047bdc84004a4f240a683c8d258e40a7122e56f026bc7135747a20',
    ('baseline_sequential', 'datacollector'): 'd85523384198a4364480b351ac2bdbe2e594891acb33ae9b92c9ea15c25b657a',
}


@cache
def scenario(name: str) -> Scenario:
    file, overrides = VARIANTS[name]
    return with_protocol(service.prepare(SCENARIOS / file), **overrides)


def _update(h, value) -> None:
    """Feed a value into the hash exactly: arrays by dtype, shape and bytes (object arrays as JSON text), the rest
    as JSON (floats by repr, so every bit counts)."""
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            h.update(json.dumps([None if v is None else (v if isinstance(v, str) else repr(v))
                                 for v in value.tolist()]).encode())
        else:
            h.update(f"{value.dtype.str}{value.shape}".encode())
            h.update(np.ascontiguousarray(value).tobytes())
    else:
        h.update(json.dumps(value, sort_keys=True, default=repr).encode())


def without_sentences(value):
    """The value with its explanations ("why": sentences, reworded at times without any number changing) left
    out; every number, code and label stays."""
    if isinstance(value, dict):
        return {k: without_sentences(v) for k, v in value.items() if k != "why"}
    if isinstance(value, list):
        return [without_sentences(v) for v in value]
    return value


def digest(name: str, engine: str) -> str:
    spec = scenario(name)
    h = hashlib.sha256()
    if engine == "datacollector":     # Mesa's own record of the rounds (agents' and the model's reporters)
        from sim.engine.model import NegotiationModel

        for seed in SEEDS[:10]:
            model = NegotiationModel(spec, rng=seed, collect=True)
            model.run_model()
            for frame in (model.datacollector.get_model_vars_dataframe(),
                          model.datacollector.get_agent_vars_dataframe()):
                for column, values in frame.reset_index().items():
                    _update(h, str(column))
                    _update(h, values.to_numpy())
    elif engine == "model":
        for seed in SEEDS:
            for collect in (False, True):
                result = service.run_scenario(spec, seed, collect=collect)
                _update(h, without_sentences(result.to_dict()))
                if result.history is not None:
                    for column, values in result.history.items():
                        _update(h, column)
                        _update(h, values.to_numpy())
    else:
        final = lockstep.play(spec, SEEDS, [], None, record=True)   # lockstep itself, whatever the service picks
        for column, values in service.final_summaries(spec, final).items():
            _update(h, column)
            _update(h, np.asarray(values))
        for column, values in (final.rounds_table or {}).items():
            _update(h, column)
            _update(h, np.asarray(values))
    return h.hexdigest()


@pytest.mark.parametrize("engine", ["model", "lockstep", "datacollector"])
@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_number_unchanged(name: str, engine: str) -> None:
    assert digest(name, engine) == EXPECTED[name, engine]


if __name__ == "__main__":
    for variant in VARIANTS:
        for engine_ in ("model", "lockstep", "datacollector"):
            print(f"    ({variant!r}, {engine_!r}): {digest(variant, engine_)!r},")
