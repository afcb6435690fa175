"""The policy replay's core: which policies run, one trace × policy cell (means over the seeds, each
with its 95 % t interval over the seeds), the printed table, the aims checked against the
baseline, and the same figures as JSON."""
from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from functions.inspect.tables import table
from functions.scaler.tick.policy import Params

from . import pipeline, traces
from .apps import HTTP_LOAD_GENERATOR, ModelApp
from .pipeline import BaselineController, Controller, DecideController, Result

BOUNDS = (1, 10)
INITIAL_SIZE = 2
BASELINE = "baseline ±1/webhook"
BASELINE_KEY = "baseline"              # its key in --json
DEPLOYED_POLICY = "proportional"      # receiver's and sd's kicks + 60 s timer
TIMER_ONLY = " (60 s timer only)"


def controllers(bounds: tuple[int, int] = BOUNDS) -> list[Callable[[], Controller]]:
    return [lambda: DecideController(DEPLOYED_POLICY, Params(), bounds, kicked=True),
            lambda: DecideController(DEPLOYED_POLICY + TIMER_ONLY, Params(), bounds),
            lambda: BaselineController(bounds, BASELINE)]


def t_quantile(df: int, p: float = 0.975) -> float:
    """Student's t quantile by the Cornish-Fisher expansion about the normal one (Abramowitz &
    Stegun 26.7.5): within 0.01 of the tables from 4 degrees of freedom on, 0.001 from 8."""
    z = statistics.NormalDist().inv_cdf(p)
    v = float(df)
    return (z + (z ** 3 + z) / (4 * v) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * v ** 2)
            + (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / (384 * v ** 3))


def half_width(values: Sequence[float]) -> float | None:
    """Half the 95 % t interval of the mean over the seeds; None below two runs."""
    n = len(values)
    if n < 2:
        return None
    return t_quantile(n - 1) * statistics.stdev(values) / math.sqrt(n)


SPREAD = ("reaction_s", "violation_s", "instance_s", "actions", "flaps")


@dataclass(frozen=True)
class Row:
    policy: str
    reaction_s: float | None   # mean over seeds of each run's slowest capacity-closed shortfall
    reaction_max_s: int | None
    censored: int              # runs whose last shortfall never closed
    receded: float             # shortfalls per run the load itself ended
    violation_s: float
    instance_s: float
    actions: float
    flaps: float
    max_size: int
    outcomes: dict[str, float]  # what decide() did with the requests, per run
    spread: dict[str, float | None]  # SPREAD figure → half its 95 % t interval over the seeds

    def pm(self, name: str, scale: float = 1.0, digits: int = 0) -> str:
        """A figure with its spread, e.g. "146 ±9"; "—" without one."""
        value = getattr(self, name)
        if value is None:
            return "—"
        hw = self.spread.get(name)
        text = f"{scale * value:.{digits}f}"
        return text if hw is None else f"{text} ±{scale * hw:.{digits}f}"


def summarise(name: str, runs: list[Result]) -> Row:
    reactions = [r.reaction_s for r in runs if r.reaction_s is not None]
    n = len(runs)
    keys = sorted({k for r in runs for k in r.outcomes})
    per_run: dict[str, list[float]] = {
        "reaction_s": [float(x) for x in reactions],
        "violation_s": [float(r.violation_s) for r in runs],
        "instance_s": [float(r.instance_s) for r in runs],
        "actions": [float(len(r.actions)) for r in runs],
        "flaps": [float(r.flaps) for r in runs]}
    return Row(name,
               statistics.fmean(reactions) if reactions else None,
               max(reactions) if reactions else None,
               sum(r.censored for r in runs),
               sum(r.receded for r in runs) / n,
               statistics.fmean(r.violation_s for r in runs),
               statistics.fmean(r.instance_s for r in runs),
               statistics.fmean(len(r.actions) for r in runs),
               statistics.fmean(r.flaps for r in runs),
               max(r.max_size for r in runs),
               {k: sum(r.outcomes[k] for r in runs) / n for k in keys},
               {k: half_width(v) for k, v in per_run.items()})


def run_trace(trace: traces.Trace, seeds: int, delays: pipeline.Delays,
              thresholds: pipeline.Thresholds, app: ModelApp = HTTP_LOAD_GENERATOR) -> list[Row]:
    rows = []
    for make in controllers():
        runs = [pipeline.simulate(trace.demand, make(), seed=s, delays=delays, thresholds=thresholds,
                                  initial_size=INITIAL_SIZE, bounds=BOUNDS, app=app) for s in range(seeds)]
        rows.append(summarise(runs[0].policy, runs))
    return rows


def render(trace: traces.Trace, rows: list[Row], floor_s: float, old_floor_s: float) -> str:
    base = next(r for r in rows if r.policy == BASELINE)
    body = []
    for r in rows:
        react = r.pm("reaction_s")
        if r.reaction_s is not None:
            react += f" (max {r.reaction_max_s})"
        if r.censored:
            react += f" +{r.censored} unclosed"
        ratio = "—" if r.reaction_s is None else f"{r.reaction_s / floor_s:.2f}"
        body.append([r.policy, react, ratio, r.pm("violation_s"), r.pm("instance_s"),
                     r.pm("instance_s", 100 / base.instance_s) + " %", f"{r.actions:.1f}",
                     r.pm("flaps", digits=2), r.max_size, f"{r.receded:.1f}"])
    head = (f"## {trace.name}: {trace.note}  (floor {floor_s:.1f} s kicked, "
            f"{old_floor_s:.1f} s timer only)")
    lines = [head, table(["policy", "reaction s", "×floor", "SLO-viol s", "instance-s",
                          "vs baseline", "actions", "flaps", "max size", "receded"], body)]
    for r in rows:
        if r.policy != BASELINE:
            what = ", ".join(f"{k} {v:.1f}" for k, v in r.outcomes.items() if v)
            lines.append(f"   {r.policy}: requests per run — {what or 'none'}")
    return "\n".join(lines)


def aims(results: dict[str, list[Row]], trace_list: list[traces.Trace], floor_s: float,
         old_floor_s: float) -> list[str]:
    """The aims, checked for the deployed policy on the means: met or missed, with the figures and
    their spreads. The floor is the kicked pipeline's (no tick wait); the old floor is shown
    beside it for comparison."""
    name = DEPLOYED_POLICY
    out = [f"{name}:"]
    if "step" in results:
        step = next(r for r in results["step"] if r.policy == name)
        ok = step.reaction_s is not None and step.reaction_s <= 1.1 * floor_s
        out[0] += (f" step reaction ≤ 1.1 × floor: {'met' if ok else 'MISSED'} "
                   f"({(step.reaction_s or 0) / floor_s:.2f} × the kicked floor, "
                   f"{(step.reaction_s or 0) / old_floor_s:.2f} × the old one)")
    for trace in trace_list:
        rows = {r.policy: r for r in results[trace.name]}
        me, base = rows[name], rows[BASELINE]
        slower = (me.reaction_s is not None and base.reaction_s is not None
                  and me.reaction_s > base.reaction_s) or (me.censored > base.censored)
        viol = me.violation_s > base.violation_s
        cost = me.instance_s > 1.1 * base.instance_s
        flaps = trace.steady and me.flaps > 0
        fails = [m for m, bad in (
            (f"slower than baseline ({me.pm('reaction_s')} vs {base.pm('reaction_s')} s, "
             f"unclosed {me.censored} vs {base.censored})", slower),
            (f"more SLO-violation ({me.pm('violation_s')} vs {base.pm('violation_s')} s)", viol),
            (f"cost {me.pm('instance_s', 100 / base.instance_s)} % > 110 %", cost),
            (f"{me.flaps:.2f} flaps on steady load", flaps)) if bad]
        out.append(f"  {trace.name:<9} {'met' if not fails else 'MISSED: ' + '; '.join(fails)}")
    return out


_JSON_KEYS = {"reaction_s": "reaction_s", "violation_s": "slo_violation_s", "instance_s": "instance_s",
              "actions": "actions", "flaps": "flaps"}


def cell(r: Row) -> dict[str, Any]:
    """One row's figures; each mean's 95 % t interval over the seeds under `<key>_ci95` as
    [low, high] (None below two runs, or without a figure)."""
    out: dict[str, Any] = {"reaction_s": r.reaction_s, "slo_violation_s": r.violation_s,
                           "instance_s": r.instance_s, "actions": r.actions, "flaps": r.flaps,
                           "reaction_max_s": r.reaction_max_s, "unclosed": r.censored,
                           "receded": r.receded, "max_size": r.max_size}
    for name, key in _JSON_KEYS.items():
        value, hw = getattr(r, name), r.spread.get(name)
        out[f"{key}_ci95"] = None if value is None or hw is None else [value - hw, value + hw]
    return out


def as_json(results: dict[str, list[Row]], trace_list: list[traces.Trace], floor_s: float,
            old_floor_s: float, app: ModelApp, seeds: int) -> dict[str, Any]:
    """Every cell the tables show (means over the seeds, with their intervals), keyed by trace and
    policy; the baseline's key is `baseline`."""
    return {"deployed": DEPLOYED_POLICY, "app": app.name, "seeds": seeds,
            "traces": {t.name: {"floor_s": floor_s, "old_floor_s": old_floor_s, "note": t.note,
                                "steady": t.steady, "duration_s": t.duration_s,
                                "policies": {BASELINE_KEY if r.policy == BASELINE else r.policy:
                                             cell(r) for r in results[t.name]}}
                       for t in trace_list}}
