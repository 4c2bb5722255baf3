"""The package's own names: every name in ``__all__`` resolves to the object its module defines, and importing the
package loads no engine."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import causalmmm_ppl


@pytest.mark.parametrize("name", [n for n in causalmmm_ppl.__all__ if n != "__version__"])
def test_public_names_are_the_modules_objects(name):
    module = importlib.import_module(causalmmm_ppl._EXPORTS[name])
    assert getattr(causalmmm_ppl, name) is getattr(module, name)
    assert name in dir(causalmmm_ppl)


def test_unknown_names_are_attribute_errors():
    with pytest.raises(AttributeError, match="no attribute 'fit'"):
        causalmmm_ppl.fit  # noqa: B018
    assert not hasattr(causalmmm_ppl, "definitely_not_there")


def test_importing_the_package_loads_no_engine():
    code = ("import sys, causalmmm_ppl; "
            "print(sorted(m for m in ('torch', 'jax', 'pyro', 'numpyro', 'arviz') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_readme_api_block_compiles_and_names_only_public_names():
    """The README's Python API example (not run here: it fits at full size) uses names the package exports."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = readme.split("## The Python API", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    compile(block, "README.md", "exec")
    used = set(re.findall(r"\bcm\.(\w+)", block))
    assert used and used <= set(causalmmm_ppl.__all__), used - set(causalmmm_ppl.__all__)
