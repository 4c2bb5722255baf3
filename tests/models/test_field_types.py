"""Settings from JSON configs are type-checked before any work (``causalmmm_ppl.models.field_types``)."""

from __future__ import annotations

import pytest

from causalmmm_ppl.errors import InputError
from causalmmm_ppl.models.btvc_spec import split_config
from causalmmm_ppl.models.settings import CausalMMMInference, CausalMMMOutputs, CausalMMMSettings
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
        CausalMMMSettings.from_dict(config)
    for w in words:
        assert w in str(err.value)


def test_integral_numbers_are_taken_as_whole_numbers():
    settings = CausalMMMSettings.from_dict({"steps": 20.0, "prior_prob": 1 / 5, "kl_weight": 1})
    inf = settings.inference
    assert inf.steps == 20 and isinstance(inf.steps, int) and isinstance(inf.kl_weight, float)


def test_settings_are_split_by_concern_flat_or_nested():
    """Each key of a flat config reaches the group that owns it; a nested config gives the same settings; the
    groups round-trip through their dict and ``replace`` routes by name too."""
    flat = {"prior_prob": 0.2, "adstock": "delayed", "steps": 40, "kl_warmup": 0.5, "edge_pooling": 0, "num_draws": 9}
    settings = CausalMMMSettings.of(**flat)
    assert settings.model == CausalMMMSpec(prior_prob=0.2, adstock="delayed")
    assert settings.inference == CausalMMMInference(steps=40, kl_warmup=0.5)
    assert settings.outputs == CausalMMMOutputs(edge_pooling=0, num_draws=9)
    nested = {"model": {"prior_prob": 0.2, "adstock": "delayed"}, "inference": {"steps": 40, "kl_warmup": 0.5},
              "outputs": {"edge_pooling": 0}, "num_draws": 9}
    assert CausalMMMSettings.from_dict(nested) == settings
    assert CausalMMMSettings.from_dict(settings.to_dict()) == settings
    assert {k: settings.flat()[k] for k in flat} == flat
    moved = settings.replace(steps=5, link="log1p")
    assert moved.inference.steps == 5 and moved.model.link == "log1p" and moved.outputs == settings.outputs
    assert CausalMMMSettings.coerce(CausalMMMSpec(hidden=8)) == CausalMMMSettings(model=CausalMMMSpec(hidden=8))


@pytest.mark.parametrize("config, words", [
    ({"stepz": 3}, ["unknown setting 'stepz'", "did you mean 'steps'"]),
    ({"model": {"steps": 3}}, ["model", "unknown setting 'steps'"]),  # an inference setting under the model
    ({"inference": 3}, ["'inference' must be an object"]),
    ([1, 2], ["expected a JSON object"]),
])
def test_settings_in_the_wrong_place_name_the_key(config, words):
    with pytest.raises(InputError) as err:
        CausalMMMSettings.from_dict(config)
    for w in words:
        assert w in str(err.value)


def test_settings_groups_are_frozen():
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        CausalMMMSettings().inference.steps = 3


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
