"""How many requests in flight a member can hold at a target CPU, fitted to what the alert saw.

On http-load-generator a member's CPU is the share of time it holds at least one request, so the
same demand d (requests in flight per member) shows as different CPUs depending on how requests
spread over the members. One family covers the spreads we meet: with N independent sources of
requests, P(member idle) = (1 - d/N)^N, N >= max(1, d):

- N = 1: closed-loop clients spread evenly (round robin): CPU = min(1, d);
- N = k: k closed-loop clients each hashed at random onto one of M members: (1 - 1/M)^k exactly;
- N -> infinity: random (Poisson) arrivals: CPU = 1 - e^(-d).

N counts sources, not members, so it stays when the pool is resized: fitted to one (d, u) pair it
predicts CPU at any other size. The demand per member that gives CPU = t is then
c = N(1 - (1 - t)^(1/N)): t for N = 1, -ln(1 - t) (1.20 at the deployed t = 0.7) for random arrivals.
For a fixed d, (1 - d/N)^N grows with N towards e^(-d), so a CPU between the two ends fits exactly
one N, found by bisection on 1/N.

Safe-side fallbacks, all giving c = t (sizing by requests in flight alone, which never leaves CPU
above t whatever the spread, since P(n >= 1) <= E[n]): CPU unknown; CPU saturated (at or above
SATURATED_CPU every N fits a busy pool about as well); or no more requests than busy members (d <= u:
the demand figure is the CPU itself, as on a CPU-bound app or a scale-down). A CPU below the random-
arrival curve (a window straddling a change of load) fits no N: it is taken as random arrivals,
which predict a higher CPU than any such spread.

No deadlock: if the demand figure is at least the CPU (the alert sends the larger of the two)
and u >= t, then d / c >= u / t. Every curve of the family is concave and starts at 0, so CPU per
unit of demand only falls along it: the fitted curve passes through (d, u) and reaches t at c, so
t / c >= u / d; the random-arrival curve lies above u at d, so again; and the fallback's c = t
gives d / t >= u / t. A firing scale-up (u above the alert's threshold, itself above t) therefore
always asks for more members than the pool it measured. And t <= c <= -ln(1 - t): the fit only
ever sizes a scale-up between today's rule and what random arrivals need.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

# At or above this CPU a pool may be closed-loop clients that keep every member busy but for the
# gaps between an answer and the next request (up to 3 % of a 10 s request: 300 ms). Every N up
# to d then fits about as well, so the fit cannot tell and falls back to t. Below it, random
# arrivals are still told apart up to 3.5 in flight per member (1 - e^(-3.5) = 0.97). The same
# idea as alerts.json's `saturated_cpu` (0.95, where load1 starts to count as demand), set a little
# higher so that a double step on random arrivals (3 in flight per member, CPU 0.95) still fits.
SATURATED_CPU = 0.97
_ITERATIONS = 60  # bisection halvings of 1/N: far below any figure the sizing rounds to


@dataclass(frozen=True)
class Capacity:
    per_member: float        # requests in flight per member at which CPU is the target
    sources: float | None    # the fitted N (math.inf: random arrivals); None: a fallback applied
    why: str                 # which case applied, for the decision's reason


def _idle(demand: float, s: float) -> float:
    """(1 - d/N)^N with s = 1/N; s = 0 is the random-arrival limit e^(-d)."""
    if s == 0.0:
        return math.exp(-demand)
    base = 1.0 - demand * s
    return 0.0 if base <= 0.0 else math.exp(math.log(base) / s)


def _at_target(s: float, target: float) -> float:
    """c = N(1 - (1 - t)^(1/N)) with s = 1/N; s = 0 gives -ln(1 - t)."""
    log_idle = math.log1p(-target)
    return -log_idle if s == 0.0 else -math.expm1(s * log_idle) / s


def fit(demand: float, cpu: float | None, target: float) -> Capacity:
    """The requests in flight per member that keep CPU at `target`, given that the pool showed
    `cpu` (0..1) while holding `demand` requests in flight per member over the same window."""
    if cpu is None:
        return Capacity(target, None, "CPU unknown")
    if cpu >= SATURATED_CPU:
        return Capacity(target, None, f"CPU {cpu:.3f} saturated")
    if demand <= cpu:
        return Capacity(target, None, f"demand {demand:.3f} ≤ CPU {cpu:.3f}")
    idle = 1.0 - cpu
    if idle >= _idle(demand, 0.0) - 1e-9:  # (the tolerance: a CPU computed from that very curve)
        return Capacity(_at_target(0.0, target), math.inf,
                        f"CPU {cpu:.3f} at or under random arrivals' {1 - _idle(demand, 0.0):.3f}")
    # idle(s) falls from e^(-d) at s = 0 to max(0, 1 - d) at s = 1/max(1, d), where it is below
    # `idle` (d > u); keep idle(low) > idle >= idle(high).
    low, high = 0.0, 1.0 / max(1.0, demand)
    for _ in range(_ITERATIONS):
        mid = (low + high) / 2
        if _idle(demand, mid) > idle:
            low = mid
        else:
            high = mid
    return Capacity(_at_target(high, target), 1.0 / high, f"occupancy fit N={1.0 / high:.1f}")
