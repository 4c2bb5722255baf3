"""What the CausalMMM fit reads from a panel: the run's schema (what new data must match), and the panel as the
model's tensors (scaled values, the decoder's calendar with the standardised controls, the encoder's features).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from causalmmm_ppl.data.calendar import calendar_features
from causalmmm_ppl.data.panel import ColumnSpec, Panel
from causalmmm_ppl.data.scaling import PanelScaler
from causalmmm_ppl.errors import InputError
from causalmmm_ppl.inference.distributed import Shard, all_sum, gather, gather_shops
from causalmmm_ppl.inference.features import ShopFeatures, shop_features
from causalmmm_ppl.inference.svi import TrainingData
from causalmmm_ppl.models.spec import CausalMMMSpec

__all__ = ["Schema", "link_values", "unlink_values", "model_calendar", "control_standardisation", "prepare_data"]

FEATURE_CHUNK = 128
KINDS = ("channel", "mediator", "target")


@dataclass
class Schema:
    """What a fitted run expects of new data: node names and kinds, context, frequency, column names and controls."""

    nodes: tuple[str, ...]
    node_kinds: tuple[str, ...]
    context_names: tuple[str, ...]
    freq: str
    columns: ColumnSpec | None = None
    control_names: tuple[str, ...] = ()

    @classmethod
    def of(cls, panel: Panel, columns: ColumnSpec | None = None) -> "Schema":
        return cls(panel.nodes, panel.node_kinds, panel.context_names, panel.freq, columns, panel.control_names)

    def check(self, panel: Panel, what: str = "data") -> None:
        """Raise InputError when ``panel`` does not have this run's nodes and context."""
        if tuple(panel.nodes) != self.nodes:
            raise InputError(
                f"{what}: nodes {', '.join(panel.nodes)} do not match the run's {', '.join(self.nodes)}"
            )
        if tuple(panel.node_kinds) != self.node_kinds:
            raise InputError(f"{what}: channel/mediator roles differ from the run's ({', '.join(self.node_kinds)})")
        if tuple(panel.context_names) != self.context_names:
            raise InputError(
                f"{what}: context columns {', '.join(panel.context_names) or '(none)'} do not match the run's "
                f"{', '.join(self.context_names) or '(none)'}"
            )
        if panel.freq != self.freq:
            raise InputError(f"{what}: date frequency {panel.freq} differs from the run's {self.freq}")
        if tuple(panel.control_names) != self.control_names:
            raise InputError(
                f"{what}: control columns {', '.join(panel.control_names) or '(none)'} do not match the run's "
                f"{', '.join(self.control_names) or '(none)'}"
            )

    def to_dict(self) -> dict:
        return {
            "nodes": list(self.nodes),
            "node_kinds": list(self.node_kinds),
            "context_names": list(self.context_names),
            "freq": self.freq,
            "columns": self.columns.to_dict() if self.columns else None,
            "control_names": list(self.control_names),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Schema":
        cols = ColumnSpec.from_dict(d["columns"]) if d.get("columns") else None
        return cls(tuple(d["nodes"]), tuple(d["node_kinds"]), tuple(d["context_names"]), d["freq"], cols,
                   tuple(d.get("control_names", ())))


def link_values(x_scaled: np.ndarray, link: str) -> np.ndarray:
    """Per-shop scaled values → the modelled values (``spec.link``)."""
    return np.log1p(np.maximum(x_scaled, 0.0)) if link == "log1p" else x_scaled


def unlink_values(y: np.ndarray, link: str) -> np.ndarray:
    """Modelled values → per-shop scaled values (the inverse of :func:`link_values`; negatives clip to 0)."""
    return np.expm1(np.maximum(y, 0.0)) if link == "log1p" else y


def _one_hot_kinds(kinds: tuple[str, ...]) -> torch.Tensor:
    return torch.tensor(np.eye(3)[[KINDS.index(k) for k in kinds]], dtype=torch.float32)


def model_calendar(panel: Panel, control_loc: np.ndarray, control_scale: np.ndarray) -> torch.Tensor:
    """What the decoder reads besides the nodes on each day: the calendar features, ``(time, n_calendar)``; with
    time-varying controls, each shop's standardised controls after them, ``(shop, time, n_calendar + control)``."""
    cal = torch.as_tensor(calendar_features(panel.dates))
    if not panel.control_names:
        return cal
    ctrl = (panel.controls - control_loc) / control_scale
    ctrl = torch.as_tensor(np.where(panel.mask[..., None], ctrl, 0.0), dtype=torch.float32)
    return torch.cat([cal.expand(panel.n_shops, -1, -1), ctrl], dim=-1)


def _context_standardisation(context: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation ``(context,)`` of the shops' context ``(shop, context)`` (1 for a constant one)."""
    if not context.shape[1]:
        return np.zeros(0), np.ones(0)
    scale = context.std(0)
    return context.mean(0), np.where(scale > 0, scale, 1.0)


def control_standardisation(panel: Panel) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation ``(control,)`` of each control over every shop's rows (1 for a constant one)."""
    rows = panel.controls[panel.mask]  # (row, control)
    if not len(rows):
        return np.zeros(len(panel.control_names)), np.ones(len(panel.control_names))
    scale = rows.std(0)
    return rows.mean(0), np.where(scale > 0, scale, 1.0)


@dataclass(frozen=True)
class Standardisation:
    """How a fit puts a panel on the model's scale, learned from the training panel and reused for every panel a run
    reads (:meth:`of`): each shop's node scaling, the context's and the time-varying controls' standardisation.

    Attributes
    ----------
    scaler : per-shop, per-node scaling of the training shops
    context_loc, context_scale : (context,) mean and standard deviation of the shops' context (1 for a constant one)
    control_loc, control_scale : (control,) the same for the controls, over every shop's rows
    """

    scaler: PanelScaler
    context_loc: np.ndarray
    context_scale: np.ndarray
    control_loc: np.ndarray
    control_scale: np.ndarray

    @classmethod
    def of(cls, panel: Panel) -> "Standardisation":
        """The standardisation of a training panel."""
        return cls(PanelScaler.fit(panel, method="mean"), *_context_standardisation(panel.context),
                   *control_standardisation(panel))

    @classmethod
    def of_shards(cls, panel: Panel, shard: Shard) -> tuple["Standardisation", "Standardisation"]:
        """The standardisation of a training panel that its processes hold shard by shard (:meth:`of` of the whole
        panel, up to the rounding of the controls' sums).

        Parameters
        ----------
        panel : this process's shops (:meth:`~causalmmm_ppl.inference.distributed.Shard.shops`, in order), on the
            whole panel's date grid
        shard : this process's place; the processes must have joined their group

        Returns
        -------
        local : this process's: its own shops' scaling, the whole panel's context and control statistics
        whole : the same with every shop's scaling (what the fit keeps)
        """
        context = gather_shops(torch.as_tensor(panel.context), shard).numpy()  # (shop, context): small
        n_shops = context.shape[0]
        rows = panel.controls[panel.mask]  # (row, control)
        count = all_sum(shard, [len(rows)])[0]
        if count:
            c_loc = all_sum(shard, rows.sum(0)) / count
            c_scale = np.sqrt(all_sum(shard, ((rows - c_loc) ** 2).sum(0)) / count)
            controls = (c_loc, np.where(c_scale > 0, c_scale, 1.0))
        else:
            controls = (np.zeros(len(panel.control_names)), np.ones(len(panel.control_names)))
        own = PanelScaler.fit(panel, method="mean")
        loc, scale = (gather_shops(torch.as_tensor(a), shard, n_shops).numpy() for a in (own.loc, own.scale))
        names = np.empty(n_shops, dtype=object)
        for rank, shops in enumerate(gather(shard, panel.shops)):
            names[Shard(rank, shard.world).shops(n_shops)] = shops
        stats = (*_context_standardisation(context), *controls)
        whole = PanelScaler(loc=loc, scale=scale, method=own.method, shops=tuple(names), nodes=own.nodes)
        return cls(own, *stats), cls(whole, *stats)

    def prepare(self, panel: Panel, spec: CausalMMMSpec, scaler: PanelScaler | None = None,
                shard: Shard | None = None) -> TrainingData:
        """:func:`prepare_data` with this standardisation (``scaler`` replaces the training shops' one)."""
        return prepare_data(panel, scaler or self.scaler, self.context_loc, self.context_scale, spec,
                            self.control_loc, self.control_scale, shard)

    def scaler_for(self, panel: Panel) -> PanelScaler:
        """The scaling of ``panel``'s shops: the training scaler's rows for shops seen in training, a scaler fitted
        on ``panel`` for new shops."""
        own = PanelScaler.fit(panel, method=self.scaler.method)
        known = {s: i for i, s in enumerate(self.scaler.shops)}
        loc, scale = own.loc.copy(), own.scale.copy()
        for k, shop in enumerate(panel.shops):
            if shop in known:
                loc[k], scale[k] = self.scaler.loc[known[shop]], self.scaler.scale[known[shop]]
        return PanelScaler(loc=loc, scale=scale, method=self.scaler.method, shops=panel.shops, nodes=panel.nodes)

    def calendar(self, panel: Panel) -> torch.Tensor:
        """:func:`model_calendar` of a panel with these controls' standardisation."""
        return model_calendar(panel, self.control_loc, self.control_scale)

    def to_dict(self) -> dict:
        """The run directory's entries (``fit.json``)."""
        return {"scaler": self.scaler.to_dict(), "context_loc": self.context_loc.tolist(),
                "context_scale": self.context_scale.tolist(), "control_loc": self.control_loc.tolist(),
                "control_scale": self.control_scale.tolist()}

    @classmethod
    def from_dict(cls, meta: dict) -> "Standardisation":
        """Read :meth:`to_dict`'s entries (runs saved before controls existed have none: no controls)."""
        return cls(PanelScaler.from_dict(meta["scaler"]), np.asarray(meta["context_loc"]),
                   np.asarray(meta["context_scale"]), np.asarray(meta.get("control_loc", []), dtype=float),
                   np.asarray(meta.get("control_scale", []), dtype=float))


def prepare_data(
    panel: Panel, scaler: PanelScaler, context_loc: np.ndarray, context_scale: np.ndarray, spec: CausalMMMSpec,
    control_loc: np.ndarray | None = None, control_scale: np.ndarray | None = None, shard: Shard | None = None,
) -> TrainingData:
    """Scale a panel and compute the encoder's features (in chunks of shops, to bound memory); controls are
    standardised with ``control_loc`` and ``control_scale`` (``(control,)``, needed when the panel has controls).
    With a ``shard`` of several processes (in their process group), each computes its own shops' features and
    every process receives all of them; with a ``shard`` whose panel holds its own shops only (``shard.local``),
    the features are this panel's."""
    x = link_values(np.where(panel.observed, scaler.transform(panel.values), 0.0), spec.link)
    xt = torch.as_tensor(x, dtype=torch.float32)
    observed = torch.as_tensor(panel.observed)
    valid = observed.all(-1)
    ctx = (panel.context - context_loc) / context_scale if panel.context.shape[1] else panel.context
    cal = model_calendar(panel, control_loc, control_scale)
    kinds = _one_hot_kinds(panel.node_kinds)
    log_nodes = torch.as_tensor(spec.hurdle_nodes(panel.node_kinds))
    shard = shard or Shard()
    mine = torch.as_tensor(shard.pool(panel.n_shops))
    parts = [
        shop_features(xt[idx], valid[idx], cal[idx] if cal.ndim == 3 else cal, kinds, spec.l_max, log_nodes)
        for idx in mine.split(FEATURE_CHUNK)
    ]
    whole = Shard() if shard.local else shard  # a shard-only panel's features are this process's alone
    feats = ShopFeatures(*(gather_shops(torch.cat(f), whole, panel.n_shops)
                           for f in ([p.node for p in parts], [p.edge for p in parts])))
    return TrainingData(xt, observed, valid, torch.as_tensor(ctx, dtype=torch.float32), cal, feats)
