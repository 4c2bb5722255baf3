"""A simulator's day-by-day recursion with its inputs fixed, run whole or replayed under an intervention.

The simulators (:mod:`causalmmm_ppl.data.simulate`, :mod:`causalmmm_ppl.data.simulate_offhome`) draw their
parameters, graph and noise, then roll a recursion over the days, vectorised over shops and nodes. The true effects
and the allocation oracle (:mod:`causalmmm_ppl.data.effects_truth`) re-run that recursion many times with values
imposed on the last days only. :meth:`Recursion.replay` starts such a re-run on the first day the intervention
touches, from the state the factual run had that day: the days before it take the same inputs to the same values,
so the result equals a re-run from the first day, at a fraction of the cost. Numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Intervention:
    """Values imposed on a simulation: node j of shop n on day t takes ``value[n, t, j]`` (normalised units, i.e. in
    units of the node's ``scale``) where ``mask[n, t, j]``; every other cell follows the dynamics, with the same
    noise as without the intervention.

    Attributes
    ----------
    mask : (shop, time, node) bool
    value : (shop, time, node) float
    """

    mask: np.ndarray
    value: np.ndarray

    def apply(self, u_t: np.ndarray, t: int) -> np.ndarray:
        """Day ``t``'s values ``u_t: (shop, node)`` with the imposed cells replaced."""
        return np.where(self.mask[:, t], self.value[:, t], u_t)

    def first_day(self) -> int | None:
        """The first day any cell is imposed (None: no cell is)."""
        days = np.flatnonzero(np.asarray(self.mask).any(axis=(0, 2)))
        return int(days[0]) if days.size else None


class Recursion:
    """The day-by-day recursion of a simulator, its inputs (parameters, graph, noise) fixed.

    A subclass sets ``shape = (shop, node, time)`` and defines :meth:`initial` (the state before the first day) and
    :meth:`step` (one day). A state is a tuple of arrays that :meth:`step` never changes in place, so the factual
    run's states can be kept for :meth:`replay`.
    """

    shape: tuple[int, int, int]
    #: the factual run (shop, node, time) and its state before every day, kept by the first :meth:`replay`
    _factual: np.ndarray | None = None
    _states: list[tuple] | None = None

    def initial(self) -> tuple:
        """The state before day 0."""
        raise NotImplementedError

    def step(self, t: int, u: np.ndarray, state: tuple) -> tuple:
        """Write day ``t`` into ``u[:, :, t]`` (``u: (shop, node, time)``, days before ``t`` filled) and return the
        state after it (new arrays)."""
        raise NotImplementedError

    def run(self, intervention: Intervention | None = None, progress: bool = False) -> np.ndarray:
        """Every day from day 0.

        Returns
        -------
        (shop, time, node) normalised values
        """
        return self._roll(0, np.zeros(self.shape), self.initial(), intervention, progress).transpose(0, 2, 1)

    def replay(self, intervention: Intervention) -> np.ndarray:
        """The run under ``intervention``, from the first day it touches (the factual run before it).

        Returns
        -------
        (shop, time, node) normalised values, equal to :meth:`run` with the same intervention
        """
        if self._states is None:
            states: list[tuple] = []
            self._factual = self._roll(0, np.zeros(self.shape), self.initial(), None, False, keep=states)
            self._states = states
        first = intervention.first_day()
        u = self._factual.copy()
        if first is None:
            return u.transpose(0, 2, 1)
        return self._roll(first, u, self._states[first], intervention, False).transpose(0, 2, 1)

    def _roll(self, start: int, u: np.ndarray, state: tuple, intervention: Intervention | None, progress: bool,
              keep: list | None = None) -> np.ndarray:
        """Days ``start``… into ``u: (shop, node, time)`` from ``state`` (the state before ``start``); ``keep``
        collects the state before every day."""
        days = range(start, self.shape[2])
        if progress:
            from causalmmm_ppl._progress import progress as progress_bar

            days = progress_bar(days, desc="simulate", unit="day", leave=False)
        for t in days:
            if keep is not None:
                keep.append(state)
            state = self.step(t, u, state)
            if intervention is not None:
                u[:, :, t] = intervention.apply(u[:, :, t], t)
        return u
