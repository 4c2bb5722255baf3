"""Run as each process of a launch by ``tests/test_cli_scale_out.py``: writes ``rank<RANK>`` into the folder given
as its argument, holding whether the process's fault handler is on."""

import faulthandler
import os
import sys
from pathlib import Path

Path(sys.argv[1], f"rank{os.environ['RANK']}").write_text(str(faulthandler.is_enabled()))
