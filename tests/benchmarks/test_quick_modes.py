"""Each benchmark script's ``--quick`` mode runs end to end once (tiny sizes), so the scripts cannot rot. The
planning benchmarks' are in ``test_quick_modes_planning.py``, the longer BTVC ones' in ``test_quick_modes_btvc.py``
and scale_out's in ``test_scale_out_quick.py``: files of their own, so that the suite's workers (one file at a time
each) share them.

``--no-write``: docs/benchmarks.md is left alone (checked).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest

from benchmarks._doc import DOC
from benchmarks.effects import HORIZON, QUICK

SCRIPTS = {
    "graph_recovery": "## Graph recovery side by side",
    "forecasting": "## Forecasting side by side",
    "ablations": "## Ablations",
    "cost": "## Cost vs size",
    "edge_diagnostics": "## Edge diagnostics",
    "graph_templates": "## Population graph prior",
    "graph_offhome": "## Graph recovery off home ground",
    "edge_calibration": "## Edge calibration",
    "param_recovery": "## Contribution recovery on PyMC Labs' benchmark data",
    "rollout_history": "## Rollout history",
    "switching": "## On/off persistence",
    "real_panels": "## Real panels",
    "mediated_effects": "## Mediated effects",
    "template_count": "## Template count (development seeds)",
    "restarts": "## SVI restarts",
    "collapse_threshold": "## Collapse threshold and mixed runs (development seeds)",
    "response_families": "## Response families",
    "edge_gain": "## Edge gains (development seeds)",
    "additive_response": "## Additive response (development seeds)",
    "effect_ensembles": "## Effect ensembles (development seeds)",
    "edge_draws": "## Edge draws (development seeds)",
    "multistep": "## Multi-step paths (development seeds)",
    "miss_rate": "## Edge miss rate and effects (development seeds)",
    "template_prior": "## Template prior (development seeds)",
    "carryover_effects": "## Carryover family and effects (development seeds)",
    "carryover_graph": "## Carryover family and the graph (development seeds)",
    "effects_oracle": "## Effects with the true structure (reference)",
    "svi_steps": "## SVI steps and effects (development seeds)",
    "few_shops": "## Graphs from few shops (development seeds)",
    "weight_prior": "## Message-weight prior and effects (development seeds)",
    "effect_sizes": "## Effect sizes (development seeds)",
    "mixed_runs": "## Mixed SVI runs on few shops (development seeds)",
    "two_stage_sizes": "## Two-stage sizes (development seeds)",
    "mediator_prior": "## Mediator prior and carryover (development seeds)",
}
#: Flags beyond ``--quick --no-write``: one scenario where every scenario runs the same code (the simulators' own
#: tests cover each simulator family and its true effects, ``tests/data``).
EXTRA = {"allocation": ["--scenarios", "sim1"], "effects": ["--scenarios", "sim1"],
         "param_recovery": ["--scenarios", "small_business"], "switching": ["--scenarios", "sim1_demo"], "real_panels": ["--scenarios", "robyn"],
         "mediated_effects": ["--scenarios", "sim1"], "template_count": ["--scenarios", "sources"],
         "restarts": ["--scenarios", "sources"], "collapse_threshold": ["--scenarios", "sim1"],
         "response_families": ["--scenarios", "sim1"], "edge_gain": ["--scenarios", "sim1"],
         "additive_response": ["--scenarios", "sim1"], "effect_ensembles": ["--scenarios", "sim1"],
         "edge_draws": ["--scenarios", "sim1"], "multistep": ["--scenarios", "sim1"],
         "miss_rate": ["--scenarios", "sim1"], "template_prior": ["--scenarios", "sim1"],
         "carryover_effects": ["--scenarios", "sim1"],
         "carryover_graph": ["--scenarios", "sources,deviating"], "effects_oracle": ["--scenarios", "sim1"],
         "svi_steps": ["--scenarios", "sim1"], "few_shops": ["--scenarios", "sim1,pymc_labs"],
         "weight_prior": ["--scenarios", "sim1"], "effect_sizes": ["--scenarios", "sim1"],
         "mixed_runs": ["--scenarios", "sim1"], "two_stage_sizes": ["--scenarios", "sim1"],
         "mediator_prior": ["--scenarios", "sim1"]}


#: The benchmarks built on ``benchmarks._doc.panel_benchmark`` and ``graph_templates``: their quick modes run in the
#: test's own process (``--jobs 0``), sparing the worker processes' start-up.
IN_PROCESS = ("allocation", "edge_calibration", "effects", "graph_offhome", "graph_recovery", "graph_templates", "mediated_effects",
              "param_recovery", "real_panels", "rollout_history", "switching", "template_count", "restarts",
              "collapse_threshold", "response_families", "edge_gain", "additive_response",
              "effect_ensembles", "edge_draws", "multistep", "miss_rate", "template_prior", "carryover_effects", "carryover_graph", "effects_oracle", "svi_steps",
              "few_shops", "weight_prior", "effect_sizes", "mixed_runs", "two_stage_sizes", "mediator_prior")

#: The benchmarks that score effects over the window of ``benchmarks.effects.horizon``: a quick run's text names the
#: quick window it scored, not the full run's.
QUICK_WINDOW = ("allocation", "effects", "effects_oracle", "two_stage_sizes", "effect_ensembles", "mediated_effects",
                "edge_draws", "edge_gain", "additive_response", "multistep", "miss_rate", "template_prior",
                "carryover_effects", "svi_steps", "weight_prior", "effect_sizes", "mediator_prior")

#: The benchmarks whose posterior draws are their module's ``num_draws(quick)``: a quick run's text names the quick
#: draws it used, not the full run's ``DRAWS``.
QUICK_DRAWS = ("rollout_history", "param_recovery", "peer_contributions")


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_quick_mode(name, capsys):
    run_quick(name, SCRIPTS[name], capsys)


def run_quick(name: str, title: str, capsys) -> None:
    """``benchmarks.<name> --quick --no-write`` prints a filled section ``title`` and leaves the page alone."""
    if name == "graph_recovery":
        pytest.importorskip("tigramite")
        pytest.importorskip("lingam")
    before = DOC.read_text() if DOC.exists() else None
    module = importlib.import_module(f"benchmarks.{name}")
    jobs = ["--jobs", "0"] if name in IN_PROCESS else []
    assert module.main(["--quick", "--no-write", *EXTRA.get(name, []), *jobs]) == 0
    out = capsys.readouterr().out
    assert out.startswith(title) and "Command: `" in out and "| " in out
    assert "nan" not in out.split("\n|---")[1].split("\n\n")[0]  # the table is filled
    if name in QUICK_WINDOW:
        assert f"last {QUICK['horizon']} days" in out and f"last {HORIZON} days" not in out
    if name in QUICK_DRAWS:
        assert f"{module.num_draws(True)} draws" in out and f"{module.DRAWS} draws" not in out
    assert (DOC.read_text() if DOC.exists() else None) == before


def test_effects_diagnosis_prints_its_figures(capsys):
    """The print-only diagnosis behind "Edge draws"'s reading runs end to end and leaves the page alone."""
    from benchmarks import effects_diagnosis

    before = DOC.read_text()
    assert effects_diagnosis.main(["--quick", "--scenarios", "sim1", "--jobs", "0"]) == 0
    out = capsys.readouterr().out
    assert "exact zeros:" in out and "overall; by day" in out and "carryover mean lag" in out
    assert "halving the spend:" in out and "direct effect:" in out and "simulator ρ^k:" in out
    assert "the simulator's graph:" in out and "edges by probability:" in out
    assert "one day off (the window's first)" in out and "Σ fit / Σ simulator by channel" in out
    assert "attribution of the held effects:" in out and "with the edges into it" in out
    assert DOC.read_text() == before


def test_bit_identity_records_a_tree_in_a_child_process_and_compares_records(tmp_path, capsys):
    """``--tree`` records a source tree through its own package in a child process: this tree recorded that way
    holds what an in-process record holds (the fit is seeded); a changed setting is told apart, and a folder without
    the package is refused."""
    import numpy as np

    from benchmarks import bit_identity

    small = dict(n_shops=6, steps=5)
    one = {"restarts": 1}  # one SVI run where 6 shops would mix three: the records' mechanics, fewer fits
    root = Path(bit_identity.__file__).resolve().parents[1]
    a, b, c = (str(tmp_path / f"{k}.npz") for k in "abc")
    bit_identity.record_tree(root, Path(a), one, **small)
    np.savez(b, **bit_identity.record(one, **small))
    np.savez(c, **bit_identity.record({**one, "edge_draws": "relaxed"}, **small))
    assert bit_identity.main(["--compare", a, b]) == 0
    assert bit_identity.main(["--compare", a, c]) == 1
    out = capsys.readouterr().out
    assert "edges: identical" in out and "effects: DIFFERENT" in out
    with pytest.raises(SystemExit, match="no causalmmm_ppl"):
        bit_identity.record_tree(tmp_path, tmp_path / "none.npz")


def test_bit_identity_fits_the_number_of_shops_asked(tmp_path):
    """``--shops N`` records a fit of an N-shop panel (below 10 shops: the default's prior on the message weights)."""
    import numpy as np

    from benchmarks import bit_identity

    assert bit_identity.main(["--out", str(tmp_path / "few.npz"), "--shops", "2"]) == 0
    assert np.load(tmp_path / "few.npz")["edges"].shape == (2, 8, 8)


def test_lead_diagnosis_leads_the_channels_and_prints_both_fits(capsys):
    """The print-only diagnosis behind "Contribution recovery on PyMC Labs' benchmark data"'s reading: a led panel
    holds week t + 1's spend in week t's row, with the truth of its own weeks, and both fits print a filled row."""
    from benchmarks import lead_diagnosis
    from benchmarks.param_recovery import load

    panel, channels, _, true = load("small_business")
    led, led_channels, led_true = lead_diagnosis.led_panel("small_business", 1)
    assert led_channels == channels and led.n_time == panel.n_time - 1
    k = list(panel.nodes).index(channels[0])
    np.testing.assert_allclose(led.values[:, :, k], panel.values[:, 1:, k])
    np.testing.assert_allclose(led_true, true[:, : panel.n_time - 1])
    before = DOC.read_text()
    assert lead_diagnosis.main(["--quick", "--datasets", "small_business", "--seeds", "100", "--jobs", "0"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| small_business |")]
    assert len(rows) == 2 and "nan" not in "".join(rows)
    assert DOC.read_text() == before


def test_real_panels_carryover_prints_every_family_and_seed_and_their_mean(capsys):
    """The print-only development-seed check behind "Real panels"'s reading: one row per carryover family and seed,
    then the family's mean, each filled; the page is left alone."""
    from benchmarks import real_panels_carryover

    before = DOC.read_text()
    assert real_panels_carryover.main(["--quick", "--seeds", "100", "--jobs", "0"]) == 0
    rows = [line.split(" | ")[1:3] for line in capsys.readouterr().out.splitlines() if line.startswith("| robyn |")]
    assert rows == [["geometric", "100"], ["geometric", "mean"], ["mixed", "100"], ["mixed", "mean"]]
    assert DOC.read_text() == before


def test_carryover_graph_fits_the_families_asked(capsys):
    """``--families`` fits the carryover families named, in the table's order, and an unknown name is refused with
    the known ones."""
    from benchmarks import carryover_graph
    from benchmarks._doc import chosen_labels

    args = ["--quick", "--no-write", "--scenarios", "sources", "--families", "mixed,geometric", "--jobs", "0"]
    assert carryover_graph.main(args) == 0
    rows = [line.split(" | ")[0] for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    assert rows[1:] == ["| geometric", "| mixed (default)"]  # after the header row
    with pytest.raises(SystemExit, match="expected names among geometric, buildup, delayed, mixed"):
        chosen_labels("geometric,weibull", carryover_graph.SHORT)


def test_carryover_graph_fits_a_variant_of_the_settings_and_names_it(capsys):
    """``--variant`` changes the settings of every fit (the deviating panel's table moves) and the section says so."""
    from benchmarks import carryover_graph

    args = ["--quick", "--no-write", "--scenarios", "deviating", "--families", "geometric", "--jobs", "0"]
    tables = []
    for extra in ([], ["--variant", "mediator_prior=0.5"]):
        assert carryover_graph.main(args + extra) == 0
        out = capsys.readouterr().out
        tables.append([line for line in out.splitlines() if line.startswith("| geometric")])
    assert "Every fit with `mediator_prior=0.5`." in out and "--variant mediator_prior=0.5" in out
    assert tables[0] != tables[1]
    assert carryover_graph.main(args + ["--variant", "restarts=1"]) == 0  # one run: no full-panel loss to show
    runs = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| geometric")][1:]
    assert len(runs) == 1 and runs[0].split(" | ")[3] == "–"


def test_weight_curvature_prints_every_reading_and_puts_the_weights_back():
    """The print-only check of the message weights' curvature: the Laplace posterior of the log gains is no wider
    than their N(0, 1) prior (the Hessian's negative eigenvalues raised to 0), every reading prints a filled row,
    the fit's weights are its own again afterwards, and the page is left alone."""
    import torch

    from benchmarks import weight_curvature

    before = DOC.read_text()
    result = weight_curvature.score_panel("sim2", 0, True)
    assert 0.0 < result["sd"].min() and result["sd"].max() <= weight_curvature.PRIOR_SD + 1e-9
    assert list(result["rows"]) == ["fit", "W drawn", "Newton step"]
    decoder = torch.nn.Linear(2, 2)
    decoder.edge_weight = torch.nn.Parameter(torch.ones(2))
    own = decoder.edge_weight
    with weight_curvature.message_weights(decoder, 2.0 * own):
        assert not isinstance(decoder.edge_weight, torch.nn.Parameter)
    assert decoder.edge_weight is own and "edge_weight" in dict(decoder.named_parameters())
    rows = [line for line in weight_curvature.report([result], (0,)) if line.startswith("| sim2 | 0 |")]
    assert len(rows) == 4 and "nan" not in "".join(rows)
    assert DOC.read_text() == before


def test_graph_parts_replaces_one_class_at_a_time_and_prints_every_graph():
    """The print-only check of which part of the graph the effects lose on (its swaps are ``told_graph``'s, tested
    in test_effects_oracle): the channel → target pairs come from another array and every other pair stays; a
    class's table counts its pairs only (a node is not its own pair); every reading and every class prints a filled
    row; the page is left alone."""
    from benchmarks import graph_parts, target_edge_reads

    kinds = np.array(["channel", "channel", "mediator", "target"])
    graph, truth = np.zeros((1, 4, 4)), np.ones((1, 4, 4))
    mixed = target_edge_reads.with_target_pairs(graph, truth, kinds)
    assert mixed[0, :2, 3].tolist() == [1.0, 1.0] and mixed.sum() == 2.0
    adjacency = np.zeros((1, 4, 4))
    adjacency[0, 0, 1] = 1.0
    cc = graph_parts.class_edges(np.full((1, 4, 4), 0.6), adjacency, kinds, "c→c")
    assert cc == {"true": 1, "p_true": 0.6, "p_absent": 0.6, "missed": 0, "false": 1}
    before = DOC.read_text()
    result = graph_parts.score_panel("sim2", 0, True)
    lines = graph_parts.report([result])
    assert len([line for line in lines if line.startswith("| sim2 | 0 |")]) == len(result["rows"]) + 4
    effects = lines[2 : 2 + len(result["rows"])]
    assert all(line.startswith("| sim2 | 0 |") for line in effects) and "nan" not in "".join(effects)
    assert DOC.read_text() == before


def test_target_edge_reads_draws_graphs_at_their_probabilities_and_prints_every_reading():
    """The print-only check of the channel → target pairs' readings: a drawn graph holds each edge at its
    probability (0 and 1 exactly, one half about half the time), every reading prints a filled row, and the page is
    left alone."""
    from benchmarks import target_edge_reads

    prob = np.array([[[0.0, 1.0], [0.5, 0.0]]])
    graphs = target_edge_reads.drawn_graphs(prob, 4000, np.random.default_rng(0))
    assert graphs.shape == (4000, 1, 2, 2) and set(np.unique(graphs)) <= {0.0, 1.0}
    assert graphs[:, 0, 0, 1].all() and not graphs[:, 0, 0, 0].any()
    assert abs(graphs[:, 0, 1, 0].mean() - 0.5) < 0.03
    before = DOC.read_text()
    result = target_edge_reads.score_panel("sim2", 0, True)
    rows = [line for line in target_edge_reads.report([result]) if line.startswith("| sim2 | 0 |")]
    assert len(rows) == 5 and "nan" not in "".join(rows)
    assert DOC.read_text() == before
