"""A command that ends with os._exit (flows.foreground.exit_now) still cleans up after itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_PROGRAM = """
import prefect  # exit_now only short-cuts the teardown of a process that loaded Prefect
from warehouse import lake
from flows.foreground import exit_now
print(lake._process_scratch(), flush=True)
exit_now(3)
"""


def test_exit_now_removes_the_lake_spill_folder_and_keeps_the_exit_code(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _PROGRAM],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert result.returncode == 3, result.stderr
    folder = Path(result.stdout.strip())
    assert folder.parent == tmp_path and folder.name.startswith("passive-lake-")
    assert not folder.exists()
