"""Read a run directory into plain data for the report: its kind, InferenceData, result tables and settings.

A run's kind is the registered kind whose marker file is in ``RUN/model``
(:func:`causalmmm_ppl.inference.mmm_fit.run_kind`). A CausalMMM run (``causalmmm fit --model causalmmm``) holds
``idata.nc``, ``edges.csv``, ``model/fit.json`` and ``model/train_panel.parquet`` (and ``forecast.csv`` with
``--holdout``); a BTVC run holds ``idata.nc``, ``diagnostics.csv``, ``contributions.csv``,
``contribution_shares.csv``, ``model/btvc.json``, ``model/columns.json`` (and ``forecast.csv``). Their settings are
read from those JSON files. A run of another registered model is read the same way where it has the files (its
``idata.nc``, its CSV tables, ``model/columns.json`` for the nodes); where it has no ``idata.nc``, the fit is loaded
through its kind and its :meth:`~causalmmm_ppl.inference.mmm_fit.MMMFit.to_inference_data` gives one. Nothing
else loads a model object, and nothing read here can run code: JSON, CSV, Parquet and netCDF are data, and a fit
is loaded by its kind's own reader.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from causalmmm_ppl._io import restore_formulas
from causalmmm_ppl.data.panel import period_dates
from causalmmm_ppl.evaluation.inference_data import read_inference_data

__all__ = ["RunContents", "read_run", "run_kind"]

@dataclass
class RunContents:
    """What a report shows of one run.

    Attributes
    ----------
    path : the run directory
    kind : the registered kind's name (``"causalmmm"``, ``"btvc"``, …)
    idata : its InferenceData
    node_kinds : node name → ``channel``/``mediator``/``target`` (CausalMMM), channels and target (other models)
    settings : model and inference settings (flat name → value)
    tables : name → DataFrame of the run's CSV files that exist (``edges``, ``forecast``, ``diagnostics``,
        ``contribution_shares``), ``train_panel`` (CausalMMM) and ``channel_effects``, ``response_curves`` (when the
        report is given the tables of ``causalmmm effects``)
    freq : ``"D"`` or ``"W"`` where the run's data numbered its periods (``--freq``; its dates are then the nominal
        calendar of those numbers), else ``""``
    """

    path: Path
    kind: str
    idata: Any
    node_kinds: dict[str, str]
    settings: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    freq: str = ""


def run_kind(path: str | os.PathLike[str]) -> str:
    """The name of the registered kind of the run directory ``path``.

    Raises
    ------
    ValueError
        ``path`` is not a directory written by ``causalmmm fit`` or by a registered model's ``save``.
    """
    from causalmmm_ppl.errors import InputError
    from causalmmm_ppl.inference.mmm_fit import run_kind as registered_kind

    try:
        return registered_kind(path).name
    except FileNotFoundError as exc:
        raise ValueError(str(exc)) from None
    except InputError as exc:  # "RUN: not a run directory of a known model (…)"
        raise ValueError(str(exc)) from None


#: posterior attrs that describe the file, not the fit
_BOOKKEEPING_ATTRS = ("latent_vars", "created_at", "arviz_version", "inference_library", "inference_library_version")


def _column_kinds(path: Path) -> dict[str, str]:
    """Node name → kind from a run's column schema (``model/columns.json``; ``{}`` without one)."""
    cols = _read_json(path) if path.is_file() else {}
    kinds = {**{c: "channel" for c in cols.get("channels", [])}, **{c: "mediator" for c in cols.get("mediators", [])}}
    if cols.get("target"):
        kinds[cols["target"]] = "target"
    return kinds


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ValueError(f"{path}: unreadable ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: unreadable (expected a JSON object)")
    return data


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return restore_formulas(pd.read_csv(path))
    except (OSError, ValueError) as exc:  # pandas' ParserError and EmptyDataError are ValueErrors
        raise ValueError(f"{path}: unreadable CSV ({exc})") from None


def read_run(path: str | os.PathLike[str], effects: str | os.PathLike[str] | None = None,
             curves: str | os.PathLike[str] | None = None) -> RunContents:
    """Everything the report needs from a run directory (see the module docstring), and the tables of
    ``causalmmm effects`` at ``effects`` and ``curves`` (``tables["channel_effects"]``, ``tables["response_curves"]``)
    when given."""
    p = Path(path)
    kind = run_kind(p)
    if (p / "idata.nc").is_file():
        idata = read_inference_data(p / "idata.nc")
    else:  # a registered model's run without one: its fit says what it is
        from causalmmm_ppl.inference.mmm_fit import load_run

        idata = load_run(p)[0].to_inference_data()
    tables = {name: _read_csv(p / f"{name}.csv")
              for name in ("edges", "forecast", "diagnostics", "contribution_shares") if (p / f"{name}.csv").is_file()}
    reading = p / "model" / "reading.json"
    freq = str(_read_json(reading).get("freq") or "") if reading.is_file() else ""
    if freq and "forecast" in tables:  # numbered periods (--freq): on the nominal calendar of the run's history
        tables["forecast"]["date"] = period_dates(tables["forecast"]["date"].astype(int), freq)
    if effects is not None:
        table = _read_csv(Path(effects))
        missing = [c for c in ("shop", "channel", "kind", "mean", "lower", "upper", "spend", "roas", "mroas")
                   if c not in table.columns]
        if missing:
            raise ValueError(f"{effects}: not an effects table (no column {missing[0]!r}; `causalmmm effects` writes one)")
        tables["channel_effects"] = table
    if curves is not None:
        table = _read_csv(Path(curves))
        missing = [c for c in ("shop", "channel", "multiplier", "mean", "lower", "upper") if c not in table.columns]
        if missing:
            raise ValueError(f"{curves}: not a response-curve table (no column {missing[0]!r}; "
                             f"`causalmmm effects --curves` writes one)")
        tables["response_curves"] = table
    if kind == "causalmmm":
        fit = _read_json(p / "model" / "fit.json")
        schema = fit.get("schema", {})
        node_kinds = dict(zip(schema.get("nodes", []), schema.get("node_kinds", [])))
        saved = fit.get("settings") or {"model": fit.get("spec", {})}  # by group; a flat "spec" in older runs
        settings = {**{f"{group}.{k}": v for group, part in saved.items() for k, v in part.items()},
                    "seed": fit.get("seed"), "svi_seconds": fit.get("seconds")}
        panel_file = p / "model" / "train_panel.parquet"
        if panel_file.is_file():
            try:
                tables["train_panel"] = pd.read_parquet(panel_file)
            except Exception as exc:  # whatever pyarrow raises on a damaged file
                raise ValueError(f"{panel_file}: unreadable ({type(exc).__name__}: {exc})") from None
    else:
        node_kinds = _column_kinds(p / "model" / "columns.json")
        if kind == "btvc":
            cfg = _read_json(p / "model" / "btvc.json")
            settings = {**{f"model.{k}": v for k, v in cfg.get("spec", {}).items()},
                        **{f"inference.{k}": v for k, v in cfg.get("inference", {}).items()},
                        "seed": idata.posterior.attrs.get("seed"),
                        "wall_time_s": idata.posterior.attrs.get("wall_time_s")}
        else:  # another registered model: its settings are what its posterior's attrs record
            settings = {k: v for k, v in idata.posterior.attrs.items() if k not in _BOOKKEEPING_ATTRS}
    return RunContents(path=p, kind=kind, idata=idata, node_kinds=node_kinds, settings=settings, tables=tables,
                       freq=freq)
