"""Running `python -m charloom` as a user would, from any test folder (tests/ is on sys.path)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def interruptible() -> None:
    """For ``Popen(preexec_fn=...)`` in tests that send Ctrl-C. A child started under a
    shell's background job inherits SIGINT ignored, and Python then installs no
    KeyboardInterrupt handler; restored to the default, Python installs its own."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run `python -m charloom ...` in a fresh process, as a user would."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "charloom", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )
