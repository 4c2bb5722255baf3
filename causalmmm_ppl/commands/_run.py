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
    """The fit of a run of any registered model (:mod:`causalmmm_ppl.inference.mmm_fit`) and ``DATA`` loaded with
    the run's columns.

    Returns
    -------
    fit : an :class:`~causalmmm_ppl.inference.mmm_fit.MMMFit`; panel : Panel; columns : the run's ColumnSpec
    """
    from causalmmm_ppl.data.load import load_panel
    from causalmmm_ppl.inference.mmm_fit import load_run

    fit, columns = load_run(run)
    panel = load_panel(data, columns, allow_missing_target=allow_missing_target)
    schema = getattr(fit, "schema", None)  # a model that keeps its node schema checks DATA against it
    if schema is not None:
        schema.check(panel, what=str(data))
    return fit, panel, columns
