"""A fingerprint of the model and inference source a benchmark ran with (the model is still being tuned: a table
whose fingerprint differs from the committed source's came from another version of the model)."""

from __future__ import annotations

import hashlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "causalmmm_ppl"


def source_fingerprint() -> str:
    """sha1 (12 hex digits) of ``causalmmm_ppl/models/*.py`` and ``causalmmm_ppl/inference/*.py``, in name order."""
    h = hashlib.sha1()
    for sub in ("models", "inference"):
        for path in sorted((PACKAGE / sub).glob("*.py")):
            h.update(f"{sub}/{path.name}\n".encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:12]


#: The fingerprint when the benchmark started (this module is imported as it starts): the source its runs imported,
#: even if the files change while it runs.
AT_START = source_fingerprint()


def fingerprint_line() -> str:
    return (f"Model source: sha1 `{AT_START}` of causalmmm_ppl/models/*.py + causalmmm_ppl/inference/*.py "
            "when the run started (`python -c \"from benchmarks._source import source_fingerprint as f; "
            "print(f())\"`).  ")
