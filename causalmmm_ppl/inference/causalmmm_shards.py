"""A data-parallel CausalMMM fit whose processes read and hold their own shops only (``causalmmm fit --nproc N
--shops-per-chunk K``).

In the fit of :mod:`causalmmm_ppl.inference.distributed` every process reads and prepares the whole panel. Here
process ``r`` of ``W`` reads only shops ``r, r + W, …`` of the file, ``K`` shops at a time
(:meth:`~causalmmm_ppl.data.load.PanelChunks.shard`), and lays them on the whole panel's date grid; what needs every
shop is gathered as small per-shop arrays (each shop's context and scaling, the controls' sums:
:meth:`~causalmmm_ppl.inference.causalmmm_data.Standardisation.of_shards`). Each process then prepares and trains on
its own shops (:class:`~causalmmm_ppl.inference.distributed.Shard` with ``local``): minibatches, plate scale and
gradient averaging are those of the whole-panel fit, so with the same seed both give the same training. After
training every process encodes its own shops and process 0 receives their edge logits, ``(shop, edge)``: the
population layer and the edge probabilities need nothing else. Memory per process follows its shard, not the panel.

Process 0's fit reads the whole panel only when asked for something of every shop's series (forecasts, posterior
draws, InferenceData); it saves the training panel part by part.
"""

from __future__ import annotations

import dataclasses

from causalmmm_ppl.data.load import PanelChunks, load_panel
from causalmmm_ppl.data.panel import Panel, concat_shops, date_grid
from causalmmm_ppl.errors import InputError
from causalmmm_ppl.inference import distributed
from causalmmm_ppl.inference.causalmmm_fit import WholePanel, check_training_panel, fit_causalmmm
from causalmmm_ppl.inference.causalmmm_results import CausalMMMFit
from causalmmm_ppl.inference.distributed import Shard
from causalmmm_ppl.models.settings import CausalMMMSettings
from causalmmm_ppl.models.spec import CausalMMMSpec

__all__ = ["fit_causalmmm_shards", "read_shard"]


def fit_causalmmm_shards(chunks: PanelChunks, settings: CausalMMMSettings | CausalMMMSpec | None = None, *,
                         shard: Shard | None = None, **options) -> CausalMMMFit | None:
    """:func:`~causalmmm_ppl.inference.causalmmm_fit.fit_causalmmm` of the panel ``chunks`` reads, each process
    reading and holding its own shops only.

    Parameters
    ----------
    chunks : the training panel's reader, ``shops_per_chunk`` shops a part (:func:`~causalmmm_ppl.data.load.
        load_panel_chunks`)
    settings : as for :func:`~causalmmm_ppl.inference.causalmmm_fit.fit_causalmmm`
    shard : this process's place (default: from ``torchrun``'s environment; one process without it)
    options : the keywords of :func:`~causalmmm_ppl.inference.causalmmm_fit.fit_causalmmm` (``columns``, ``seed``,
        ``progress``, ``checkpoint_dir``, ``resume``, ``stop_after``, ``fingerprint``, ``device``)

    Returns
    -------
    The fit on process 0 (its whole training panel read from ``chunks`` when first needed), None on the others.
    """
    if chunks.n_shops is None:
        raise InputError("a fit read shard by shard needs --shops-per-chunk")
    shard = dataclasses.replace(shard or Shard.from_env(), local=True)
    if shard.world > chunks.n_shops:
        raise InputError(f"{shard.world} processes for {chunks.n_shops} shop(s): each process trains on its own "
                         f"shops; use {chunks.n_shops} process(es) or fewer")
    device = options.get("device", "cpu")
    distributed.training_device(device, shard)
    distributed.init(shard, device)
    panel = read_shard(chunks, shard)
    whole = WholePanel(read=lambda: load_panel(chunks.path, chunks.spec, **chunks.options), parts=lambda: iter(chunks))
    return fit_causalmmm(panel, settings, shard=shard, whole_panel=whole, **options)


def read_shard(chunks: PanelChunks, shard: Shard) -> Panel:
    """This process's shops of the panel that ``chunks`` reads (:meth:`Shard.shops`, in order), on the whole
    panel's date grid, checked as a training panel. The processes must have joined their group; a problem any
    process finds (a bad row, an empty target on a training day) is the same InputError on every process."""
    error, panel = None, None
    try:
        panel = concat_shops(list(chunks.shard(shard.rank, shard.world)))
        check_training_panel(panel, min_periods=0)  # the length is the whole grid's, checked by the fit
    except InputError as exc:
        error = str(exc)
    seen = distributed.gather(shard, (error, None if panel is None else (panel.dates[0], panel.dates[-1], panel.freq)))
    error = next((e for e, _ in seen if e is not None), None)
    freqs = sorted({b[2] for _, b in seen if b is not None})
    if error is None and len(freqs) > 1:
        error = (f"{chunks.path}: the shops' dates follow different frequencies ({', '.join(freqs)}); give --freq or "
                 f"read the panel whole (leave out --shops-per-chunk)")
    if error is not None:  # every process leaves the group before it stops, so none is stopped inside it
        distributed.finish(shard)
        raise InputError(error)
    return panel.on_dates(date_grid(min(b[0] for _, b in seen), max(b[1] for _, b in seen), freqs[0]))
