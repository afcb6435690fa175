"""Pure: what both load drivers record per request, the rolling figures of a live progress line
(`window_figures`) and a whole run's summary (`summarise`); sandbox/loadgen.py (open loop) and
sandbox/closed_loop.py (the checker's clients) fill the records."""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Record:
    start: float  # s since the generator started: the scheduled arrival, so lag counts as latency
    end: float  # s since the generator started, when the answer (or failure) came
    status: int  # HTTP status, 0 when there was no HTTP answer
    error: str  # "" for 200; "http" (other status), "timeout", "conn", "overflow" (not sent: bound)

    @property
    def latency(self) -> float:
        return self.end - self.start

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass(frozen=True)
class Figures:
    t: float  # s since start
    window_s: float  # the window the rates were taken over (shorter at the very start)
    offered_rps: float  # arrivals per s (sent or not)
    achieved_rps: float  # 200 answers per s
    p95_s: float | None  # 95th percentile latency of 200 answers in the window
    errors: int  # non-200 outcomes in the window, overflow included
    in_flight: int
    sent: int  # totals since start
    ok: int
    failed: int


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of an ascending sequence."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def window_figures(arrivals: Sequence[float], records: Sequence[Record], now: float,
                   window_s: float, in_flight: int) -> Figures:
    """Rolling figures over (now - window_s, now]; `arrivals` and records' `end` ascending."""
    span = min(window_s, now) if now > 0 else window_s
    lo = now - span
    # the window is (lo, now], except that it takes in t=0 while it still reaches the start
    offered = len(arrivals) - (bisect.bisect_right(arrivals, lo) if lo > 0 else 0)
    recent: list[Record] = []
    for rec in reversed(records):
        if lo > 0 and rec.end <= lo:
            break
        recent.append(rec)
    ok_latencies = sorted(r.latency for r in recent if r.ok)
    total_ok = sum(1 for r in records if r.ok)
    return Figures(
        t=now,
        window_s=span,
        offered_rps=offered / span if span > 0 else 0.0,
        achieved_rps=len(ok_latencies) / span if span > 0 else 0.0,
        p95_s=percentile(ok_latencies, 95),
        errors=sum(1 for r in recent if not r.ok),
        in_flight=in_flight,
        sent=sum(1 for r in records if r.error != "overflow") + in_flight,
        ok=total_ok,
        failed=len(records) - total_ok,
    )


def format_figures(f: Figures) -> str:
    p95 = f"{f.p95_s * 1000:6.0f}ms" if f.p95_s is not None else "     - "
    return (f"t={f.t:6.1f}s offered={f.offered_rps:6.1f}/s ok={f.achieved_rps:6.1f}/s "
            f"p95={p95} errors={f.errors:4d} in-flight={f.in_flight:3d}")


@dataclass(frozen=True)
class Summary:
    duration_s: float
    offered: int  # arrivals scheduled
    ok: int
    errors: dict[str, int]  # by kind
    achieved_rps: float
    p50_s: float | None
    p95_s: float | None
    p99_s: float | None
    max_s: float | None


def summarise(records: Sequence[Record], duration_s: float) -> Summary:
    ok_latencies = sorted(r.latency for r in records if r.ok)
    return Summary(
        duration_s=duration_s,
        offered=len(records),
        ok=len(ok_latencies),
        errors=dict(Counter(r.error for r in records if not r.ok)),
        achieved_rps=len(ok_latencies) / duration_s if duration_s > 0 else 0.0,
        p50_s=percentile(ok_latencies, 50),
        p95_s=percentile(ok_latencies, 95),
        p99_s=percentile(ok_latencies, 99),
        max_s=ok_latencies[-1] if ok_latencies else None,
    )
