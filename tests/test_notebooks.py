"""The research notebooks run top to bottom on small settings (``CAUSALMMM_NB_SMALL=1``).

The kernel is this interpreter (``sys.executable -m ipykernel_launcher``), so the test does not depend on a
registered Jupyter kernel; its environment carries the small-settings switch and an output directory.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
from jupyter_client.kernelspec import KernelSpec  # noqa: E402
from jupyter_client.manager import KernelManager  # noqa: E402

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ["01_quickstart", "02_graph_priors", "03_causalmmm_vs_btvc", "04_peer_data", "05_effects_and_budget"]
TIMEOUT_S = 240


def this_python_kernel() -> KernelManager:
    """A kernel manager whose kernel is ``sys.executable -m ipykernel_launcher`` (whatever kernels are registered)."""
    km = KernelManager(kernel_name="python3")
    km._kernel_spec = KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                                 display_name="this interpreter", language="python")
    return km


def run_in_kernel(nb: nbformat.NotebookNode, timeout: int, **kwargs) -> nbformat.NotebookNode:
    """Execute ``nb`` in a fresh kernel of this Python and shut the kernel down (a client given its kernel manager
    leaves the kernel running, about 1 GB, until pytest ends); returns ``nb``."""
    km = this_python_kernel()
    try:
        nbclient.NotebookClient(nb, km=km, timeout=timeout, kernel_name="python3", **kwargs).execute()
    finally:
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    return nb


def execute(name: str, out_dir: Path) -> nbformat.NotebookNode:
    """Run ``notebooks/<name>.ipynb`` in a fresh kernel of this Python; returns the executed notebook."""
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    return run_in_kernel(nb, TIMEOUT_S, resources={"metadata": {"path": str(out_dir)}})


def _text(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            parts.append(str(out.get("data", {}).get("text/plain", "")))
            parts.append(str(out.get("data", {}).get("text/html", "")))
    return "\n".join(parts)


@pytest.fixture
def small_env(monkeypatch, tmp_path):
    monkeypatch.setenv("CAUSALMMM_NB_SMALL", "1")
    monkeypatch.setenv("CAUSALMMM_NB_OUT", str(tmp_path / "out"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return tmp_path


def test_the_kernel_is_this_python(small_env):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import sys; print(sys.executable)")])
    run_in_kernel(nb, 60)
    assert Path(nb.cells[0].outputs[0]["text"].strip()) == Path(sys.executable)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_on_small_settings(name, small_env):
    nb = execute(name, small_env)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    text = _text(nb)
    assert "settings: small" in text
    if name == "01_quickstart":
        assert (small_env / "out" / "quickstart_report.html").is_file()
    if name == "02_graph_priors":
        last = nb.cells[-1] if nb.cells[-1].cell_type == "code" else nb.cells[-2]
        final = _text(nbformat.v4.new_notebook(cells=[last]))
        assert "rank by AUROC" in final and "rank by ELPD-LOO" in final


def test_committed_notebooks_are_small_and_executed():
    for name in NAMES:
        path = NOTEBOOKS / f"{name}.ipynb"
        assert path.stat().st_size < 1_500_000, f"{path.name} is too large to read on GitHub"
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code and all(c.get("execution_count") for c in code), f"{path.name}: not executed top to bottom"
        assert not [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
