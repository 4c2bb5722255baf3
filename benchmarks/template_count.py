"""How the population layer chooses its number of graph templates, on development seeds.

Writes the section "Template count (development seeds)" of docs/benchmarks.md. For every scenario of
:mod:`benchmarks.graph_offhome` (same sizes) and development seed (100–103 by default; never the reported 0–2), one
CausalMMM fit with the default settings gives the encoder's logits of the training shops' pooled candidates. The
population layer is then fitted to the same logits with each rule for its number of templates K, and its edge
probabilities are scored against the truth with the metrics of "Graph recovery off home ground":

- **evidence** (the default): the Cheeseman–Stutz approximation of the marginal likelihood, among fits whose every
  template holds at least ``SHOPS_PER_TEMPLATE`` shops (:func:`causalmmm_ppl.inference.edge_population.occam_factors`);
- **BIC**: every template probability charged ½ log(shops);
- **K = 3** fixed (at most one template per ``SHOPS_PER_TEMPLATE`` shops), a reference;
- **encoder before pooling**: the guide's own probabilities, no layer.

All rules read the same fits, so they differ only in the layer. With the environment variable
``CAUSALMMM_BENCH_CACHE=DIR`` each fit's logits are kept in ``DIR/<scenario>_<seed>.npz`` and read back when there
(delete them to refit); the fits are the slow part (1–3 min each on one core).
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import numpy as np

from benchmarks._doc import by_scenario, mean_sd, panel_benchmark, section_head
from benchmarks.graph_offhome import QUICK, SIZES

TITLE = "## Template count (development seeds)"
SCENARIOS = ("sim3", "sources", "sim1", "sim2")
SEEDS = (100, 101, 102, 103)
RULES = ("evidence", "bic", "k3", "encoder")
LABELS = {
    "evidence": "evidence (Cheeseman–Stutz; default)",
    "bic": "BIC",
    "k3": "K = 3 fixed",
    "encoder": "encoder before pooling",
}
METRICS = ("auroc_mean", "across_shop_auroc_mean", "deviation_auroc_mean", "log_loss")


def fit_logits(scenario: str, seed: int, quick: bool) -> dict:
    """One default fit's pooled-candidate encoder logits and the truth (from the cache when there)."""
    cache = os.environ.get("CAUSALMMM_BENCH_CACHE")
    path = Path(cache) / f"{scenario}_{seed}.npz" if cache and not quick else None
    if path is not None and path.exists():
        with np.load(path) as f:
            return {k: f[k] for k in f.files} | {"seconds": np.nan}
    import torch

    from causalmmm_ppl.data.simulate import simulate
    from causalmmm_ppl.inference.causalmmm_fit import fit_causalmmm
    from causalmmm_ppl.inference.causalmmm_pooling import ENCODER_CHUNK, pooled_candidates
    from causalmmm_ppl.inference.edge_population import null_groups
    from causalmmm_ppl.models.settings import CausalMMMSettings

    from benchmarks.graph_recovery import candidate_mask

    sizes = {k: QUICK[k] for k in ("n_shops", "n_days")} if quick else SIZES.get(scenario, {})
    sim = simulate(scenario, seed=seed, **sizes)
    settings = CausalMMMSettings.of(**({"steps": QUICK["steps"]} if quick else {}))
    spec = settings.model
    t0 = time.perf_counter()
    fit = fit_causalmmm(sim.panel, settings, seed=seed, progress=False)
    seconds = time.perf_counter() - t0
    data, pooled = fit.training_data(), pooled_candidates(fit.model)
    with torch.no_grad():
        logits = torch.cat([fit.guide.encoder_logits(data.full_batch(idx, temperature=spec.temperature))[:, pooled]
                            for idx in torch.arange(data.x.shape[0]).split(ENCODER_CHUNK)])
    edge_index = fit.model.edge_index[pooled].numpy()
    out = {"logits": logits.double().numpy(), "edge_index": edge_index, "groups": null_groups(edge_index),
           "truth": sim.adjacency, "cand": candidate_mask(sim.panel, spec),
           "templates": np.asarray(sim.params["template"]), "prior": np.float64(spec.prior_prob),
           "K": np.int64(settings.outputs.edge_pooling)}
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **out)
    return out | {"seconds": seconds}


def score_panel(scenario: str, seed: int, quick: bool) -> dict:
    """Fit (or read) one panel's logits and score the layer under every rule (runs in a worker process)."""
    from causalmmm_ppl import _runtime

    _runtime.configure(1)
    from scipy.special import expit

    from causalmmm_ppl.evaluation.graph_metrics import edge_log_loss, graph_report
    from causalmmm_ppl.inference.edge_population import (
        FALSE_RATE,
        MISS_RATE,
        SHOPS_PER_TEMPLATE,
        best_em,
        fit_edge_population,
    )

    d = fit_logits(scenario, seed, quick)
    logits, truth, cand, templates, ei = d["logits"], d["truth"], d["cand"], d["templates"], d["edge_index"]
    prior, top = float(d["prior"]), int(d["K"])

    def matrix(post: np.ndarray) -> np.ndarray:
        out = np.zeros(truth.shape)
        out[:, ei[:, 0], ei[:, 1]] = post
        return out

    out: dict = {"scenario": scenario, "seed": seed, "shape": "×".join(map(str, (truth.shape[0], truth.shape[1]))),
                 "templates": int(len(np.unique(templates[templates >= 0]))), "seconds": float(d["seconds"])}
    for rule in RULES:
        k = 0
        if rule == "encoder":
            prob = matrix(expit(logits))
        else:
            if rule == "k3":  # K = 3 itself (at most one template per SHOPS_PER_TEMPLATE shops), read as the default
                k3 = min(3, logits.shape[0] // SHOPS_PER_TEMPLATE)
                pop = dataclasses.replace(best_em(logits, d["groups"], k3, prior, np.random.default_rng(seed))[0],
                                          miss_rate=MISS_RATE, false_rate=FALSE_RATE)
            else:
                pop = fit_edge_population(logits, d["groups"], prior, top, seed=seed, criterion=rule)
            k = pop.n_templates
            prob = matrix(pop.posterior(logits) if pop.separable else expit(logits))
        rep = graph_report(prob, truth, candidates=cand, templates=templates)
        out[rule] = {m: rep[m] for m in METRICS[:3]} | {"log_loss": edge_log_loss(prob, truth, cand), "K": k}
    return out


def render(results: list[dict], command: str, seeds: tuple[int, ...]) -> str:
    lines = [
        *section_head(TITLE, command),
        "",
        f"Development seeds {', '.join(map(str, seeds))} only: how the default rule for the population layer's number "
        "of templates K was chosen; no reported figure comes from here. One default CausalMMM fit per panel; every "
        "rule is the layer refitted to that fit's encoder logits, so rows differ only in the layer. Metrics as in "
        "\"Graph recovery off home ground\" (candidate pairs; log loss of the edge probabilities, nats). Mean ± sd "
        "over seeds; `K` the mean number of templates chosen.",
        "",
        "| scenario | rule | K | per-shop AUROC | across-shop AUROC | deviation AUROC | log loss |",
        "|---|---|---|---|---|---|---|",
    ]
    for scenario, rows in by_scenario(results).items():
        name = f"{scenario} ({rows[0]['shape']}, {rows[0]['templates']} templates)"
        for rule in RULES:
            ks = "–" if rule == "encoder" else f"{np.mean([r[rule]['K'] for r in rows]):.2f}"
            cells = [mean_sd([r[rule][m] for r in rows]) for m in METRICS]
            lines.append(f"| {name} | {LABELS[rule]} | {ks} | " + " | ".join(cells) + " |")
    by_seed = "; ".join(
        f"{s}: " + ", ".join(f"{r['seed']} → {r['evidence']['K']} (BIC {r['bic']['K']})"
                             for r in results if r["scenario"] == s)
        for s in dict.fromkeys(r["scenario"] for r in results))
    lines += ["", f"K chosen by seed, evidence (BIC): {by_seed}.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return panel_benchmark(argv, module="benchmarks.template_count", title=TITLE, description=__doc__.splitlines()[0],
                           scenarios=SCENARIOS, seeds=SEEDS, quick_seeds=(100,), score_panel=score_panel,
                           render=render)


if __name__ == "__main__":
    raise SystemExit(main())
