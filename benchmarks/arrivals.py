"""Requests in flight as a count, for http-load-generator under random arrivals.

A trace's demand d (members' worth) is d / 10 requests per second, each held 10 s. The number in
flight is then not d but a Poisson count with mean d (M/D/∞), and counts taken 5 s apart share
half their requests. Node exporter scrapes that count, so the alert's average and, above all,
its 30 s deriv() trend carry this noise; the pipeline model draws it from the run's seed, the
same draws for every policy. CPU stays the smooth mean 1 - e^(-x): a 30 s rate() averages
six scrapes' worth of it, so its noise is the smaller one and the thresholds see the trace.
"""
from __future__ import annotations

import math
import random
from collections import deque

from sandbox.apps.http_load_generator import REQUEST_S


def poisson(rng: random.Random, mean: float) -> int:
    """One Poisson draw (Knuth's product of uniforms: exact, fine for the means a second holds)."""
    if mean <= 0:
        return 0
    if mean > 30:   # CSV traces may hold far more; the normal approximation is close there
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


class RandomArrivals:
    """The pool's requests in flight, second by second: arrivals of the last REQUEST_S seconds."""

    def __init__(self, rng: random.Random, in_flight: float, hold_s: int = int(REQUEST_S)) -> None:
        self.rng = rng
        self.hold_s = hold_s
        # Start in steady state: each of the last hold_s seconds drew its share of the demand.
        self.recent: deque[int] = deque((poisson(rng, in_flight / hold_s) for _ in range(hold_s)),
                                        maxlen=hold_s)

    def second(self, demand: float) -> int:
        """Requests in flight pool-wide after this second's arrivals (demand in members' worth)."""
        self.recent.append(poisson(self.rng, demand / self.hold_s))
        return sum(self.recent)
