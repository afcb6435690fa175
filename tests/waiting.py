"""Waiting in tests for something to happen: poll a condition until it holds.

The timeout only ends a test that would otherwise hang; it is generous on purpose and never
decides a pass, so no test depends on how fast (or how loaded) this machine is.
"""
from __future__ import annotations

import time
from collections.abc import Callable

TIMEOUT_S = 120.0


def wait_for(what: str, condition: Callable[[], object], timeout: float = TIMEOUT_S,
             poll_s: float = 0.05) -> None:
    """Return once `condition()` is true; AssertionError naming `what` if it never becomes so."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(poll_s)
