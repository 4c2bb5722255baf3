"""A CausalMMM run directory: what :meth:`CausalMMMFit.save` writes and :meth:`CausalMMMFit.load` reads.

``weights.safetensors`` (the model's and guide's state dicts, and those of the other runs a fit keeps under
``mixed_runs``), ``fit.json`` (settings, schema, scalers, standardisations, training log, population layers) and
``train_panel.parquet``. Nothing read is executed: weights
are safetensors (or, for runs of earlier versions, a ``weights.pt`` read by torch's tensors-only loader), the rest
JSON and Parquet.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import torch

from causalmmm_ppl._tensor_store import load_tree, save_tree
from causalmmm_ppl.data.panel import ColumnSpec, Panel
from causalmmm_ppl.errors import InputError
from causalmmm_ppl.inference.causalmmm_data import Schema, Standardisation
from causalmmm_ppl.inference.causalmmm_pooling import pooled_candidates
from causalmmm_ppl.inference.causalmmm_setup import build_model
from causalmmm_ppl.inference.edge_population import EdgePopulation
from causalmmm_ppl.inference.guide import AmortizedGuide
from causalmmm_ppl.inference.mmm_fit import run_format
from causalmmm_ppl.inference.svi import TrainingLog
from causalmmm_ppl.models.causalmmm import CausalMMM
from causalmmm_ppl.models.response import family_of
from causalmmm_ppl.models.settings import CausalMMMSettings

if TYPE_CHECKING:
    from causalmmm_ppl.inference.causalmmm_fit import CausalMMMFit

#: The run format ``fit.json`` declares: 2 saves the settings by group (``settings``); 1 (no ``format`` key) is one
#: flat ``spec``. Both are read.
RUN_FORMAT = 2

WEIGHTS_NAME = "weights.safetensors"
LEGACY_WEIGHTS_NAME = "weights.pt"  # earlier versions; read only through torch's tensors-only loader


class SavedRun(NamedTuple):
    """The parts of a fit that :func:`read_run` returns, in the order of :class:`CausalMMMFit`'s constructor."""

    model: CausalMMM
    guide: AmortizedGuide
    settings: CausalMMMSettings
    schema: Schema
    standardisation: Standardisation
    train_panel: Callable[..., Panel]  # reads the training panel when first needed
    log: TrainingLog
    seed: int
    svi_runs: tuple[dict, ...]
    mixed_runs: tuple[tuple[CausalMMM, AmortizedGuide], ...]


def write_run(fit: "CausalMMMFit", directory: str | os.PathLike) -> None:
    """Write everything needed to reload and predict: weights, settings, schema, scalers, training panel."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    weights = {"model": fit.model.state_dict(), "guide": fit.guide.state_dict()}
    if fit.mixed_runs:
        weights["mixed_runs"] = [{"model": m.state_dict(), "guide": g.state_dict()} for m, g in fit.mixed_runs]
    save_tree(weights, d / WEIGHTS_NAME)
    meta = {
        "format": RUN_FORMAT,
        "settings": fit.settings.to_dict(),
        "schema": fit.schema.to_dict(),
        **fit.standardisation.to_dict(),
        "seed": fit.seed,
        "loss": fit.log.loss,
        "seconds": fit.log.seconds,
        "svi_runs": list(fit.svi_runs),
        "edge_population": _population_dict(fit.guide),
        "mixed_edge_populations": [_population_dict(guide) for _, guide in fit.mixed_runs],
    }
    # part by part (a fit read shard by shard holds no whole panel), with the grid's dates (nominal ones for
    # numbered periods), so that it reads back without --freq
    writer = None
    try:
        for part in fit.train_panel_parts():
            meta.setdefault("period_index", part.period_index)
            table = pa.Table.from_pandas(dataclasses.replace(part, period_index=False).to_frame(), preserve_index=False)
            writer = writer or pq.ParquetWriter(d / "train_panel.parquet", table.schema)
            writer.write_table(table.cast(writer.schema))
    finally:
        if writer is not None:
            writer.close()
    (d / "fit.json").write_text(json.dumps(meta))


def read_run(directory: str | os.PathLike) -> SavedRun:
    """Read a run written by :func:`write_run`.

    Raises
    ------
    InputError
        ``directory`` is not a CausalMMM model directory, or a file in it is damaged or of another version (the
        message names the file and says to fit the run again).
    """
    from causalmmm_ppl.data.load import load_panel

    d = Path(directory)
    if not (d / "fit.json").exists():
        raise InputError(f"{d}: not a CausalMMM run (no fit.json); fit one with `causalmmm fit`")
    with run_file(d / "fit.json"):
        meta = json.loads((d / "fit.json").read_text())
    if isinstance(meta, dict):
        run_format(meta, RUN_FORMAT, d / "fit.json")  # its own message: a newer version's run is not damaged
    with run_file(d / "fit.json"):
        settings = _saved_settings(meta, d)
        schema = Schema.from_dict(meta["schema"])
        std = Standardisation.from_dict(meta)
        log = TrainingLog(loss=list(meta["loss"]), seconds=float(meta["seconds"]), steps_done=len(meta["loss"]))
        seed = int(meta["seed"])
        svi_runs = tuple(dict(run) for run in meta.get("svi_runs", ()))
        population = EdgePopulation.from_dict(meta["edge_population"]) if meta.get("edge_population") else None
        mixed_populations = [EdgePopulation.from_dict(p) if p else None for p in meta.get("mixed_edge_populations", [])]
    nodes = schema.nodes
    mediators = tuple(n for n, k in zip(nodes, schema.node_kinds) if k == "mediator")
    cols = ColumnSpec(target=nodes[-1], channels=nodes[:-1], mediators=mediators, context=schema.context_names,
                      controls=schema.control_names)
    train_file, numbered = d / "train_panel.parquet", bool(meta.get("period_index", False))

    def read_train_panel(first_shop_only: bool = False) -> Panel:
        import pyarrow.parquet as pq

        only = [("shop", "==", std.scaler.shops[0])] if first_shop_only else None
        with run_file(train_file):
            panel = load_panel(pq.read_table(train_file, filters=only).to_pandas(), cols)
        return dataclasses.replace(panel, period_index=numbered)

    # the networks' shapes come from the schema and one shop; the whole panel is read when first needed
    first_shop = read_train_panel(first_shop_only=True)
    state = read_weights(d)
    mixed_states = state.get("mixed_runs", [])
    if len(mixed_states) != len(mixed_populations):
        raise InputError(f"{d}: {WEIGHTS_NAME} holds {len(mixed_states)} mixed run(s), fit.json "
                         f"{len(mixed_populations)}; fit the run again")
    runs = [_read_networks(first_shop, settings, saved, kept_population, d)
            for saved, kept_population in zip([state, *mixed_states], [population, *mixed_populations])]
    (model, guide), mixed = runs[0], tuple(runs[1:])
    return SavedRun(model, guide, settings, schema, std, read_train_panel, log, seed, svi_runs, mixed)


def _read_networks(first_shop: Panel, settings: CausalMMMSettings, state: dict, population: EdgePopulation | None,
                   d: Path) -> tuple[CausalMMM, AmortizedGuide]:
    """One kept run's model and guide with their saved weights (``state``: ``{"model": …, "guide": …}``) and its
    population layer."""
    model, guide = build_model(first_shop, settings)
    try:
        model.load_state_dict(state["model"])
        guide.load_state_dict(state["guide"])
    except (KeyError, TypeError, RuntimeError) as exc:  # saved by a version whose networks had other shapes
        first = str(exc).strip().splitlines()[-1].strip() if str(exc).strip() else type(exc).__name__
        raise InputError(f"{d}: the saved weights do not fit this version's model ({first}); fit the run again"
                         ) from None
    if population is not None:
        guide.attach_population(population, pooled_candidates(model))
    return model, guide


def _population_dict(guide: AmortizedGuide) -> dict | None:
    """What ``fit.json`` records of a guide's population layer (None: the guide reports its own logits)."""
    return guide.population.to_dict() if guide.population is not None else None


@contextlib.contextmanager
def run_file(path: Path) -> Iterator[None]:
    """Turn any failure to read a saved file into one InputError naming it (a damaged run, or another version's)."""
    try:
        yield
    except InputError as exc:
        raise InputError(f"{path}: {exc}; fit the run again") from None
    except Exception as exc:  # whatever a damaged file makes a reader raise
        msg = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise InputError(f"{path}: unreadable ({type(exc).__name__}: {msg}); fit the run again") from None


def read_weights(d: Path) -> dict:
    """The saved ``{"model": state_dict, "guide": state_dict}``: ``weights.safetensors``, or the ``weights.pt`` of
    an earlier version through torch's tensors-only unpickler (``weights_only=True``: it refuses anything that
    would run code)."""
    if (d / WEIGHTS_NAME).exists():
        state = load_tree(d / WEIGHTS_NAME, hint="fit the run again")
    elif (d / LEGACY_WEIGHTS_NAME).exists():
        with run_file(d / LEGACY_WEIGHTS_NAME):
            state = torch.load(d / LEGACY_WEIGHTS_NAME, weights_only=True, map_location="cpu")
    else:
        raise InputError(f"{d}: no {WEIGHTS_NAME}; fit the run again")
    if not isinstance(state, dict):
        raise InputError(f"{d}: the saved weights are not a model's; fit the run again")
    return state


def _saved_settings(meta: dict, directory: Path) -> CausalMMMSettings:
    """The settings a run was fitted with: ``fit.json``'s ``settings`` (by group), or the flat ``spec`` of a run
    saved with all settings in one group, where settings added after it was saved are read as off (it ran so)."""
    if "settings" in meta:
        return CausalMMMSettings.from_dict(meta["settings"], where="fit.json settings")
    return CausalMMMSettings.from_dict({"graph_templates": 0, "learn_df": False, "edge_pooling": 0, "switching": False,
                                        "edge_score_df": 0.0, "collapse_restarts": 0,
                                        **_response_settings(meta["spec"], directory)}, where="fit.json spec")


def _response_settings(saved: dict, directory: Path) -> dict:
    """A saved run's settings with its response family by name: runs saved with the on/off switches ``saturation``
    and ``carryover`` (both on) read as the geometric carryover and Hill families they fitted.

    Raises
    ------
    InputError
        The run was saved with a switch off: its saved parameters hold a response parameter that the family
        ``"none"`` does not have.
    """
    if saved.get("carryover") is False or saved.get("saturation") is False:
        raise InputError(f"{directory}: fitted with saturation or carryover switched off, which runs of this version "
                         f"store differently; fit the run again (with --config setting adstock or saturation to "
                         f"'none')")
    family = family_of(saved)
    return {k: v for k, v in saved.items() if k != "carryover"} | {"adstock": family.adstock,
                                                                   "saturation": family.saturation}
