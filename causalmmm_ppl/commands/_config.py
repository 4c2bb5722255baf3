"""``--config FILE``: a JSON object of model and inference settings, shared by the fit commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_config(path: str | None) -> dict[str, Any]:
    """The ``--config`` JSON object (``{}`` without a file); unreadable files are ``ValueError`` naming the file."""
    if not path:
        return {}
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"--config {p}: no such file")
    try:
        config = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"--config {p}: not valid JSON ({exc})") from None
    if not isinstance(config, dict):
        raise ValueError(f"--config {p}: expected a JSON object")
    return config
