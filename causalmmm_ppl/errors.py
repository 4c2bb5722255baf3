"""User-facing error types.

Errors that a user can fix (bad files, columns, flags) are ``ValueError``/``TypeError`` subclasses whose message names
the file, column, shop or row. The CLI prints them as one line and exits with status 2.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input: the message names the file, column, shop or row and the problem."""


class InputTypeError(TypeError):
    """User input of the wrong type (e.g. text in a numeric column)."""


def require_finite(values, what: str) -> None:
    """Raise InputError when ``values`` (an array or a table of numbers) holds NaN or infinity: a fit whose
    outputs are not finite has failed, whatever its exit path, and must not be written as a success."""
    import numpy as np

    arr = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        raise InputError(f"{what}: {int(bad.sum())} of {arr.size} values are not finite (NaN or infinite); the fit "
                         f"failed (check the panel's scale with `causalmmm validate`, or lower lr)")


def unknown_setting(where: str, key: str, known) -> InputError:
    """The error for a settings key nobody knows: it names the key and suggests the nearest known one (a typo), or
    lists the known ones."""
    import difflib

    names = sorted(known)
    near = difflib.get_close_matches(str(key), names, n=1, cutoff=0.6)
    hint = f"did you mean {near[0]!r}?" if near else f"known: {', '.join(names)}"
    return InputError(f"{where}: unknown setting {key!r}; {hint}")
