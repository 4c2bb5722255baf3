"""Type checks of settings dataclasses against their annotations, for values that arrive from JSON configs.

``{"prior_prob": "high"}``, ``{"lr": Infinity}`` or ``{"steps": true}`` must fail before any work with a message
that names the setting, not later inside torch. :func:`check_field_types` walks a dataclass's fields and checks each
value against its annotation: ``float`` (a finite real number, not a bool), ``int`` (a whole number, not a bool;
``3.0`` is taken as ``3``), ``bool``, ``str``, ``X | None``, ``tuple[T, ...]``, ``tuple[T, U]`` (a JSON list is
taken as a tuple), ``dict[str, T]`` and unions of these.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import types
import typing
from typing import Any

import numpy as np

from causalmmm_ppl.errors import InputError


class _Mismatch(Exception):
    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


def _convert(value: Any, tp: Any) -> Any:
    """``value`` as annotation ``tp`` asks (ints from integral floats, tuples from lists); _Mismatch otherwise."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        for option in options:
            try:
                return _convert(value, option)
            except _Mismatch:
                continue
        raise _Mismatch(" or ".join(_describe(o) for o in options))
    if tp is type(None):
        if value is None:
            return None
        raise _Mismatch("null")
    if tp is bool:
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        raise _Mismatch("true or false")
    if tp is int:
        if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
            return int(value)
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return int(value)
        raise _Mismatch("a whole number")
    if tp is float:
        if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
            if not math.isfinite(float(value)):
                raise _Mismatch("a finite number")
            return float(value)
        raise _Mismatch("a number")
    if tp is str:
        if isinstance(value, str):
            return value
        raise _Mismatch("a string")
    try:
        if origin is tuple:
            args = typing.get_args(tp)
            if not isinstance(value, (list, tuple)):
                raise _Mismatch("")
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(_convert(v, args[0]) for v in value)
            if len(value) != len(args):
                raise _Mismatch("")
            return tuple(_convert(v, a) for v, a in zip(value, args))
        if origin is dict:
            key_t, val_t = typing.get_args(tp)
            if not isinstance(value, dict):
                raise _Mismatch("")
            return {_convert(k, key_t): _convert(v, val_t) for k, v in value.items()}
    except _Mismatch:
        raise _Mismatch(_describe(tp)) from None
    return value  # an annotation this checker does not know: left to the class's own checks


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_plural(args[0])}"
        return f"a list of {len(args)} {_plural(args[0])}"
    if origin is dict:
        return f"an object whose values are {_plural(typing.get_args(tp)[1])}"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(o) for o in typing.get_args(tp))
    return {bool: "true or false", int: "a whole number", float: "a number", str: "a string",
            type(None): "null"}.get(tp, getattr(tp, "__name__", str(tp)))


def _plural(tp: Any) -> str:
    return {int: "whole numbers", float: "numbers", str: "strings", bool: "true/false values"}.get(tp, "values")


def check_field_types(obj: Any, where: str = "") -> None:
    """Check (and normalise, in place) every field of dataclass ``obj`` against its annotation.

    Raises
    ------
    InputError
        ``"{where}: {field} must be {what}, got {value!r}"`` for the first field that does not match (without
        ``where``, the message starts with the field).
    """
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        try:
            converted = _convert(value, hints[f.name])
        except _Mismatch as exc:
            prefix = f"{where}: " if where else ""
            raise InputError(f"{prefix}{f.name} must be {exc.expected}, got {value!r}") from None
        if converted is not value:
            object.__setattr__(obj, f.name, converted)
