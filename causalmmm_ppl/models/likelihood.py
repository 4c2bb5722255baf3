"""The CausalMMM observation model: one distribution over every node of a day, spend-aware for channels.

Mediators and the target are scored by a Student-t (or Normal) around the decoder's location on the scaled values.
Channels ("hurdle" spend model) are spend: zero on days a channel is off, positive otherwise, with effects that act
multiplicatively (a campaign doubles spend, a budget rule trims it by a share). Their likelihood is a hurdle::

    P(x = 0)          = 1 - sigmoid(l)
    p(x | x > 0)      = StudentT(log x; loc, sigma) / x

with ``l`` the decoder's on-logit and ``loc`` its location for log-spend. On the identity scale the zero days and
the bursts swamp a budget effect (a parent's quiet week trimming a child's spend by a third); on log-spend among
active days it is a shift of the mean, and a true parent buys more log-likelihood per day there
(``docs/benchmarks.md``, "Edge diagnostics").
"""

from __future__ import annotations

from dataclasses import dataclass

import pyro.distributions as dist
import torch
from pyro.distributions.torch_distribution import TorchDistribution
from torch.distributions import constraints

LOG_CLAMP = 12.0  # largest log-spend a sample may take (scaled spend ~ e^12 = 1.6e5 times its mean)


def log_active(x: torch.Tensor) -> torch.Tensor:
    """``log x`` where ``x > 0``, 0 elsewhere (no NaN or -inf on zero-spend days, and no gradient through them)."""
    return torch.where(x > 0, x, torch.ones_like(x)).log()


def spend_view(x: torch.Tensor, log_nodes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A node's values on the scale the hurdle spend model works on (what the decoder reads of a node's own past and
    what the guide's screen regresses an effect on).

    Parameters
    ----------
    x : (..., node, ...) scaled values (>= 0 for log nodes)
    log_nodes : bool, broadcastable to ``x``: the hurdle nodes

    Returns
    -------
    value : log-spend on active days (0 when off) for log nodes, ``x`` itself for the others
    active : 1 on active days of log nodes, 0 when off and for the other nodes (``x``'s dtype)
    """
    return torch.where(log_nodes, log_active(x), x), (log_nodes & (x > 0)).to(x.dtype)


def holds_level(x: torch.Tensor, log_nodes: torch.Tensor) -> torch.Tensor:
    """Whether a node's value carries its level on the scale of :func:`spend_view`: on active days for log nodes,
    on every day for the others (bool, ``x``'s shape). These are the days a log node's log-spend is scored on and
    regressed on, and the days its latest value holds its weekly profile."""
    return ~log_nodes | (x > 0)


@dataclass
class Prediction:
    """The decoder's one-step-ahead prediction for every node.

    Attributes
    ----------
    loc : (..., node) location: of the scaled value, or of log-spend for hurdle nodes
    on_logit : (..., node) logit of a hurdle node being active (non-zero) that day; unused elsewhere

    Indexing and reshaping act on both tensors alike (``pred[:, k:]``, ``pred.reshape(...)``).
    """

    loc: torch.Tensor
    on_logit: torch.Tensor

    def __getitem__(self, index) -> "Prediction":
        return Prediction(self.loc[index], self.on_logit[index])

    def shifted(self, shift: torch.Tensor) -> "Prediction":
        """The same prediction with ``shift`` added to the location."""
        return Prediction(self.loc + shift, self.on_logit)

    def switched(self, shift: torch.Tensor) -> "Prediction":
        """The same prediction with ``shift`` added to the on-logit."""
        return Prediction(self.loc, self.on_logit + shift)

    def reshape(self, *shape) -> "Prediction":
        return Prediction(self.loc.reshape(*shape), self.on_logit.reshape(*shape))

    @staticmethod
    def cat(parts: "list[Prediction]", dim: int = 0) -> "Prediction":
        """Predictions joined along ``dim`` (both tensors alike)."""
        return Prediction(torch.cat([p.loc for p in parts], dim), torch.cat([p.on_logit for p in parts], dim))

    @property
    def shape(self) -> torch.Size:
        return self.loc.shape


class NodeLikelihood(TorchDistribution):
    """Independent per-node observations of one or more days: hurdle log-scale for ``hurdle`` nodes, location-scale
    for the others.

    Parameters
    ----------
    pred : the decoder's prediction, tensors ``(..., node)``
    scale : (node,) observation scale (of the value, or of log-spend for hurdle nodes)
    hurdle : (node,) bool, nodes with the hurdle spend model
    df : Student-t degrees of freedom, a number or ``(node,)``; ``None`` for a Normal

    The batch shape is ``pred.shape``; values are scaled values ``(..., node)`` (>= 0 for hurdle nodes).
    """

    arg_constraints: dict = {}
    support = constraints.real
    has_rsample = False

    def __init__(self, pred: Prediction, scale: torch.Tensor, hurdle: torch.Tensor,
                 df: float | torch.Tensor | None = 5.0,
                 validate_args: bool | None = None) -> None:
        self.pred, self.hurdle, self.df = pred, hurdle, df
        self.scale = scale.expand(pred.shape)
        super().__init__(batch_shape=pred.shape, event_shape=torch.Size(), validate_args=False)

    def _base(self) -> dist.Distribution:
        if self.df is None:
            return dist.Normal(self.pred.loc, self.scale)
        return dist.StudentT(torch.as_tensor(self.df, dtype=self.scale.dtype), self.pred.loc, self.scale)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """Pointwise log density ``(..., node)``: with respect to Lebesgue measure on positive spend (and a point
        mass at zero) for hurdle nodes, on the value itself for the others."""
        base = self._base()
        if not bool(self.hurdle.any()):
            return base.log_prob(value)
        on = value > 0
        log_value = log_active(value)
        hurdle_lp = torch.where(
            on,
            torch.nn.functional.logsigmoid(self.pred.on_logit) + base.log_prob(log_value) - log_value,
            torch.nn.functional.logsigmoid(-self.pred.on_logit),
        )
        return torch.where(self.hurdle, hurdle_lp, base.log_prob(value))

    def sample(self, sample_shape: torch.Size = torch.Size()) -> torch.Tensor:
        """Draws ``sample_shape + (..., node)`` of scaled values (hurdle nodes: 0 when off, ``exp`` of a log-scale
        draw when on)."""
        with torch.no_grad():
            draw = self._base().sample(sample_shape)
            if not bool(self.hurdle.any()):
                return draw
            on = torch.bernoulli(torch.sigmoid(self.pred.on_logit).expand(draw.shape))
            spend = on * torch.exp(draw.clamp(max=LOG_CLAMP))
            return torch.where(self.hurdle, spend, draw)

    def expand(self, batch_shape, _instance=None) -> "NodeLikelihood":
        batch_shape = torch.Size(batch_shape)
        pred = Prediction(self.pred.loc.expand(batch_shape), self.pred.on_logit.expand(batch_shape))
        return NodeLikelihood(pred, self.scale.expand(batch_shape), self.hurdle, self.df)

    def select(self, mask: torch.Tensor) -> "NodeLikelihood":
        """The same likelihood restricted to the nodes in ``mask: (node,) bool`` (last axis)."""
        pred = Prediction(self.pred.loc[..., mask], self.pred.on_logit[..., mask])
        df = self.df[..., mask] if isinstance(self.df, torch.Tensor) and self.df.ndim else self.df
        return NodeLikelihood(pred, self.scale[..., mask], self.hurdle[mask], df)
