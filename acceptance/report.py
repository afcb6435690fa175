"""The run's table of checks and its cost (pure)."""
from __future__ import annotations

from dataclasses import dataclass, field

from functions.common.prices import Prices, instance_cost


@dataclass(frozen=True)
class CheckRow:
    check: str
    ok: bool | None      # None: not run (an earlier step failed or the run was interrupted)
    seconds: float
    detail: str


def table(rows: list[CheckRow]) -> str:
    width = max([len(r.check) for r in rows] + [5])
    lines = [f"{'CHECK':<{width}}  RESULT   TIME      DETAIL"]
    for r in rows:
        result = "skipped" if r.ok is None else ("ok" if r.ok else "FAILED")
        lines.append(f"{r.check:<{width}}  {result:<7}  {r.seconds:>6.0f} s  {r.detail}")
    return "\n".join(lines)


@dataclass
class Usage:
    """What the run kept alive, integrated from pool-size samples (billed by the second)."""
    started: float
    pool_size: int = 1
    member_seconds: float = 0.0
    last: float = 0.0
    samples: list[tuple[float, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.last = self.started

    def sample(self, t: float, size: int) -> None:
        self.member_seconds += self.pool_size * max(0.0, t - self.last)
        self.last, self.pool_size = t, size
        self.samples.append((t, size))

    def close(self, t: float) -> float:
        """Account up to `t` (the end of destroy); returns the run's length in seconds."""
        self.sample(t, self.pool_size)
        return t - self.started


def cost(prices: Prices, usage: Usage, seconds: float, *, pool_type: str, monitoring_type: str,
         disk_gib: float) -> float:
    vm_seconds = usage.member_seconds + seconds
    return (instance_cost(prices, pool_type, 1, usage.member_seconds)
            + instance_cost(prices, monitoring_type, 1, seconds)
            + (prices.nlb_hourly * seconds + prices.disk_gib_hourly * disk_gib * vm_seconds) / 3600.0)


def cost_line(prices: Prices, amount: float, seconds: float) -> str:
    status = "confirmed" if prices.confirmed else "NOT re-checked against the source"
    return (f"cost of this run (≈ {seconds / 60:.0f} min): ≈ {amount:.4f} {prices.currency}, from the price table of "
            f"{prices.checked.isoformat()} ({prices.source}, {status}; traffic not included)")
