"""``causalmmm_ppl._tensor_store``: nested tensors and plain data in one safetensors file, without pickle."""

from __future__ import annotations

import math
import os
import pickle

import pytest
import torch

from causalmmm_ppl._tensor_store import load_tree, save_tree
from causalmmm_ppl.errors import InputError
from tests.cli_contract import Boom


def test_round_trip_keeps_structure_types_and_values(tmp_path):
    tree = {
        "model": {"w": torch.randn(3, 2), "b": torch.zeros(2, dtype=torch.float64)},
        "optim": {"p": {"state": {0: {"step": torch.tensor(5.0), "exp_avg": torch.ones(3)}},
                        "param_groups": [{"lr": 0.01, "betas": (0.9, 0.99), "params": [0]}]}},
        "rng": {"state": {"state": 2**127 + 3, "inc": 7}, "has_uint32": 0},
        "torch_rng": torch.get_rng_state(),
        "log": {"loss": [1.5, float("inf")], "steps_done": 2, "name": None, "flag": True},
    }
    save_tree(tree, tmp_path / "t.safetensors")
    back = load_tree(tmp_path / "t.safetensors")
    assert torch.equal(back["model"]["w"], tree["model"]["w"]) and back["model"]["b"].dtype == torch.float64
    assert list(back["optim"]["p"]["state"]) == [0]  # int keys stay ints (an optimiser needs them)
    assert back["optim"]["p"]["param_groups"][0]["betas"] == (0.9, 0.99)
    assert back["rng"]["state"]["state"] == 2**127 + 3
    assert torch.equal(back["torch_rng"], tree["torch_rng"])
    assert back["log"]["loss"][0] == 1.5 and math.isinf(back["log"]["loss"][1])
    assert back["log"]["name"] is None and back["log"]["flag"] is True


def test_objects_that_need_pickle_are_refused(tmp_path):
    with pytest.raises(TypeError, match="without pickle"):
        save_tree({"x": object()}, tmp_path / "t.safetensors")


@pytest.mark.parametrize("content", ["empty", "truncated", "pickle"])
def test_a_damaged_or_pickled_file_is_an_input_error_and_runs_nothing(tmp_path, content):
    path = tmp_path / "t.safetensors"
    save_tree({"w": torch.randn(50, 50)}, path)
    sentinel = tmp_path / "pwned"
    data = {"empty": b"", "truncated": path.read_bytes()[:300],
            "pickle": pickle.dumps({"w": Boom(str(sentinel))})}[content]
    path.write_bytes(data)
    with pytest.raises(InputError, match="t.safetensors"):
        load_tree(path)
    assert not sentinel.exists()


def test_the_file_gets_the_permissions_of_the_umask(tmp_path):
    import stat

    old = os.umask(0o022)
    try:
        save_tree({"w": torch.zeros(2)}, tmp_path / "t.safetensors")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "t.safetensors").stat().st_mode) == 0o644
