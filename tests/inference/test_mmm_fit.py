"""The MMMFit protocol and the run-kind registry: both fits satisfy it, and a third model written against it (a linear
toy, defined here) gets `forecast`, `effects`, `allocate`, `compare --data` and `report` from the command line with
one registry line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from causalmmm_ppl.cli import main
from causalmmm_ppl.data.panel import Panel
from causalmmm_ppl.errors import InputError
from causalmmm_ppl.inference import mmm_fit
from causalmmm_ppl.inference.effects import (
    EFFECT_KINDS,
    EffectDraws,
    effect_scenarios,
    response_curves,
)
from causalmmm_ppl.inference.mmm_fit import COLUMNS_FILE, MMMFit, RunKind, register_run_kind


class LinearToy:
    """Each shop's target is ``a + Σ_c β_c·x_c + σ·ε`` (least squares on the history): the smallest model behind the
    protocol. Effects are linear in spend, so they have a closed form: ``β_c`` × the channel's spend in the window."""

    def __init__(self, channels: list[str], coef: np.ndarray, sigma: np.ndarray, draws: int = 50,
                 training_end: str = "2022-03-14", shops: list[str] | None = None,
                 training: dict | None = None) -> None:
        self.channels = list(channels)
        self.training = training or {}  # the training days: "dates", "x" (shop, day, channel), "y" (shop, day)
        self.shops = list(shops) if shops is not None else [f"s{i:03d}" for i in range(len(sigma))]
        self.training_end = pd.Timestamp(training_end)
        self.coef = np.asarray(coef, float)  # (shop, 1 + channel)
        self.sigma = np.asarray(sigma, float)  # (shop,)
        self.draws = draws

    @classmethod
    def fit(cls, panel: Panel) -> "LinearToy":
        ch = panel.channel_index
        coef, sigma = [], []
        for s in range(panel.n_shops):
            x = np.column_stack([np.ones(panel.n_time), panel.values[s][:, ch]])
            y = panel.values[s, :, -1]
            b, *_ = np.linalg.lstsq(x, y, rcond=None)
            coef.append(b)
            sigma.append(np.std(y - x @ b))
        training = {"dates": [str(d) for d in panel.dates], "x": panel.values[..., ch].tolist(),
                    "y": panel.values[..., -1].tolist(), "target": panel.target}
        return cls([panel.nodes[i] for i in ch], np.stack(coef), np.asarray(sigma), training_end=str(panel.dates[-1]),
                   shops=list(panel.shops), training=training)

    fixed_history = False  # a static regression: any window is a plan

    @property
    def channel_names(self) -> list[str]:
        return list(self.channels)

    def _rows(self, plan: Panel) -> list[int]:
        return [self.shops.index(s) for s in plan.shops]  # the plan's shops (a part of the panel, by chunks)

    def _mean(self, plan: Panel, spend_scale: np.ndarray) -> np.ndarray:
        x = plan.values[..., [plan.nodes.index(c) for c in self.channels]] * spend_scale[None, None, :]
        coef = self.coef[self._rows(plan)]
        return coef[:, :1] + np.einsum("stc,sc->st", x, coef[:, 1:])  # (shop, day)

    def _paths(self, plan: Panel, spend_scale: np.ndarray, seed: int | None) -> np.ndarray:
        mean = self._mean(plan, spend_scale)
        noise = np.random.default_rng(0 if seed is None else seed).standard_normal((self.draws,) + mean.shape)
        return mean[None] + self.sigma[self._rows(plan)][None, :, None] * noise  # (draw, shop, day)

    def forecast(self, history, plan, *, interval=0.9, seed=None, progress=False):
        paths = self._paths(plan, np.ones(len(self.channels)), seed)
        lo, hi = np.quantile(paths, [(1 - interval) / 2, (1 + interval) / 2], axis=0)
        s, t = np.indices(paths.shape[1:])
        return pd.DataFrame({"shop": np.asarray(plan.shops, dtype=object)[s.ravel()], "date": plan.dates[t.ravel()],
                             "node": plan.target, "observed": np.nan, "mean": paths.mean(0).ravel(),
                             "lower": lo.ravel(), "upper": hi.ravel()})

    def effect_samples(self, history, plan, scenarios, *, num_draws=None, seed=None, progress=False):
        def total(scale):
            return self._paths(plan, scale, seed).sum(-1)

        counter = {}
        for kind, c, m in scenarios:
            scale = np.ones(len(self.channels))
            scale[self.channels.index(c)] = m
            counter[(kind, c, float(m))] = total(scale)
        return total(np.ones(len(self.channels))), counter

    def effect_draws(self, history, plan, *, num_draws=None, seed=None, progress=False):
        factual, counter = self.effect_samples(history, plan, effect_scenarios(self.channels), seed=seed)
        spend = plan.values[..., [plan.nodes.index(c) for c in self.channels]].sum(1)
        return EffectDraws.from_samples(factual, counter, spend, plan.shops, self.channels, EFFECT_KINDS)

    def response_curves(self, history, plan, *, interval=0.9, num_draws=None, seed=None, progress=False):
        return response_curves(self, history, plan, interval=interval, seed=seed)

    def predictive_log_density(self, history, plan, *, num_draws=None, seed=None, progress=False):
        sigma = self.sigma[self._rows(plan)][:, None]
        z = (plan.values[..., -1] - self._mean(plan, np.ones(len(self.channels)))) / sigma
        lp = -0.5 * z**2 - np.log(sigma * np.sqrt(2 * np.pi))  # one exact "draw"
        return np.where(plan.target_observed, lp, np.nan)[None]

    def to_inference_data(self):
        """The coefficients (one point, repeated over the draws), the observed training target, its replicates and
        their log-likelihood, through the project's one InferenceData builder."""
        from causalmmm_ppl.evaluation.inference_data import build_inference_data, panel_coords

        x, y = np.asarray(self.training["x"]), np.asarray(self.training["y"])
        mean = self.coef[:, :1] + np.einsum("stc,sc->st", x, self.coef[:, 1:])  # (shop, day)
        noise = np.random.default_rng(0).standard_normal((1, self.draws) + mean.shape)
        sigma = self.sigma[:, None]
        loglik = -0.5 * ((y - mean) / sigma) ** 2 - np.log(sigma * np.sqrt(2 * np.pi))
        return build_inference_data(
            posterior={"coef": np.broadcast_to(self.coef, (1, self.draws) + self.coef.shape),
                       "sigma": np.broadcast_to(self.sigma, (1, self.draws) + self.sigma.shape)},
            dims={"coef": ["shop", "term"], "sigma": ["shop"]},
            coords={**panel_coords(self.shops, pd.DatetimeIndex(self.training["dates"])),
                    "term": ["intercept", *self.channels]},
            model="linear_toy", target_name=self.training["target"], inference="least squares",
            log_likelihood=np.broadcast_to(loglik, (1, self.draws) + loglik.shape), observed=y,
            posterior_predictive=mean + sigma * noise, latent=["coef", "sigma"], attrs={"draws": self.draws})

    def save(self, directory) -> None:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        (d / "linear_toy.json").write_text(json.dumps({"channels": self.channels, "coef": self.coef.tolist(),
                                                       "sigma": self.sigma.tolist(),
                                                       "training_end": str(self.training_end),
                                                       "shops": self.shops, "training": self.training}))

    @classmethod
    def load(cls, directory) -> "LinearToy":
        meta = json.loads((Path(directory) / "linear_toy.json").read_text())
        return cls(meta["channels"], np.asarray(meta["coef"]), np.asarray(meta["sigma"]),
                   training_end=meta["training_end"], shops=meta["shops"], training=meta.get("training"))


@pytest.fixture
def toy_kind():
    register_run_kind(RunKind("linear_toy", marker="linear_toy.json", load=LinearToy.load))  # the one registry line
    yield
    mmm_fit.RUN_KINDS.pop("linear_toy")


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    """A simulated panel, the toy fitted on its history, and its run directory (``model/`` + the column schema)."""
    root = tmp_path_factory.mktemp("toy")
    assert main(["simulate", "--out", str(root / "sim"), "--scenario", "sim1", "--shops", "4", "--days", "80",
                 "--horizon", "7", "--quiet"]) == 0
    from causalmmm_ppl.data.load import load_panel
    from causalmmm_ppl.data.panel import ColumnSpec

    flags = (root / "sim" / "fit_flags.txt").read_text().split()
    columns = ColumnSpec(target=flags[flags.index("--target") + 1],
                         channels=tuple(flags[flags.index("--channels") + 1].split(",")))
    history = load_panel(root / "sim" / "history.csv", columns)
    fit = LinearToy.fit(history)
    fit.save(root / "run" / "model")
    (root / "run" / "model" / COLUMNS_FILE).write_text(json.dumps(columns.to_dict()))
    return fit, root


def test_both_fits_satisfy_the_protocol():
    from causalmmm_ppl.inference.btvc import BTVCFit
    from causalmmm_ppl.inference.causalmmm_fit import CausalMMMFit

    for cls in (CausalMMMFit, BTVCFit, LinearToy):
        missing = [name for name in ("channel_names", "forecast", "effect_samples", "effect_draws", "response_curves",
                                     "predictive_log_density", "to_inference_data", "save") if not hasattr(cls, name)]
        assert not missing, (cls.__name__, missing)
    assert isinstance(LinearToy(["c0"], np.zeros((1, 2)), np.ones(1)), MMMFit)


def test_a_third_model_answers_forecast_effects_allocate_compare_and_report(toy_kind, toy_run, tmp_path, capsys):
    fit, root = toy_run
    plan_csv = root / "sim" / "plan.csv"
    assert main(["forecast", str(root / "run"), "--data", str(plan_csv), "--out", str(tmp_path / "fc.csv"),
                 "--quiet"]) == 0
    assert len(pd.read_csv(tmp_path / "fc.csv")) == 4 * 7
    assert main(["effects", str(root / "run"), "--data", str(plan_csv), "--out", str(tmp_path / "eff.csv"),
                 "--quiet"]) == 0
    table = pd.read_csv(tmp_path / "eff.csv", dtype={"shop": str})
    # linear in spend: a channel's effect is its coefficient times its spend in the window, in every kind
    shops = table[table["shop"] != "ALL"]
    coef = {(s, c): fit.coef[i, 1 + k] for i, s in enumerate(sorted(shops["shop"].unique()))
            for k, c in enumerate(fit.channels)}
    expected = [coef[(r.shop, r.channel)] * r.spend for r in shops.itertuples()]
    np.testing.assert_allclose(shops["mean"], expected, rtol=1e-9, atol=1e-6)
    # by chunks of shops: the same rows (other noise draws, the same common random numbers on both paths)
    assert main(["effects", str(root / "run"), "--data", str(plan_csv), "--shops-per-chunk", "3", "--out",
                 str(tmp_path / "eff3.csv"), "--quiet"]) == 0
    chunked = pd.read_csv(tmp_path / "eff3.csv", dtype={"shop": str})
    assert chunked[["shop", "channel", "kind"]].equals(table[["shop", "channel", "kind"]])
    np.testing.assert_allclose(chunked["mean"], table["mean"], rtol=1e-9, atol=1e-6)
    assert main(["allocate", str(root / "run"), "--data", str(plan_csv), "--scope", "shop", "--out",
                 str(tmp_path / "new.csv")]) == 0
    assert "expected uplift vs the plan" in capsys.readouterr().out
    old, new = pd.read_csv(plan_csv, dtype={"shop": str}), pd.read_csv(tmp_path / "new.csv", dtype={"shop": str})
    window = old["gmv"].isna().to_numpy()
    for i, shop in enumerate(sorted(old["shop"].unique())):
        rows = window & (old["shop"] == shop).to_numpy()
        ratio = new.loc[rows, fit.channels].sum().to_numpy() / old.loc[rows, fit.channels].sum().to_numpy()
        best = int(np.argmax(fit.coef[i, 1:]))
        assert ratio[best] > 1.0  # money moves to the channel that pays most (a linear response: a corner)
    # compare on the held-out days: the toy against a copy that ignores spend (its intercept only)
    flat = LinearToy(fit.channels, np.column_stack([fit.coef[:, :1],
                                                    np.zeros_like(fit.coef[:, 1:])]), fit.sigma * 3,
                     training_end=str(fit.training_end), shops=fit.shops)
    flat.save(root / "flat" / "model")
    (root / "flat" / "model" / COLUMNS_FILE).write_text((root / "run" / "model" / COLUMNS_FILE).read_text())
    assert main(["compare", str(root / "run"), str(root / "flat"), "--data", str(root / "sim" / "panel.csv"),
                 "--out", str(tmp_path / "cmp.csv"), "--quiet"]) == 0
    cmp = pd.read_csv(tmp_path / "cmp.csv")
    assert list(cmp["run"]) == ["run", "flat"] and set(cmp["model"]) == {"linear_toy"} and (cmp["n_obs"] == 28).all()
    # the report: the run has no idata.nc, so the fit's own InferenceData is shown, with its nodes and settings
    assert not (root / "run" / "idata.nc").exists()
    assert main(["report", str(root / "run"), "--effects", str(tmp_path / "eff.csv"), "--out",
                 str(tmp_path / "toy.html")]) == 0
    page = (tmp_path / "toy.html").read_text(encoding="utf-8")
    assert "linear_toy run report" in page and "inference least squares" in page
    for title in ("Data", "Channel effects", "Forecasts", "Diagnostics", "Fit settings"):
        assert f"<h2>{title}</h2>" in page
    assert "<h2>Causal graph</h2>" not in page and "<h2>Media effects</h2>" not in page
    assert "4 shops × 73 training steps" in page and "channels: " + ", ".join(fit.channels) in page


def test_an_unknown_run_is_refused(tmp_path):
    (tmp_path / "model").mkdir()
    with pytest.raises(InputError, match="not a run directory of a known model"):
        mmm_fit.load_run(tmp_path)
    with pytest.raises(FileNotFoundError):
        mmm_fit.load_run(tmp_path / "absent")


@pytest.mark.parametrize("declared, fails", [(None, False), (1, False), (2, False), (3, True), ("2", True),
                                             (True, True), (0, True)])
def test_a_saved_run_declares_its_format_and_a_newer_one_is_refused(declared, fails, tmp_path):
    meta = {} if declared is None else {"format": declared}
    if fails:
        with pytest.raises(InputError, match="format"):
            mmm_fit.run_format(meta, 2, tmp_path / "fit.json")
    else:
        assert mmm_fit.run_format(meta, 2, tmp_path / "fit.json") == (declared or 1)
