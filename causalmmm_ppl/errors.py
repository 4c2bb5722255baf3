"""User-facing error types.

Errors that a user can fix (bad files, columns, flags) are ``ValueError``/``TypeError`` subclasses whose message names
the file, column, shop or row. The CLI prints them as one line and exits with status 2.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input: the message names the file, column, shop or row and the problem."""


class InputTypeError(TypeError):
    """User input of the wrong type (e.g. text in a numeric column)."""
