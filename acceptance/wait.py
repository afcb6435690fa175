"""Waiting until a size (pool members, targets...) is acceptable, with an injected clock and sleep, so
tests drive time and the sandbox can use it as the real run does.

    taken = wait_for_size(lambda: api.pool_size(), at_least(2), timeout_s=300)

A size function that raises (a transient API error) counts as "not yet" and is retried until the
deadline; `WaitTimeout` carries the last size seen and the errors met.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]
Sleep = Callable[[float], None]


def at_least(n: int) -> Callable[[int], bool]:
    return lambda size: size >= n


def exactly(n: int) -> Callable[[int], bool]:
    return lambda size: size == n


@dataclass
class WaitTimeout(Exception):
    waited_s: float
    last: int | None
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        seen = "no size seen" if self.last is None else f"last size {self.last}"
        extra = f", {len(self.errors)} errors (last: {self.errors[-1]})" if self.errors else ""
        return f"not reached within {self.waited_s:.0f} s ({seen}{extra})"


def wait_for_size(size: Callable[[], int], accept: Callable[[int], bool], *, timeout_s: float,
                  poll_s: float = 5.0, clock: Clock = time.monotonic, sleep: Sleep = time.sleep,
                  on_sample: Callable[[float, int], None] | None = None) -> float:
    """Poll `size` until `accept(size)`; return the seconds taken, or raise WaitTimeout.

    `on_sample(t, size)` sees every size read (the acceptance run integrates them into the cost)."""
    start = clock()
    last: int | None = None
    errors: list[str] = []
    while True:
        try:
            last = size()
        except Exception as exc:  # any failure to read is "not yet": the timeout bounds it
            errors.append(f"{type(exc).__name__}: {exc}")
        else:
            if on_sample:
                on_sample(clock(), last)
            if accept(last):
                return clock() - start
        elapsed = clock() - start
        if elapsed >= timeout_s:
            raise WaitTimeout(elapsed, last, errors)
        sleep(min(poll_s, timeout_s - elapsed))
