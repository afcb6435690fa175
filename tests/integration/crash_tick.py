"""Runs the real tick, SIGKILLing itself at the step named by CRASH_AT (test harness only)."""
from __future__ import annotations

import os
import signal
import sys

from functions.scaler.tick import run as tick

target = os.environ["CRASH_AT"]


def crash_here(name: str) -> None:
    if name == target:
        os.kill(os.getpid(), signal.SIGKILL)


tick.checkpoint = crash_here
sys.exit(tick.main(sys.argv[1:]))
