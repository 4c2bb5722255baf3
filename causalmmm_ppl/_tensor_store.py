"""Tensors and plain data in one file, without pickle: a safetensors file whose metadata holds a JSON skeleton.

Model weights (``model/weights.safetensors``) and SVI checkpoints (``checkpoint/checkpoint.safetensors``) are nested
structures of tensors, numbers, strings, lists and dicts (a ``state_dict``, an optimiser state, random-generator
states). :func:`save_tree` stores every tensor under a path-like key in safetensors and the rest as JSON in the
file's metadata; :func:`load_tree` rebuilds the structure. Reading one never runs code: safetensors is a header and
raw bytes, and JSON is data. Dicts with non-string keys (an optimiser's per-parameter state is keyed by int) and
tuples are tagged in the skeleton so they come back as they went in.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from causalmmm_ppl.errors import InputError

_FORMAT = "causalmmm_ppl.tree/1"


def _encode(obj: Any, key: str, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, torch.Tensor):
        tensors[key] = obj.detach().cpu().contiguous().clone()
        return {"__tensor__": key}
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj) and "__tensor__" not in obj:
            return {k: _encode(v, f"{key}/{k}", tensors) for k, v in obj.items()}
        return {"__items__": [[k, _encode(v, f"{key}/{i}", tensors)] for i, (k, v) in enumerate(obj.items())]}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, f"{key}/{i}", tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, f"{key}/{i}", tensors) for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store {type(obj).__name__} at {key!r} without pickle")


def _decode(node: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(node, list):
        return [_decode(v, tensors) for v in node]
    if isinstance(node, dict):
        if "__tensor__" in node:
            return tensors[node["__tensor__"]]
        if "__tuple__" in node:
            return tuple(_decode(v, tensors) for v in node["__tuple__"])
        if "__items__" in node:
            return {k: _decode(v, tensors) for k, v in node["__items__"]}
        return {k: _decode(v, tensors) for k, v in node.items()}
    return node


def save_tree(tree: Any, path: str | os.PathLike[str]) -> None:
    """Write a nested structure of tensors and plain data to ``path`` (safetensors with a JSON skeleton), with the
    permissions of an ordinary file under the umask."""
    from safetensors.torch import save_file

    from causalmmm_ppl._io import apply_umask

    tensors: dict[str, torch.Tensor] = {}
    skeleton = _encode(tree, "", tensors)
    save_file(tensors, str(path), metadata={"format": _FORMAT, "tree": json.dumps(skeleton)})
    apply_umask(Path(path))  # safetensors creates its file 0600


def load_tree(path: str | os.PathLike[str], *, hint: str = "") -> Any:
    """Read a structure written by :func:`save_tree`.

    Raises
    ------
    InputError
        The file is missing, truncated, or not such a file (the message names it and ends with ``hint``, e.g. what
        to do instead).
    """
    from safetensors import safe_open

    p = Path(path)
    try:
        with safe_open(str(p), framework="pt") as f:
            meta = f.metadata() or {}
            if meta.get("format") != _FORMAT:
                raise ValueError("not a causalmmm_ppl tensor file")
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        return _decode(json.loads(meta["tree"]), tensors)
    except Exception as exc:  # any failure to read means a damaged or foreign file
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise InputError(f"{p}: unreadable ({reason})" + (f"; {hint}" if hint else "")) from None
