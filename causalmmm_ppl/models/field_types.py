"""Checks of settings dataclasses, shared by both models' settings: types against the annotations, bounds, unknown
keys, and a flat config split into its groups. Every failure is an :class:`~causalmmm_ppl.errors.InputError` that
names the setting.

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
from collections.abc import Mapping
from typing import Any

import numpy as np

from causalmmm_ppl.errors import InputError, unknown_setting


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


def require_positive(obj: Any, *names: str) -> None:
    """InputError naming the first of ``names`` whose value in ``obj`` is not > 0."""
    for name in names:
        if not getattr(obj, name) > 0:
            raise InputError(f"{name} must be > 0, got {getattr(obj, name)}")


def require_at_least_one(obj: Any, *names: str) -> None:
    """InputError naming the first of ``names`` whose value in ``obj`` is below 1."""
    for name in names:
        if getattr(obj, name) < 1:
            raise InputError(f"{name} must be >= 1, got {getattr(obj, name)}")


def known_fields(cls: type, d: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``d`` as keyword arguments of dataclass ``cls``; a key that is not one of its fields is an InputError
    naming it (and the nearest field)."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise unknown_setting(where, unknown[0], names)
    return dict(d)


def split_settings(config: Mapping[str, Any], groups: Mapping[str, type], where: str) -> dict[str, dict[str, Any]]:
    """Split a settings object (a ``--config`` file, a saved run's settings) into its groups' keyword arguments.

    Parameters
    ----------
    config : settings, flat (every key a field of one group; field names are unique across groups) or with a
        group's fields nested under its name (``{"model": {...}, "inference": {...}}``), or both.
    groups : group name → settings dataclass, e.g. ``{"model": CausalMMMSpec, "inference": CausalMMMInference}``.
    where : what the settings are, for messages (``"--config run.json"``).

    Returns
    -------
    dict
        group name → ``{field: value}`` (empty for a group the config does not mention).

    Raises
    ------
    InputError
        ``config`` is not an object, a key belongs to no group (the message names it and the nearest field), or a
        group's entry is not an object.
    """
    if not isinstance(config, Mapping):
        raise InputError(f"{where}: expected a JSON object")
    owner = {f.name: group for group, cls in groups.items() for f in dataclasses.fields(cls)}
    out: dict[str, dict[str, Any]] = {group: {} for group in groups}
    for key, value in config.items():
        if key in groups and key not in owner:
            if not isinstance(value, Mapping):
                raise InputError(f"{where}: {key!r} must be an object of {key} settings, got {value!r}")
            out[key].update(known_fields(groups[key], value, f"{where}: {key}"))
        elif key in owner:
            out[owner[key]][key] = value
        else:
            raise unknown_setting(where, key, set(owner) | set(groups))
    return out
