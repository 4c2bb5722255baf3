"""A fit read shard by shard (``fit_causalmmm_shards``): on one process it is the ordinary fit of the same panel,
step for step; its run saves the training panel part by part and reloads as any run. Two processes against the
whole-panel fit: ``tests/test_cli_scale_out.py``."""

from __future__ import annotations

import numpy as np
import pytest

from causalmmm_ppl.data.load import load_panel, load_panel_chunks
from causalmmm_ppl.data.simulate import simulate
from causalmmm_ppl.errors import InputError
from causalmmm_ppl.inference.causalmmm_fit import CausalMMMFit, fit_causalmmm
from causalmmm_ppl.inference.causalmmm_shards import fit_causalmmm_shards
from causalmmm_ppl.inference.distributed import Shard
from causalmmm_ppl.models.settings import CausalMMMSettings

SETTINGS = CausalMMMSettings.of(steps=8, batch_shops=6, window=20, num_draws=8)


@pytest.fixture(scope="module")
def panel_file(tmp_path_factory):
    sim = simulate("sim1", n_shops=12, n_days=40, seed=4)
    frame = sim.panel.to_frame()
    # shop "s003" starts late and "s010" ends early: the parts have grids of their own
    frame = frame[~((frame["shop"] == "s003") & (frame["date"] < frame["date"].min() + np.timedelta64(5, "D")))]
    frame = frame[~((frame["shop"] == "s010") & (frame["date"] > frame["date"].max() - np.timedelta64(5, "D")))]
    path = tmp_path_factory.mktemp("shards") / "panel.parquet"
    frame.to_parquet(path, index=False)
    return path, sim.spec


def test_one_process_read_shard_by_shard_fits_as_the_whole_panel(panel_file, tmp_path):
    path, spec = panel_file
    whole = fit_causalmmm(load_panel(path, spec), SETTINGS, columns=spec, seed=1, progress=False)
    parts = fit_causalmmm_shards(load_panel_chunks(path, spec, 5), SETTINGS, columns=spec, seed=1, progress=False,
                                 shard=Shard())
    assert parts.log.loss == whole.log.loss
    np.testing.assert_array_equal(parts.edge_probability_array(), whole.edge_probability_array())
    assert parts.scaler.shops == whole.scaler.shops
    np.testing.assert_array_equal(parts.scaler.scale, whole.scaler.scale)
    # the run holds the training panel, written part by part, and reloads as the whole fit's run does
    parts.save(tmp_path / "parts")
    whole.save(tmp_path / "whole")
    a, b = CausalMMMFit.load(tmp_path / "parts"), CausalMMMFit.load(tmp_path / "whole")
    np.testing.assert_array_equal(a.train_panel.values, b.train_panel.values)
    np.testing.assert_array_equal(a.train_panel.observed, b.train_panel.observed)
    assert a.train_panel.dates.equals(b.train_panel.dates) and a.train_panel.shops == b.train_panel.shops
    np.testing.assert_array_equal(a.edge_probability_array(), whole.edge_probability_array())
    # asked for every shop's series, process 0's fit reads the whole panel
    assert parts.train_panel.n_shops == 12


def test_a_shard_fit_needs_parts_and_checks_its_rows(panel_file, tmp_path):
    path, spec = panel_file
    with pytest.raises(InputError, match="--shops-per-chunk"):
        fit_causalmmm_shards(load_panel_chunks(path, spec, None), SETTINGS, progress=False, shard=Shard())
    frame = load_panel(path, spec).to_frame()
    frame.loc[frame.index[frame["shop"] == "s007"][-3:], "gmv"] = np.nan  # plan rows, not a training panel
    bad = tmp_path / "bad.parquet"
    frame.to_parquet(bad, index=False)
    chunks = load_panel_chunks(bad, spec, 5, allow_missing_target=True)
    with pytest.raises(InputError, match="shop 's007'.*target 'gmv' is empty in a training row"):
        fit_causalmmm_shards(chunks, SETTINGS, progress=False, shard=Shard())
