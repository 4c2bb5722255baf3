"""The HTML report of a run (``causalmmm report RUN --out report.html``).

:func:`build_report` reads the run directory (:mod:`.run`), draws the figures of :mod:`causalmmm_ppl.plots` into
sections (:mod:`.sections`) and renders one self-contained page (:mod:`.html`): data summary, graph(s) or media
effects, response curves, forecasts with intervals, diagnostics, and the fit settings.
"""

from __future__ import annotations

import os
from pathlib import Path

from causalmmm_ppl._io import atomic_file
from causalmmm_ppl.reporting import sections as S
from causalmmm_ppl.reporting.html import render_page
from causalmmm_ppl.reporting.run import RunContents, read_run

__all__ = ["build_report", "write_report", "read_run", "RunContents"]

MAX_SHOPS = 4
"""Shops drawn per figure (the first ones of the run)."""

#: A report's title by run kind (another registered kind is titled by its name)
TITLES = {"causalmmm": "CausalMMM", "btvc": "BTVC"}


def build_report(run: str | os.PathLike[str], *, max_shops: int = MAX_SHOPS,
                 effects: str | os.PathLike[str] | None = None, curves: str | os.PathLike[str] | None = None) -> str:
    """The HTML page of a run directory of any registered model; ``effects`` and ``curves``: tables written by
    ``causalmmm effects`` (``--out``, ``--curves``) to show as well.

    Raises
    ------
    ValueError
        ``run`` is not a run directory, or one of its files is unreadable.
    """
    contents = read_run(run, effects=effects, curves=curves)
    shops = [str(s) for s in contents.idata.observed_data["shop"].values][:max_shops]
    # what the run has decides its sections: a graph (edges), time-varying media effects, given effect tables
    post = contents.idata.posterior
    model_sections = []
    if "edges" in contents.tables or "edge" in post:
        model_sections.append(S.graph_section(contents, shops))
    if "contribution_shares" in contents.tables or "beta" in post:
        model_sections.append(S.effects_section(contents, shops))
    if "channel_effects" in contents.tables or "response_curves" in contents.tables:
        model_sections.append(S.channel_effects_section(contents))
    title = f"{TITLES.get(contents.kind, contents.kind)} run report"
    sections = [S.data_section(contents), *model_sections, S.response_section(contents, shops),
                S.forecast_section(contents, shops), S.diagnostics_section(contents), S.settings_section(contents)]
    attrs = contents.idata.posterior.attrs
    subtitle = (f"run {contents.path.resolve()} · model {contents.kind} · inference {attrs.get('inference', '?')} · "
                f"target {attrs.get('target_name', '?')} · created {attrs.get('created_at', '?')}")
    return render_page(title, subtitle, sections)


def write_report(run: str | os.PathLike[str], out: str | os.PathLike[str], *, max_shops: int = MAX_SHOPS,
                 effects: str | os.PathLike[str] | None = None, curves: str | os.PathLike[str] | None = None) -> Path:
    """Build the report of ``run`` (and ``effects``, ``curves``: see :func:`build_report`) and write it to ``out``
    atomically (nothing is written on error)."""
    page = build_report(run, max_shops=max_shops, effects=effects, curves=curves)
    with atomic_file(out) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return Path(out)
