"""Per-shop, per-node affine scaling of panel values (``scaled = (value - loc) / scale``) and its inverse."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from causalmmm_ppl.data.panel import Panel
from causalmmm_ppl.errors import InputError

__all__ = ["PanelScaler", "SCALING_METHODS"]

SCALING_METHODS = ("mean", "max", "standard")
# A scale this small relative to the data's magnitude (or to 1) is rounding noise of a constant series: use 1.
_TINY = 1e-12


def _masked_stats(values: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per (shop, node) over time: count, mean, mean |x|, max |x| and std of the observed values.

    Parameters
    ----------
    values, observed : (shop, time, node)

    Returns
    -------
    count, mean, abs_mean, abs_max, std : (shop, node); 0 where nothing is observed
    """
    w = observed.astype(np.float64)
    x = np.where(observed, values, 0.0)
    count = w.sum(1)
    denom = np.maximum(count, 1.0)
    mean = x.sum(1) / denom
    abs_mean = np.abs(x).sum(1) / denom
    abs_max = np.abs(x).max(1) if x.shape[1] else np.zeros_like(count)
    var = (w * (x - mean[:, None, :]) ** 2).sum(1) / denom
    return count, mean, abs_mean, abs_max, np.sqrt(var)


@dataclass
class PanelScaler:
    """Per-shop, per-node affine scaling: ``scaled = (value - loc) / scale``.

    Attributes
    ----------
    loc : (shop, node) float64
    scale : (shop, node) float64, > 0
    method
        How it was fitted (``"mean"``, ``"max"``, ``"standard"``), kept for the record.
    shops : (shop,) str, optional
        Shop names the rows belong to (for :meth:`shop_index_of`).
    nodes : (node,) str, optional
    """

    loc: np.ndarray
    scale: np.ndarray
    method: str = "mean"
    shops: tuple[str, ...] = field(default=())
    nodes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        self.loc = np.asarray(self.loc, dtype=np.float64)
        self.scale = np.asarray(self.scale, dtype=np.float64)
        self.shops = tuple(str(s) for s in self.shops)
        self.nodes = tuple(str(n) for n in self.nodes)
        if self.loc.ndim != 2 or self.loc.shape != self.scale.shape:
            raise ValueError(f"loc {self.loc.shape} and scale {self.scale.shape} must be the same (shop, node) shape")
        if not (np.all(np.isfinite(self.scale)) and np.all(self.scale > 0) and np.all(np.isfinite(self.loc))):
            raise ValueError("scale must be finite and > 0, loc finite")

    # --------------------------------------------------------------------------------------------- fitting
    @classmethod
    def fit(cls, panel: Panel, method: str = "mean") -> PanelScaler:
        """Fit on the observed values of a panel.

        Parameters
        ----------
        panel
            Values (shop, time, node) with their observation mask.
        method
            ``"mean"``: loc 0, scale = mean of the observed |values| per shop and node (the mean for spend, which
            is >= 0, so scaled spend stays >= 0); ``"max"``: loc 0, scale = max |value|; ``"standard"``:
            loc = mean, scale = standard deviation. A scale that would be 0 (below ``1e-12 * max(max |value|, 1)``,
            i.e. a constant series up to rounding) or that has nothing observed is 1.

        Returns
        -------
        PanelScaler
        """
        if method not in SCALING_METHODS:
            raise InputError(f"unknown scaling method {method!r}; use one of {', '.join(SCALING_METHODS)}")
        count, mean, abs_mean, abs_max, std = _masked_stats(panel.values, panel.observed)
        loc = np.zeros_like(mean)
        if method == "mean":
            scale = abs_mean
        elif method == "max":
            scale = abs_max
        else:
            loc, scale = mean, std
        usable = (count > 0) & np.isfinite(scale) & (scale > _TINY * np.maximum(abs_max, 1.0))
        scale = np.where(usable, scale, 1.0)
        return cls(loc=loc, scale=scale, method=method, shops=panel.shops, nodes=panel.nodes)

    # ------------------------------------------------------------------------------------------- shapes
    @property
    def n_shops(self) -> int:
        return self.loc.shape[0]

    @property
    def n_nodes(self) -> int:
        return self.loc.shape[1]

    def shop_index_of(self, shops: Sequence[str]) -> np.ndarray:
        """(shop,) positions of named shops; an unknown shop is an InputError."""
        pos = {s: i for i, s in enumerate(self.shops)}
        missing = [s for s in shops if s not in pos]
        if missing:
            raise InputError(f"shop {missing[0]!r} was not seen when the scaler was fitted")
        return np.array([pos[s] for s in shops], dtype=np.int64)

    def _params(self, shop_index: np.ndarray | Sequence[int] | None, node: int | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
        """loc and scale shaped to broadcast against (..., shop, time, node) or, for one node, (..., shop, time)."""
        loc, scale = self.loc, self.scale
        if shop_index is not None:
            idx = np.asarray(shop_index, dtype=np.int64)
            loc, scale = loc[idx], scale[idx]
        if node is not None:
            return loc[:, node, None], scale[:, node, None]
        return loc[:, None, :], scale[:, None, :]

    # ------------------------------------------------------------------------------------------- mapping
    def transform(self, values: np.ndarray, shop_index: np.ndarray | Sequence[int] | None = None) -> np.ndarray:
        """Original units → scaled units.

        Parameters
        ----------
        values : (..., shop, time, node)
            Leading batch dims broadcast. The shop axis is the scaler's shops, or ``shop_index``'s entries.
        shop_index : (shop,) int, optional
            Which scaler row each entry of the shop axis uses (e.g. the shop of each window, or a subset of shops).

        Returns
        -------
        (..., shop, time, node) float64
        """
        loc, scale = self._params(shop_index)
        return (np.asarray(values, dtype=np.float64) - loc) / scale

    def inverse(self, values: np.ndarray, shop_index: np.ndarray | Sequence[int] | None = None) -> np.ndarray:
        """Scaled units → original units; the inverse of :meth:`transform` (same shapes)."""
        loc, scale = self._params(shop_index)
        return np.asarray(values, dtype=np.float64) * scale + loc

    def inverse_node(self, values: np.ndarray, node: int | str,
                     shop_index: np.ndarray | Sequence[int] | None = None) -> np.ndarray:
        """Scaled → original units for one node.

        Parameters
        ----------
        values : (..., shop, time)
        node
            Node position, or its name (needs ``nodes``); ``-1`` is the target.

        Returns
        -------
        (..., shop, time) float64
        """
        if isinstance(node, str):
            if node not in self.nodes:
                raise InputError(f"node {node!r} is not one of the scaler's nodes ({', '.join(self.nodes)})")
            node = self.nodes.index(node)
        loc, scale = self._params(shop_index, node=int(node))
        return np.asarray(values, dtype=np.float64) * scale + loc

    def transform_node(self, values: np.ndarray, node: int | str,
                       shop_index: np.ndarray | Sequence[int] | None = None) -> np.ndarray:
        """Original → scaled units for one node; values (..., shop, time)."""
        if isinstance(node, str):
            node = self.nodes.index(node)
        loc, scale = self._params(shop_index, node=int(node))
        return (np.asarray(values, dtype=np.float64) - loc) / scale

    # ------------------------------------------------------------------------------------------ saving
    def to_dict(self) -> dict:
        """JSON-serializable: lists of floats and strings."""
        return {
            "method": self.method,
            "loc": self.loc.tolist(),
            "scale": self.scale.tolist(),
            "shops": list(self.shops),
            "nodes": list(self.nodes),
        }

    @classmethod
    def from_dict(cls, d: dict) -> PanelScaler:
        """Rebuild from :meth:`to_dict`."""
        n_nodes = len(d.get("nodes", ())) or (len(d["loc"][0]) if len(d["loc"]) else 0)
        return cls(
            loc=np.asarray(d["loc"], dtype=np.float64).reshape(len(d["loc"]), n_nodes),
            scale=np.asarray(d["scale"], dtype=np.float64).reshape(len(d["scale"]), n_nodes),
            method=d.get("method", "mean"),
            shops=tuple(d.get("shops", ())),
            nodes=tuple(d.get("nodes", ())),
        )
