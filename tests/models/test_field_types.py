"""Settings from JSON configs are type-checked before any work (``causalmmm_ppl.models.field_types``)."""

from __future__ import annotations

import pytest

from causalmmm_ppl.errors import InputError
from causalmmm_ppl.models.btvc_spec import split_config
from causalmmm_ppl.models.spec import CausalMMMSpec


@pytest.mark.parametrize("config, words", [
    ({"prior_prob": "high"}, ["prior_prob", "a number", "'high'"]),
    ({"lr": float("inf")}, ["lr", "finite"]),
    ({"lr": float("nan")}, ["lr", "finite"]),
    ({"checkpoint_every": 0}, ["checkpoint_every", ">= 1"]),
    ({"steps": True}, ["steps", "whole number"]),
    ({"steps": 2.5}, ["steps", "whole number"]),
    ({"seasonality": 1}, ["seasonality", "true or false"]),
    ({"edge_priors": {"c0->gmv": "yes"}}, ["edge_priors"]),
    ({"edge_priors": [1]}, ["edge_priors"]),
    ({"likelihood": 3}, ["likelihood", "a string"]),
])
def test_causalmmm_settings_of_the_wrong_type_name_the_setting(config, words):
    with pytest.raises(InputError) as err:
        CausalMMMSpec.from_dict(config)
    for w in words:
        assert w in str(err.value)


def test_integral_numbers_are_taken_as_whole_numbers():
    spec = CausalMMMSpec.from_dict({"steps": 20.0, "prior_prob": 1 / 5, "kl_weight": 1})
    assert spec.steps == 20 and isinstance(spec.steps, int) and isinstance(spec.kl_weight, float)


@pytest.mark.parametrize("config, word", [
    ({"num_chains": "4"}, "num_chains"),
    ({"svi_lr": float("inf")}, "svi_lr"),
    ({"decay_prior": [1, 2, 3]}, "decay_prior"),
    ({"hill_gamma_prior": "wide"}, "hill_gamma_prior"),
    ({"max_tree_depth": [5, "a"]}, "max_tree_depth"),
])
def test_btvc_settings_of_the_wrong_type_are_input_errors(config, word):
    with pytest.raises(InputError, match=word):
        split_config(config)


def test_btvc_lists_become_tuples():
    spec, inf = split_config({"max_tree_depth": [5, 6], "hill_alpha_prior": [0, 1], "decay_prior": [1, 2]})
    assert inf.max_tree_depth == (5, 6) and spec.hill_alpha_prior == (0.0, 1.0) and spec.decay_prior == (1.0, 2.0)
