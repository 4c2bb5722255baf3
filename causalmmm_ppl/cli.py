"""The ``causalmmm`` command.

Each subcommand lives in ``causalmmm_ppl/commands/<name>.py`` as ``run(args) -> int``; this module only parses flags,
dispatches, and turns user errors (``ValueError``/``TypeError``, and ``OSError``: missing files, permissions, a full
disk) into one line on stderr with exit status 2. Output directories and files are written atomically by the
commands, so a failed command leaves nothing partial behind.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from collections.abc import Sequence

from causalmmm_ppl import __version__, _runtime


def _csv_list(text: str) -> tuple[str, ...]:
    items = tuple(s.strip() for s in text.split(",") if s.strip())
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list of column names")
    return items


class _Help(argparse.HelpFormatter):
    """Help that shows each option's default where it has one and its help does not already say it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if ("default" not in text and action.default not in (None, False, argparse.SUPPRESS, ())
                and action.option_strings and action.nargs != 0):
            text += f" (default: {action.default})"
        return text


def add_common(p: argparse.ArgumentParser) -> None:
    """Flags every subcommand takes."""
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def add_force(p: argparse.ArgumentParser) -> None:
    """``--force`` for commands that replace an output directory."""
    p.add_argument("--force", action="store_true",
                   help="replace --out even if it is a non-empty directory this tool did not write")


def add_column_flags(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    """Flags that say which columns of a long panel are what (see ColumnSpec)."""
    p.add_argument("--target", required=required, help="target column, e.g. gmv")
    p.add_argument("--channels", type=_csv_list, required=required, help="channel columns, comma-separated")
    p.add_argument(
        "--mediators",
        type=_csv_list,
        default=(),
        help="mediator columns (e.g. pv), comma-separated; may also appear in --channels",
    )
    p.add_argument("--context", type=_csv_list, default=(), help="per-shop context columns, comma-separated")
    p.add_argument(
        "--controls",
        type=_csv_list,
        default=(),
        help="time-varying control columns (price, promotions, holidays), comma-separated: known on every row, "
        "the plan's included; they move the mediators and the target but are not graph nodes",
    )
    p.add_argument("--shop-col", default=None, help="shop identifier column (default: shop, or shop_id if present)")
    p.add_argument("--date-col", default=None, help="date column (default: date, or ds if present)")
    add_reading_flags(p, fitted=False)


def add_reading_flags(p: argparse.ArgumentParser, *, fitted: bool) -> None:
    """How a panel is read beyond its columns (``--fill-gaps``, ``--context-agg``, ``--freq``); ``fitted``: a command
    that reads data for a run, whose defaults are the run's own (``RUN/model/reading.json``)."""
    default = "as the run was fitted" if fitted else "error"
    p.add_argument(
        "--freq",
        choices=("D", "W"),
        default=None,
        help="the date column holds whole period numbers (1, 2, 3, ...) of days (D) or weeks (W) instead of dates; "
             "outputs number periods the same way, and calendar features follow a nominal calendar with period 0 "
             f"on Monday 2001-01-01 (default: {'as the run was fitted' if fitted else 'dates'})",
    )
    p.add_argument(
        "--fill-gaps",
        choices=("error", "zero"),
        default=None if fitted else "error",
        help=f"missing dates inside a shop's range: error, or fill channels and target with zero (default: {default})",
    )
    p.add_argument(
        "--context-agg",
        choices=("error", "first", "mean"),
        default=None if fitted else "error",
        help=f"context that varies within a shop: error, or take the first value or the mean (default: {default})",
    )


def add_shops_per_chunk(p: argparse.ArgumentParser) -> None:
    """``--shops-per-chunk K`` of a command that streams over shops."""
    p.add_argument("--shops-per-chunk", type=int, default=None,
                   help="read DATA and write the table this many shops at a time (one chunk's rows in memory; a "
                        "Parquet DATA is read chunk by chunk)")


def add_run_data(p: argparse.ArgumentParser, data_help: str) -> None:
    """``RUN``, ``--data`` and the reading flags of a command that applies a fitted run to a panel (read with the
    run's columns and, unless overridden, the way the run read its own data)."""
    p.add_argument("run", help="run directory written by fit")
    p.add_argument("--data", required=True, help=f"CSV or Parquet file, one row per shop and period: {data_help}")
    add_reading_flags(p, fitted=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        formatter_class=_Help,
        prog="causalmmm",
        description="Causal marketing-mix modeling: learn per-shop channel graphs, forecast with intervals.",
    )
    parser.add_argument("--version", action="version", version=f"causalmmm_ppl {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_commands(sub)
    for command in sub.choices.values():
        command.formatter_class = _Help
    return parser


def _add_commands(sub) -> None:
    """The subcommands and their flags."""

    p = sub.add_parser("simulate", help="simulate a panel with a known causal graph")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--scenario", choices=("sim1", "sim2", "sim3", "sources"), default="sim1",
                   help="sim1/sim2 share the model's functional forms; sim3 and sources are built to differ from it")
    p.add_argument("--shops", type=int, default=None, help="number of shops (default: the scenario's)")
    p.add_argument("--channels", type=int, default=None, help="number of advertising channels")
    p.add_argument("--days", type=int, default=None, help="number of days (default: the scenario's)")
    p.add_argument("--horizon", type=int, default=14,
                   help="days at the end of the panel for plan.csv, history.csv and the true effects (default 14)")
    add_force(p)
    add_common(p)

    p = sub.add_parser("validate", help="check a panel and print a summary")
    p.add_argument("data", help="CSV or Parquet file, one row per shop and period (day or week)")
    add_column_flags(p)
    p.add_argument("--window", type=int, default=None, help="training window length the panel must allow")
    p.add_argument("--model", choices=("causalmmm", "btvc"), default=None,
                   help="also run the checks `fit --model M` makes before training (default: none; causalmmm when "
                        "--holdout or --config is given)")
    p.add_argument("--holdout", type=int, default=0, help="check that the last H periods can be held out and "
                                                          "forecast as `fit --holdout H` would")
    p.add_argument("--config", default=None, help="JSON settings file to check, as `fit --config` reads it")
    p.add_argument("--shops-per-chunk", type=int, default=None,
                   help="read and check DATA this many shops at a time, as `fit --shops-per-chunk` reads it (default: "
                        "the whole panel at once)")
    add_common(p)

    p = sub.add_parser("fit", help="fit a model to a panel")
    p.add_argument("data", help="CSV or Parquet file, one row per shop and period (day or week)")
    add_column_flags(p)
    p.add_argument("--model", choices=("causalmmm", "btvc"), default="causalmmm",
                   help="CausalMMM (graph, SVI) or the BTVC baseline (NumPyro)")
    p.add_argument("--holdout", type=int, default=0, help="forecast the last H periods (held out of the fit; default 0: none)")
    p.add_argument("--steps", type=int, default=None,
                   help="SVI steps for causalmmm (default 1500); NUTS draws per chain for btvc (default 1000; SVI "
                        "steps, default 3000, when it runs SVI: on more than 4 shops, or when its config sets \"method\": \"svi\")")
    p.add_argument("--config", default=None, help="JSON file with model/inference settings")
    p.add_argument("--resume", action="store_true", help="resume from the checkpoint in RUN")
    p.add_argument("--nproc", type=int, default=1,
                   help="causalmmm: train on N local processes, each on its own shard of shops, with their gradients "
                        "averaged (torch.distributed; default 1)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="causalmmm: train on the CPU (default) or on a GPU (each process on its own); the outputs are "
                        "computed on the CPU")
    p.add_argument("--shops-per-chunk", type=int, default=None,
                   help="causalmmm: each process reads and holds only its own shops of DATA, this many at a time (a "
                        "Parquet DATA is read part by part); the run gets edges.csv, templates.csv and model/, not "
                        "idata.nc (default: every process reads the whole panel)")
    p.add_argument("--out", required=True, help="run directory")
    add_force(p)
    add_common(p)

    p = sub.add_parser("forecast", help="forecast the rows of DATA whose target is empty")
    add_run_data(p, "history and a plan: trailing rows with an empty target are forecast")
    p.add_argument("--interval", type=float, default=0.9, help="central credible interval")
    add_shops_per_chunk(p)
    p.add_argument("--out", required=True, help="forecast CSV: shop, date, node, observed, mean, lower, upper")
    add_common(p)

    p = sub.add_parser("effects", help="each channel's effect on the target over the plan rows of DATA (ROAS, mROAS)")
    add_run_data(p, "history and a plan: trailing rows with an empty target")
    p.add_argument("--window", default=None,
                   help="START:END (dates, or period numbers with --freq; END included): effects over these past "
                        "periods instead of the plan rows")
    p.add_argument("--interval", type=float, default=0.9, help="central credible interval")
    p.add_argument("--draws", type=int, default=None, help="posterior draws (default: the run's num_draws)")
    p.add_argument("--curves", default=None,
                   help="also write response curves: the target over the plan vs 0-2x each channel's planned spend")
    p.add_argument("--series", default=None,
                   help="also write each channel's contribution (total effect) on each period of the window")
    add_shops_per_chunk(p)
    p.add_argument("--out", required=True, help="effects CSV")
    add_common(p)

    p = sub.add_parser("allocate", help="redistribute the plan's spend across channels to maximise the target")
    add_run_data(p, "history and a plan: trailing rows with an empty target")
    p.add_argument("--budget", type=float, default=None,
                   help="total spend over the plan's window (default: the plan's own total)")
    p.add_argument("--bounds", default=None,
                   help="CSV with columns channel, lower, upper: multiples of the planned spend (default 0.5 to 2)")
    p.add_argument("--scope", choices=("portfolio", "shop"), default="portfolio",
                   help="one budget over all shops (default), or each shop keeps its share")
    p.add_argument("--risk", type=float, default=None,
                   help="maximise this quantile of the target over the posterior instead of its mean (e.g. 0.1)")
    p.add_argument("--interval", type=float, default=0.9, help="interval of the printed uplift (default 0.9)")
    p.add_argument("--draws", type=int, default=None, help="posterior draws (default: the run's num_draws)")
    p.add_argument("--out", required=True, help="the new plan: PLAN with the allocated spend on its window")
    add_common(p)

    p = sub.add_parser("edges", help="edge probabilities for the shops in DATA, without retraining")
    add_run_data(p, "a panel with the run's columns (training shops or new ones)")
    add_shops_per_chunk(p)
    p.add_argument("--out", required=True, help="edges CSV: shop, cause, effect, probability")
    add_common(p)

    p = sub.add_parser("report", help="write a self-contained HTML report of a run")
    p.add_argument("run", help="run directory written by fit")
    p.add_argument("--effects", default=None, help="also show this table written by `causalmmm effects`")
    p.add_argument("--curves", default=None, help="also show these response curves (`causalmmm effects --curves`)")
    p.add_argument("--out", required=True, help="HTML file")
    add_common(p)

    p = sub.add_parser("compare", help="compare runs: held-out log predictive density (--data), or ELPD-LOO")
    p.add_argument("runs", nargs="+", help="run directories fitted on the same data (without --data: their "
                   "idata.nc files also do)")
    p.add_argument("--data", default=None, help="CSV or Parquet file, one row per shop and period: the runs' data "
                   "with the periods after their training end (e.g. the panel they were fitted on with --holdout), "
                   "read as each run read its own; every run forecasts those periods from the "
                   "history and their channels, scored by the log predictive density of the observed target; "
                   "needed to compare runs of different models (default: ELPD-LOO on the training periods)")
    p.add_argument("--draws", type=int, default=200, help="posterior draws per run with --data (default: 200)")
    p.add_argument("--out", default=None, help="also write the table as CSV")
    add_common(p)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``causalmmm`` console script."""
    _runtime.configure()
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # what a launch of several processes runs again
    # in a launch of several processes, process 0 prints a failure's one line; the others exit quietly
    quiet_errors = int(os.environ.get("RANK", "0") or 0) > 0
    try:
        module = importlib.import_module(f"causalmmm_ppl.commands.{args.command}")
    except ModuleNotFoundError as exc:
        if exc.name == f"causalmmm_ppl.commands.{args.command}":
            print(f"causalmmm {args.command}: not available in this version", file=sys.stderr)
            return 2
        raise
    # library warnings are shown after a command succeeds; a failed command prints its one line only
    with warnings.catch_warnings(record=True) as caught:
        try:
            code = int(module.run(args) or 0)
        except (ValueError, TypeError, OSError) as exc:
            msg = " ".join(str(exc).split()) or type(exc).__name__
            if not quiet_errors:
                print(f"causalmmm {args.command}: error: {msg}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print(f"causalmmm {args.command}: interrupted", file=sys.stderr)
            return 130
    for w in caught:
        warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
