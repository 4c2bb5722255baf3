"""The population layer of a fitted CausalMMM: the encoder's logits of the training shops' ordinary candidate edges,
pooled by :mod:`causalmmm_ppl.inference.edge_population` and attached to the guide; and how far those logits moved
from the prior (:func:`edge_information`, the check of a collapsed SVI run)."""

from __future__ import annotations

import numpy as np
import torch

from causalmmm_ppl.inference.edge_population import SHOPS_PER_TEMPLATE, EdgePopulation, fit_edge_population, null_groups
from causalmmm_ppl.inference.guide import AmortizedGuide
from causalmmm_ppl.inference.svi import TrainingData
from causalmmm_ppl.models.causalmmm import CausalMMM
from causalmmm_ppl.models.settings import CausalMMMSettings
from causalmmm_ppl.models.spec import CausalMMMSpec

ENCODER_CHUNK = 1024  # shops per encoder pass


def pooled_candidates(model: CausalMMM) -> torch.Tensor:
    """(edge,) bool: the ordinary candidates a population layer pools (expert, required and forbidden pairs keep
    their prior: ``model.expert_edges``, the pairs of ``spec.pair_priors``)."""
    rho = model.rho[model.edge_index[:, 0], model.edge_index[:, 1]]
    return ~model.expert_edges & (rho > 0) & (rho < 1)


def pool_edges(model: CausalMMM, guide: AmortizedGuide, logits: torch.Tensor, settings: CausalMMMSettings, seed: int,
               progress: bool = False) -> None:
    """Fit the population layer (``settings.outputs.edge_pooling``) to the training shops' encoder logits
    (``logits``: (shop, edge), :func:`encoder_logits`) and attach it to the guide. The guide's own logits stay with
    fewer than ``SHOPS_PER_TEMPLATE`` shops, with nothing to pool, or when the fitted layer cannot tell present edges
    from the null's spread (``EdgePopulation.separable``)."""
    pooled = pooled_candidates(model)
    guide.attach_population(None, pooled)
    n_shops = logits.shape[0]
    if not settings.outputs.edge_pooling or n_shops < SHOPS_PER_TEMPLATE or not bool(pooled.any()):
        return
    population = fit_population_layer(model, logits, settings, seed, progress)
    if population.separable:
        guide.attach_population(population, pooled)


def fit_population_layer(model: CausalMMM, logits: torch.Tensor, settings: CausalMMMSettings, seed: int,
                         progress: bool = False, criterion: str = "evidence") -> EdgePopulation:
    """The population layer of ``settings.outputs`` (its templates, score tails and error rates) fitted to the
    training shops' encoder logits (``logits``: (shop, edge), :func:`encoder_logits`) of the pooled candidates
    (:func:`pooled_candidates`), whether or not it would be used; ``criterion`` chooses its number of templates
    (:func:`~causalmmm_ppl.inference.edge_population.fit_edge_population`)."""
    spec, out = settings.model, settings.outputs
    pooled = pooled_candidates(model)
    edges = model.edge_index[pooled].numpy()
    classes = edge_classes(edges, model.node_kinds) if out.edge_template_prior == "class" else None
    return fit_edge_population(logits[:, pooled].double().numpy(), null_groups(edges), spec.prior_prob,
                               out.edge_pooling, seed=seed, progress=progress, miss_rate=out.edge_miss_rate,
                               false_rate=out.edge_false_rate, df=out.edge_score_df, criterion=criterion,
                               edge_class=classes)


def edge_classes(edge_index: np.ndarray, node_kinds) -> np.ndarray:
    """Class of each edge by the kinds of its cause and its effect (channel → mediator, ...), numbered 0..C-1 over
    the classes present: ``edge_index`` (edge, 2) cause, effect; ``node_kinds`` (node,) → (edge,) int."""
    kinds = np.asarray(node_kinds)[np.asarray(edge_index)]  # (edge, 2)
    return np.unique(np.char.add(np.char.add(kinds[:, 0], ">"), kinds[:, 1]), return_inverse=True)[1].reshape(-1)


def encoder_logits(guide: AmortizedGuide, data: TrainingData, spec: CausalMMMSpec) -> torch.Tensor:
    """The encoder's own edge logits of every shop of ``data``: (shop, edge), no gradient; the encoder pass streams
    shops in chunks."""
    with torch.no_grad():
        return torch.cat([
            guide.encoder_logits(data.full_batch(idx, temperature=spec.temperature))
            for idx in torch.arange(data.x.shape[0]).split(ENCODER_CHUNK)
        ])


def edge_information(model: CausalMMM, guide: AmortizedGuide, data: TrainingData, spec: CausalMMMSpec) -> float:
    """What the encoder learned about the graphs: KL(q || prior) of its Bernoulli edge probabilities from their
    prior probabilities, in nats, averaged over the training shops' ordinary candidates (:func:`pooled_candidates`).

    0 when every edge probability sits at its prior. An SVI run can end so (a collapsed run: the decoder learned to
    do without edges early in training and the encoder followed the prior);
    ``CausalMMMInference.collapse_information`` is the level below which :func:`~causalmmm_ppl.inference.causalmmm_fit.fit_causalmmm` counts a run as collapsed.
    """
    pooled = pooled_candidates(model)
    if not bool(pooled.any()):
        return 0.0
    logit = encoder_logits(guide, data, spec)[:, pooled]
    return float(bernoulli_kl(logit.double(), model.prior_logit[pooled].double()).mean())


def bernoulli_kl(logit: torch.Tensor, prior_logit: torch.Tensor) -> torch.Tensor:
    """KL(Bernoulli(sigmoid(logit)) || Bernoulli(sigmoid(prior_logit))) in nats, elementwise (broadcasting)."""
    q = torch.sigmoid(logit)
    log_sig = torch.nn.functional.logsigmoid
    return q * (log_sig(logit) - log_sig(prior_logit)) + (1 - q) * (log_sig(-logit) - log_sig(-prior_logit))
