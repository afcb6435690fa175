"""Ending child processes the way a service manager does: SIGTERM, a grace period, then SIGKILL."""
from __future__ import annotations

import subprocess
from collections.abc import Iterable
from typing import Any


def stop(*procs: subprocess.Popen[Any], grace_s: float = 10.0) -> None:
    """Ask every process to stop at once, then kill whichever outlives the grace period."""
    stop_all(procs, grace_s)


def stop_all(procs: Iterable[subprocess.Popen[Any]], grace_s: float = 10.0) -> None:
    running = [p for p in procs if p.poll() is None]
    for p in running:
        p.terminate()
    for p in running:
        try:
            p.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
