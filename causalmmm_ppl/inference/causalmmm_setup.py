"""What a CausalMMM fit starts from: the model and guide built for a panel, and the panel scaled, standardised and
prepared as tensors (:class:`TrainingSetup`)."""

from __future__ import annotations

from typing import NamedTuple

import torch

from causalmmm_ppl.data.calendar import calendar_features
from causalmmm_ppl.data.panel import Panel
from causalmmm_ppl.inference.causalmmm_data import Standardisation
from causalmmm_ppl.inference.distributed import Shard
from causalmmm_ppl.inference.guide import AmortizedGuide
from causalmmm_ppl.inference.svi import TrainingData
from causalmmm_ppl.models.causalmmm import CausalMMM
from causalmmm_ppl.models.settings import CausalMMMSettings
from causalmmm_ppl.models.spec import expert_edge_mask, pair_priors, prior_matrix


def build_model(panel: Panel, settings: CausalMMMSettings) -> tuple[CausalMMM, AmortizedGuide]:
    """Model and guide for a panel's nodes and context (weights freshly initialised from the torch RNG)."""
    spec, inf = settings.model, settings.inference
    rho = prior_matrix(spec, panel.nodes, panel.node_kinds)
    k = panel.context.shape[1]
    fixed = expert_edge_mask(panel.nodes, pair_priors(spec, panel.nodes, panel.node_kinds))
    model = CausalMMM(panel.nodes, panel.node_kinds, k, calendar_features(panel.dates[:1]).shape[1], rho, spec, fixed,
                      n_controls=len(panel.control_names), window=inf.window)
    guide = AmortizedGuide(model, k, inf.encoder_hidden, inf.screen_weight)
    return model, guide


class TrainingSetup(NamedTuple):
    """What SVI starts from (:func:`training_setup`): the modules at their initial weights, the prepared panel, the
    standardisation a fit keeps and the settings it trains with (those left to the panel's size set by it)."""

    model: CausalMMM
    guide: AmortizedGuide
    data: TrainingData
    standardisation: Standardisation
    settings: CausalMMMSettings


def training_setup(panel: Panel, settings: CausalMMMSettings, seed: int, shard: Shard | None = None
                   ) -> TrainingSetup:
    """Scale and standardise a training panel, prepare its tensors and build the model and guide (weights seeded by
    ``seed``: every process of a data-parallel fit starts from the same; the processes share out the features,
    :func:`~causalmmm_ppl.inference.causalmmm_data.prepare_data`). With ``shard.local``, ``panel`` is this process's
    shops only: the data are its own, the standardisation the whole panel's
    (:meth:`~causalmmm_ppl.inference.causalmmm_data.Standardisation.of_shards`). Settings left to the panel's size
    are set here, and only here, by the whole panel's number of shops (:meth:`~causalmmm_ppl.models.settings.
    CausalMMMSettings.for_shops`); ``TrainingSetup.settings`` holds them."""
    if shard is not None and shard.local:
        own, std = Standardisation.of_shards(panel, shard)
    else:
        own = std = Standardisation.of(panel)
    settings = settings.for_shops(std.scaler.n_shops, parallel=shard is not None and shard.parallel)
    torch.manual_seed(seed)
    model, guide = build_model(panel, settings)
    return TrainingSetup(model, guide, own.prepare(panel, settings.model, shard=shard), std, settings)
