"""Shared by the commands that read a fitted run and new data (``edges``, ``forecast``, ``effects``, ``allocate``)."""

from __future__ import annotations

from pathlib import Path


def load_run_and_data(run: str, data: str, *, allow_missing_target: bool):
    """The fit in ``RUN/model`` and ``DATA`` loaded with the run's column schema.

    Returns
    -------
    fit : CausalMMMFit; panel : Panel
    """
    from causalmmm_ppl.data.load import load_panel
    from causalmmm_ppl.errors import InputError
    from causalmmm_ppl.inference.causalmmm_fit import CausalMMMFit

    model_dir = Path(run) / "model"
    if not Path(run).is_dir():
        raise FileNotFoundError(f"{run}: no such run directory")
    if not (model_dir / "fit.json").exists():
        raise InputError(f"{run}: not a CausalMMM run (no model/fit.json); `causalmmm fit --model causalmmm` makes one")
    fit = CausalMMMFit.load(model_dir)
    if fit.schema.columns is None:
        raise InputError(f"{run}: the run has no column schema")
    panel = load_panel(data, fit.schema.columns, allow_missing_target=allow_missing_target)
    fit.schema.check(panel, what=str(data))
    return fit, panel


def load_any_run_and_data(run: str, data: str, *, allow_missing_target: bool):
    """The fit of a CausalMMM or a BTVC run and ``DATA`` loaded with the run's columns.

    Returns
    -------
    fit : CausalMMMFit or BTVCFit; panel : Panel
    """
    from causalmmm_ppl.data.load import load_panel
    from causalmmm_ppl.inference.btvc import BTVCFit

    model_dir = Path(run) / "model"
    if not (model_dir / "btvc.json").exists():
        return load_run_and_data(run, data, allow_missing_target=allow_missing_target)
    fit = BTVCFit.load(model_dir)
    return fit, load_panel(data, btvc_columns(run), allow_missing_target=allow_missing_target)


def btvc_columns(run: str):
    """The column schema of a BTVC run (``RUN/model/columns.json``)."""
    import json

    from causalmmm_ppl.data.panel import ColumnSpec
    from causalmmm_ppl.errors import InputError

    columns_file = Path(run) / "model" / "columns.json"
    if not columns_file.is_file():
        raise InputError(f"{run}: the BTVC run has no model/columns.json; fit it again")
    try:
        return ColumnSpec.from_dict(json.loads(columns_file.read_text()))
    except (ValueError, TypeError, KeyError) as exc:
        raise InputError(f"{columns_file}: unreadable ({exc}); fit the run again") from None


def run_columns(run: str, fit):
    """The column schema of a loaded run (CausalMMM or BTVC)."""
    from causalmmm_ppl.inference.btvc import BTVCFit

    return btvc_columns(run) if isinstance(fit, BTVCFit) else fit.schema.columns
