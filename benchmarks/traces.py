"""Load traces for the policy benchmark: demand per second in members' worth.

On http-load-generator (the deployed app) a demand of 3.0 is three requests in flight on average
(0.3 requests/s at 10 s each); on 2 serving members that is 1.5 each, which CPU shows as 78 %
under random arrivals (and 100 % for closed-loop clients) while the requests in flight read 1.5.
On a CPU-bound app it keeps three members fully busy. Every trace is a pure function of its seed,
so every policy and every run sees the same demand (benchmarks/apps.py turns it into metrics).
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Trace:
    name: str
    demand: tuple[float, ...]  # one value per second
    note: str
    steady: bool = False       # steady load: the aim is zero flaps here

    @property
    def duration_s(self) -> int:
        return len(self.demand)


def _hold(value: float, seconds: int) -> list[float]:
    return [value] * seconds


def flat(level: float = 1.0, minutes: int = 40) -> Trace:
    return Trace("flat", tuple(_hold(level, minutes * 60)),
                 f"{level:g} for {minutes} min (pool of 2 at half a member's worth each)", steady=True)


def step(low: float = 1.0, high: float = 4.0, before_min: int = 10, after_min: int = 30) -> Trace:
    return Trace("step", tuple(_hold(low, before_min * 60) + _hold(high, after_min * 60)),
                 f"{low:g} → {high:g} at {before_min} min, then steady", steady=True)


def ramp(low: float = 1.0, high: float = 6.0, start_min: int = 5, ramp_min: int = 20,
         hold_min: int = 15) -> Trace:
    n = ramp_min * 60
    rising = [low + (high - low) * i / n for i in range(n)]
    return Trace("ramp", tuple(_hold(low, start_min * 60) + rising + _hold(high, hold_min * 60)),
                 f"{low:g} → {high:g} linearly over {ramp_min} min, hold {hold_min} min")


def spike(base: float = 1.0, peak: float = 5.0, at_min: int = 10, spike_s: int = 180,
          total_min: int = 40) -> Trace:
    after = total_min * 60 - at_min * 60 - spike_s
    return Trace("spike", tuple(_hold(base, at_min * 60) + _hold(peak, spike_s) + _hold(base, after)),
                 f"{base:g} → {peak:g} for {spike_s} s at {at_min} min")


def diurnal(low: float = 0.8, high: float = 5.0, period_min: int = 120, seed: int = 1) -> Trace:
    """A day compressed into `period_min`, with per-minute noise (±5 %) so it is not too smooth."""
    rng = random.Random(seed)
    noise = [1.0 + rng.uniform(-0.05, 0.05) for _ in range(period_min + 1)]
    n = period_min * 60
    values = [(low + (high - low) * (1 - math.cos(2 * math.pi * i / n)) / 2) * noise[i // 60]
              for i in range(n)]
    return Trace("diurnal", tuple(values),
                 f"{low:g} → {high:g} → {low:g}, cosine over {period_min} min, ±5 % noise/min")


def flapping(centre: float = 1.6, swing: float = 0.16, period_s: int = 240, minutes: int = 40,
             seed: int = 2) -> Trace:
    """Two members hovering around 80 % CPU: the alert edge, again and again. `centre` is two
    members' worth at that CPU: 1.6 on a CPU-bound app, 2 × ln 5 = 3.22 requests in flight on
    http-load-generator under random arrivals (all_traces)."""
    rng = random.Random(seed)
    values = []
    for i in range(minutes * 60):
        if i % 30 == 0:
            jitter = rng.uniform(-0.03, 0.03)
        values.append(centre + swing * math.sin(2 * math.pi * i / period_s) + centre * jitter)
    return Trace("flapping", tuple(values),
                 f"{centre:.3g} ± {swing:.2g} (2 members at 80 % CPU, ± 10 % demand), period {period_s} s",
                 steady=True)


def all_traces(edge_per_member: float = 0.8) -> list[Trace]:
    """Every trace; `edge_per_member` is one member's demand at the 80 % CPU edge for the app."""
    centre = 2 * edge_per_member
    return [step(), double_step(), ramp(), sawtooth(), spike(), diurnal(),
            flapping(centre, centre / 10), noisy_plateau(centre), flat()]


def double_step(low: float = 1.0, mid: float = 3.0, high: float = 6.0, first_min: int = 10,
                gap_s: int = 150, after_min: int = 25) -> Trace:
    """A second step while the first one's capacity is still booting: sizing that counted the
    first step as final is one pipeline behind on the second."""
    return Trace("dblstep", tuple(_hold(low, first_min * 60) + _hold(mid, gap_s)
                                  + _hold(high, after_min * 60)),
                 f"{low:g} → {mid:g} at {first_min} min → {high:g} {gap_s} s later, then steady")


def sawtooth(low: float = 2.0, high: float = 6.0, period_s: int = 200, minutes: int = 40) -> Trace:
    """Linear rise from `low` to `high` over one period, then an instant fall, again and again:
    a period near the pipeline's delay, so every action arrives about when the load has moved on."""
    values = [low + (high - low) * (i % period_s) / period_s for i in range(minutes * 60)]
    return Trace("sawtooth", tuple(values),
                 f"{low:g} → {high:g} rising over {period_s} s then dropping, repeated")


def noisy_plateau(centre: float = 3.22, noise: float = 0.1, every_s: int = 10, minutes: int = 40,
                  seed: int = 3) -> Trace:
    """Steady load right at the scale-up edge of 2 members, with ±`noise` relative jitter held
    `every_s` s: whatever a look-ahead makes of the noise must not turn into flaps."""
    rng = random.Random(seed)
    values: list[float] = []
    for i in range(minutes * 60):
        if i % every_s == 0:
            level = centre * (1 + rng.uniform(-noise, noise))
        values.append(level)
    return Trace("plateau", tuple(values),
                 f"{centre:.3g} ± {noise:.0%} every {every_s} s (2 members at the 80 % CPU edge)",
                 steady=True)

