"""Shared by the commands that read a fitted run and new data (``edges``, ``forecast``, ``effects``, ``allocate``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: How a run read its training data beyond the columns, kept in ``RUN/model`` for the commands that read more data.
READING_FILE = "reading.json"
READING_DEFAULTS = {"fill_gaps": "error", "context_agg": "error", "freq": ""}


def write_reading(model_dir: Path, args: Any) -> None:
    """Record the fit's ``--fill-gaps``, ``--context-agg`` and ``--freq`` in ``model_dir``."""
    reading = {k: getattr(args, k, None) or v for k, v in READING_DEFAULTS.items()}
    (Path(model_dir) / READING_FILE).write_text(json.dumps(reading, indent=2))


def reading_for(run: str | Path, args: Any = None) -> dict[str, str]:
    """How to read data for ``run``: the flags given in ``args`` where set, else the run's own (runs saved without
    the record read as the defaults do)."""
    from causalmmm_ppl.commands._config import read_json_object

    path = Path(run) / "model" / READING_FILE
    reading = dict(READING_DEFAULTS)
    if path.exists():
        saved = read_json_object(path, str(path), "not a readable record of how the run read its data")
        reading.update({k: str(saved[k]) for k in READING_DEFAULTS if k in saved})
    for key in READING_DEFAULTS:
        given = getattr(args, key, None) if args is not None else None
        if given is not None:
            reading[key] = given
    return reading


def load_causalmmm_run(run: str):
    """The CausalMMM fit in ``RUN/model`` (InputError when RUN is not one, or has no column schema)."""
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
    return fit


def load_run_and_data(run: str, data: str, *, allow_missing_target: bool, args: Any = None):
    """The fit in ``RUN/model`` and ``DATA`` loaded with the run's column schema and reading (:func:`reading_for`).

    Returns
    -------
    fit : CausalMMMFit; panel : Panel
    """
    from causalmmm_ppl.data.load import load_panel

    fit = load_causalmmm_run(run)
    panel = load_panel(data, fit.schema.columns, allow_missing_target=allow_missing_target, **reading_for(run, args))
    fit.schema.check(panel, what=str(data))
    return fit, panel


def data_in_chunks(run: str, data: str, columns, shops_per_chunk: int | None, *, allow_missing_target: bool,
                   args: Any = None):
    """``DATA`` ``shops_per_chunk`` shops at a time (:class:`~causalmmm_ppl.data.load.PanelChunks`; None: whole),
    each part read with the run's ``columns`` and reading as :func:`load_run_and_data` reads the whole; check each
    part against the run's schema where it has one."""
    from causalmmm_ppl.data.load import load_panel_chunks

    return load_panel_chunks(data, columns, shops_per_chunk, allow_missing_target=allow_missing_target,
                             **reading_for(run, args))


def stream_csv(out: str, parts, table_of, *, desc: str, quiet: bool, total: int | None, check=None, tail=None,
               **to_csv) -> tuple[int, int]:
    """Write ``table_of(part)`` for each part of ``parts`` to the CSV ``out`` as it comes (one header; formulas
    neutralised), then ``tail()``'s rows when given (what needs every part, e.g. portfolio sums), with progress over
    ``total`` shops; the numbers of rows written and of shops read. Atomic: nothing is left when a part, ``tail()`` or
    ``check()`` (called after the last part) raises."""
    from causalmmm_ppl._io import atomic_file, neutralise_formulas
    from causalmmm_ppl._progress import progress

    rows = shops = 0
    with atomic_file(out) as tmp, open(tmp, "w", newline="") as fh, \
            progress(total=total, disable=quiet or total is None, desc=desc, unit="shop") as bar:

        def write(table) -> None:
            nonlocal rows
            if len(table):
                neutralise_formulas(table).to_csv(fh, index=False, header=not rows, **to_csv)
            rows += len(table)

        for part in parts:
            write(table_of(part))
            shops += part.n_shops
            bar.update(part.n_shops)
        if check is not None:
            check()
        if tail is not None:
            write(tail())
    return rows, shops


def load_any_run_and_data(run: str, data: str, *, allow_missing_target: bool, args: Any = None):
    """The fit of a run of any registered model (:mod:`causalmmm_ppl.inference.mmm_fit`) and ``DATA`` loaded with
    the run's columns and reading (:func:`reading_for`; flags in ``args`` override it).

    Returns
    -------
    fit : an :class:`~causalmmm_ppl.inference.mmm_fit.MMMFit`; panel : Panel; columns : the run's ColumnSpec
    """
    from causalmmm_ppl.data.load import load_panel
    from causalmmm_ppl.inference.mmm_fit import load_run

    reading = reading_for(run, args)
    fit, columns = load_run(run)
    panel = load_panel(data, columns, allow_missing_target=allow_missing_target, **reading)
    schema = getattr(fit, "schema", None)  # a model that keeps its node schema checks DATA against it
    if schema is not None:
        schema.check(panel, what=str(data))
    return fit, panel, columns
