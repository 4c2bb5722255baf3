"""``--config FILE``: a JSON object of model and inference settings, shared by the fit commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_json_object(path: Path, label: str, unreadable: str = "not valid JSON") -> dict[str, Any]:
    """The JSON object in ``path``; a file that is not JSON, or not an object, is an InputError starting ``label``."""
    from causalmmm_ppl.errors import InputError

    try:
        value = json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{label}: {unreadable} ({exc})") from None
    if not isinstance(value, dict):
        raise InputError(f"{label}: expected a JSON object")
    return value


def read_config(path: str | None) -> dict[str, Any]:
    """The ``--config`` JSON object (``{}`` without a file); unreadable files are ``ValueError`` naming the file."""
    if not path:
        return {}
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"--config {p}: no such file")
    return read_json_object(p, f"--config {p}")
