"""Response families (:mod:`causalmmm_ppl.models.response`): each family's signal is what its definition says, the
families without carryover or saturation are the paper's ablations, and every family reaches the teacher-forced pass,
the day-by-day rollout, the guide, a fit and a saved run alike."""

from __future__ import annotations

import json

import numpy as np
import pyro
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from pyro import poutine

from causalmmm_ppl.data.simulate import simulate
from causalmmm_ppl.errors import InputError
from causalmmm_ppl.inference.causalmmm_fit import CausalMMMFit, fit_causalmmm
from causalmmm_ppl.models.causalmmm import CausalMMM, ModelBatch
from causalmmm_ppl.models.response import ADSTOCKS, SATURATIONS, ResponseFamily, family_of
from causalmmm_ppl.models.settings import CausalMMMSettings
from causalmmm_ppl.models.spec import CausalMMMSpec, edge_prior_matrix
from causalmmm_ppl.transforms import np_ops, torch_ops

NODES = ("c0", "c1", "pv", "gmv")
KINDS = ("channel", "channel", "mediator", "target")
FAMILIES = [(a, s) for a in ADSTOCKS for s in SATURATIONS]


def _signal(adstock: str = "geometric", saturation: str = "hill") -> tuple[torch.Tensor, dict, torch.Tensor]:
    family = ResponseFamily(adstock, saturation)
    x = torch.zeros(1, 12, 2)
    x[0, 3, 0] = 2.0  # one pulse of spend on day 3 in node 0
    x[0, :, 1] = torch.linspace(0.0, 4.0, 12)
    u = torch.linspace(-0.5, 0.5, 2 * family.size).reshape(1, 2, family.size)
    return x, family.constrain(u), family.signals(x, u, l_max=5)


def test_the_default_family_is_hill_of_geometric_carryover_with_named_parameters():
    family = ResponseFamily()
    assert family.names == ("decay", "alpha", "gamma") and family.levels == ("gamma",)
    x, p, s = _signal()
    expected = torch_ops.hill(torch_ops.geometric_adstock(x.transpose(1, 2), p["decay"], 5, normalize=True),
                              p["alpha"], p["gamma"])
    torch.testing.assert_close(s, expected)
    assert torch.all(s < 1) and s[0, 0, 4] > 0  # bounded; the pulse carries over to the next day
    assert torch.all((p["decay"] > 0) & (p["decay"] < 0.98)) and torch.all(p["alpha"] > 0.2)


def test_without_carryover_only_the_day_itself_counts():
    x, p, s = _signal(adstock="none")
    assert set(p) == {"alpha", "gamma"}
    assert s[0, 0, 3] > 0 and torch.all(s[0, 0, 4:] == 0) and torch.all(s[0, 0, :3] == 0)
    torch.testing.assert_close(s, torch_ops.hill(x.transpose(1, 2), p["alpha"], p["gamma"]))


def test_without_saturation_the_signal_is_linear_in_spend():
    family = ResponseFamily(saturation="none")
    x, p, s = _signal(saturation="none")
    u = torch.linspace(-0.5, 0.5, 2).reshape(1, 2, 1)
    torch.testing.assert_close(family.signals(2 * x, u, l_max=5), 2 * s)
    assert s.max() > 1  # not bounded by a saturation curve
    torch.testing.assert_close(s, torch_ops.geometric_adstock(x.transpose(1, 2), p["decay"], 5, normalize=True))


def test_without_both_the_signal_is_the_value():
    x, p, s = _signal("none", "none")
    assert p == {}
    torch.testing.assert_close(s, x.transpose(1, 2))


def test_delayed_carryover_peaks_after_its_delay():
    family = ResponseFamily("delayed", "none")
    u = torch.tensor([[[1.0, 0.5]]])  # decay 0.72, delay 7 · sigmoid(0.5) = 4.4 periods
    x = torch.zeros(1, 20, 1)
    x[0, 2, 0] = 1.0
    s = family.signals(x, u, l_max=10)[0, 0]
    delay = float(family.constrain(u)["delay"])
    assert int(s.argmax()) == 2 + round(delay)
    torch.testing.assert_close(s.sum(), torch.tensor(1.0))  # normalised weights keep the pulse's total


def test_buildup_carryover_starts_as_geometric_and_peaks_later_as_it_builds_up():
    """At its starting value the build-up stage barely moves geometric carryover (the peak stays on the day of the
    spend); a build-up near its top moves the peak days later with the pulse's total kept."""
    family = ResponseFamily("buildup", "none")
    x = torch.zeros(1, 30, 1)
    x[0, 2, 0] = 1.0
    start = torch.tensor([[[1.0, family.start()[1].item()]]])
    assert float(family.constrain(start)["buildup"]) < 0.05
    s0 = family.signals(x, start, l_max=14)[0, 0]
    geometric = ResponseFamily("geometric", "none").signals(x, start[..., :1], l_max=14)[0, 0]
    assert int(s0.argmax()) == 2
    torch.testing.assert_close(s0, geometric, atol=0.02, rtol=0.0)
    late = family.signals(x, torch.tensor([[[1.0, 4.0]]]), l_max=14)[0, 0]
    assert int(late.argmax()) >= 2 + 2
    torch.testing.assert_close(late.sum(), torch.tensor(1.0))


@given(x=st.floats(0.0, 50.0), gamma=st.floats(-3.0, 3.0))
def test_michaelis_menten_is_x_over_x_plus_gamma(x, gamma):
    family = ResponseFamily("none", "michaelis_menten")
    u = torch.tensor([[[gamma]]], dtype=torch.float64)
    s = float(family.signals(torch.tensor([[[x]]], dtype=torch.float64), u, l_max=3)[0, 0, 0])
    g = float(np.exp(gamma))
    assert s == pytest.approx(x / (x + g), abs=1e-12)


@pytest.mark.parametrize("adstock,saturation", FAMILIES)
def test_numpy_and_torch_give_one_curve(adstock, saturation):
    """Plots evaluate a family in numpy, the model in torch: the registry entry is one definition for both."""
    family = ResponseFamily(adstock, saturation)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 15, generator=g, dtype=torch.float64) * 3
    p = family.constrain(torch.randn(2, 3, family.size, generator=g, dtype=torch.float64))
    tor = family.saturate(torch_ops, family.carry(torch_ops, x, family.weights(torch_ops, p, 6)), p).numpy()
    pn = {k: v.numpy() for k, v in p.items()}
    ref = family.saturate(np_ops, family.carry(np_ops, x.numpy(), family.weights(np_ops, pn, 6)), pn)
    np.testing.assert_allclose(tor, ref, atol=1e-10)


@pytest.mark.parametrize("adstock,saturation", FAMILIES)
def test_rollout_uses_the_same_signal_as_the_teacher_forced_pass(adstock, saturation):
    """The forecast recurrence recomputes carryover and saturation day by day: its means must equal the teacher-forced
    means on the sampled path, whatever the family."""
    torch.manual_seed(0)
    spec = CausalMMMSpec(adstock=adstock, saturation=saturation, l_max=4, hidden=6, msg_dim=3)
    rho = edge_prior_matrix(NODES, KINDS, spec.prior_prob)
    model = CausalMMM(NODES, KINDS, n_context=1, n_calendar=6, rho=rho, spec=spec)
    g = torch.Generator().manual_seed(1)
    shops, days, horizon = 2, 20, 4
    batch = ModelBatch(x=torch.rand(shops, days, 4, generator=g) * 2, observed=torch.ones(shops, days, 4, dtype=bool),
                       context=torch.randn(shops, 1, generator=g), calendar=torch.randn(days, 6, generator=g),
                       shop_idx=torch.arange(shops), n_shops=shops)
    cal = torch.randn(horizon, 6, generator=g)
    pyro.set_rng_seed(3)
    with torch.no_grad():
        tr = poutine.trace(model.rollout).get_trace(batch, cal, horizon)
        path = tr.nodes["_RETURN"]["value"]  # (horizon, shop, node)
        z, u = tr.nodes["graph"]["value"], tr.nodes["response"]["value"]
        assert u.shape[-2:] == (4, spec.response.size)
        weekly = tr.nodes["weekly"]["value"]
        x_full = torch.cat([batch.x, path.transpose(0, 1)], dim=1)
        cal_full = torch.cat([batch.calendar, cal], dim=0)
        pred, _ = model.one_step_means(x_full, u, z, cal_full, weekly)
    ch = model.channel_mask
    for k in range(horizon):
        for field in ("loc", "on_logit"):
            got = torch.zeros(shops, 4)
            got[:, ch] = getattr(tr.nodes[f"channels_{k}"]["fn"].base_dist.pred, field)
            got[:, model.mediator_mask] = getattr(tr.nodes[f"mediators_{k}"]["fn"].base_dist.pred, field)
            got[:, -1:] = getattr(tr.nodes[f"target_{k}"]["fn"].base_dist.pred, field)
            torch.testing.assert_close(got, getattr(pred, field)[:, days - 1 + k], atol=1e-4, rtol=1e-4)


def test_families_are_validated_by_name_and_round_trip():
    spec = CausalMMMSpec(adstock="delayed", saturation="michaelis_menten")
    assert CausalMMMSpec.from_dict(spec.to_dict()) == spec
    assert spec.response.names == ("decay", "delay", "gamma")
    with pytest.raises(InputError, match="saturation must be one of 'hill'"):
        CausalMMMSpec(saturation="logistic")
    with pytest.raises(InputError, match="adstock"):
        CausalMMMSpec(adstock="weibull")
    with pytest.raises(InputError, match="saturation"):
        CausalMMMSpec.from_dict({"saturation": False})  # a family is a name, not a switch
    with pytest.raises(InputError, match="carryover"):
        CausalMMMSpec.from_dict({"carryover": True})


def test_settings_written_as_switches_read_as_families():
    assert family_of({}) == ResponseFamily("geometric", "hill")
    assert family_of({"saturation": True, "carryover": True}) == ResponseFamily("geometric", "hill")
    assert family_of({"saturation": False, "carryover": False}) == ResponseFamily("none", "none")
    assert family_of({"adstock": "delayed", "saturation": "michaelis_menten"}).names == ("decay", "delay", "gamma")
    assert family_of({"adstock": "buildup"}).names == ("decay", "buildup", "alpha", "gamma")


def test_a_fit_with_another_family_reports_its_parameters_by_name_and_reloads(tmp_path):
    """The guide and the model agree on the family's parameters (a fit runs); posterior summaries, InferenceData
    and a saved run use their names, and levels are in the cause's original units."""
    panel = simulate("sim1", n_shops=4, n_days=40, seed=1).panel
    spec = CausalMMMSettings.of(adstock="delayed", saturation="michaelis_menten", steps=6, batch_shops=4, window=20,
                                num_draws=4, hidden=6, encoder_hidden=12, edge_pooling=0)
    fit = fit_causalmmm(panel, spec, seed=0, progress=False)
    guide_tr = poutine.trace(fit.guide).get_trace(fit.training_data().full_batch(temperature=1.0))
    assert guide_tr.nodes["response"]["value"].shape == (4, panel.n_nodes, 3)
    samples = fit.posterior_samples(num_draws=4)
    assert {"decay", "delay", "gamma"} <= set(samples) and "alpha" not in samples
    assert np.all((samples["delay"] > 0) & (samples["delay"] < 7))
    idata = fit.to_inference_data(num_draws=4)
    assert {"decay", "delay", "gamma"} <= set(idata.posterior.data_vars)
    assert idata.posterior.attrs["response_family"].startswith("delayed carryover, michaelis_menten saturation; decay:")
    fit.save(tmp_path / "run")
    saved = json.loads((tmp_path / "run" / "fit.json").read_text())["settings"]["model"]
    assert saved["adstock"] == "delayed" and "carryover" not in saved
    loaded = CausalMMMFit.load(tmp_path / "run")
    np.testing.assert_allclose(loaded.posterior_samples(num_draws=4, seed=2)["gamma"],
                               fit.posterior_samples(num_draws=4, seed=2)["gamma"], rtol=1e-5)


def test_a_run_saved_with_the_switches_loads_as_its_families(tmp_path):
    """Runs written with ``saturation``/``carryover`` switches (on) load as geometric carryover and Hill; a run with a
    switch off is a one-line error (its parameters have another shape). Such runs were fitted with those families."""
    panel = simulate("sim1", n_shops=3, n_days=30, seed=2).panel
    spec = CausalMMMSettings.of(steps=3, batch_shops=3, window=16, num_draws=4, hidden=6, encoder_hidden=12,
                                edge_pooling=0, adstock="geometric")
    fit = fit_causalmmm(panel, spec, seed=0, progress=False)
    fit.save(tmp_path / "run")
    meta_path = tmp_path / "run" / "fit.json"
    meta = json.loads(meta_path.read_text())
    flat = {k: v for group in meta.pop("settings").values() for k, v in group.items()}  # one "spec", as then
    meta["spec"] = {k: v for k, v in flat.items() if k != "adstock"} | {"saturation": True, "carryover": True}
    meta_path.write_text(json.dumps(meta))
    loaded = CausalMMMFit.load(tmp_path / "run")
    assert loaded.spec.response == ResponseFamily("geometric", "hill")
    np.testing.assert_allclose(loaded.edge_probability_array(), fit.edge_probability_array(), atol=1e-6)
    meta["spec"]["carryover"] = False
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(InputError, match="switched off"):
        CausalMMMFit.load(tmp_path / "run")
