"""`python -m benchmarks.policies`: replay load traces through one modelled pipeline per policy.

Every policy sees the same demand, the same scrape/eval/tick phases and the same boot times
(seeds 0..N-1); only the decision differs. `step` and `proportional` run the real
`functions.scaler.policy.decide()` as deployed: on the 60 s timer, on a tick each stored
delivery starts (the receiver's kick) and on one each discovery cycle that sees the running
members change starts (sd's kick); the "timer only" rows are the pipeline before both kicks.
The baseline acts ±1 on every webhook delivery.
Figures are means over the seeds (reaction: mean of each run's slowest shortfall).
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from functions.common.config import Config
from functions.inspect.tables import table
from functions.scaler.policy import Params

from . import pipeline, traces
from .pipeline import BaselineController, Controller, DecideController, Result

BOUNDS = (1, 10)
INITIAL_SIZE = 2
BASELINE = "baseline ±1/webhook"
DEPLOYED = ("step", "proportional")   # receiver's and sd's kicks + 60 s timer
TIMER_ONLY = " (60 s timer only)"


def controllers(bounds: tuple[int, int] = BOUNDS) -> list[Callable[[], Controller]]:
    # Params defaults are the deployment defaults (target 0.6, max_step 4, cooldown 120 s, settle 150 s).
    return [lambda: DecideController("step", Params(policy="step"), bounds, kicked=True),
            lambda: DecideController("proportional", Params(policy="proportional"), bounds,
                                     kicked=True),
            lambda: DecideController("step" + TIMER_ONLY, Params(policy="step"), bounds),
            lambda: DecideController("proportional" + TIMER_ONLY, Params(policy="proportional"),
                                     bounds),
            lambda: BaselineController(bounds, BASELINE)]


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


def summarise(name: str, runs: list[Result]) -> Row:
    reactions = [r.reaction_s for r in runs if r.reaction_s is not None]
    n = len(runs)
    keys = sorted({k for r in runs for k in r.outcomes})
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
               {k: sum(r.outcomes[k] for r in runs) / n for k in keys})


def run_trace(trace: traces.Trace, seeds: int, delays: pipeline.Delays,
              thresholds: pipeline.Thresholds) -> list[Row]:
    rows = []
    for make in controllers():
        runs = [pipeline.simulate(trace.demand, make(), seed=s, delays=delays, thresholds=thresholds,
                                  initial_size=INITIAL_SIZE, bounds=BOUNDS) for s in range(seeds)]
        rows.append(summarise(runs[0].policy, runs))
    return rows


def render(trace: traces.Trace, rows: list[Row], floor_s: float, old_floor_s: float) -> str:
    base = next(r for r in rows if r.policy == BASELINE)
    body = []
    for r in rows:
        react = "—" if r.reaction_s is None else f"{r.reaction_s:.0f} (max {r.reaction_max_s})"
        if r.censored:
            react += f" +{r.censored} unclosed"
        ratio = "—" if r.reaction_s is None else f"{r.reaction_s / floor_s:.2f}"
        old_ratio = "—" if r.reaction_s is None else f"{r.reaction_s / old_floor_s:.2f}"
        body.append([r.policy, react, ratio, old_ratio, f"{r.violation_s:.0f}", f"{r.instance_s:.0f}",
                     f"{100 * r.instance_s / base.instance_s:.0f} %", f"{r.actions:.1f}",
                     f"{r.flaps:.2f}", r.max_size, f"{r.receded:.1f}"])
    head = (f"## {trace.name}: {trace.note}  (floor {floor_s:.1f} s kicked, "
            f"{old_floor_s:.1f} s timer only)")
    lines = [head, table(["policy", "reaction s", "×floor", "×old floor", "SLO-viol s", "instance-s",
                          "vs baseline", "actions", "flaps", "max size", "receded"], body)]
    for r in rows:
        if r.policy != BASELINE:
            what = ", ".join(f"{k} {v:.1f}" for k, v in r.outcomes.items() if v)
            lines.append(f"   {r.policy}: requests per run — {what or 'none'}")
    return "\n".join(lines)


def aims(results: dict[str, list[Row]], trace_list: list[traces.Trace], floor_s: float,
         old_floor_s: float) -> list[str]:
    """The issue's aims, checked per deployed policy: met or missed, with the figures. The floor
    is the kicked pipeline's (no tick wait); the old floor is shown beside it for comparison."""
    out = []
    for name in DEPLOYED:
        step = next(r for r in results["step"] if r.policy == name)
        ok = step.reaction_s is not None and step.reaction_s <= 1.1 * floor_s
        out.append(f"{name:>12}: step reaction ≤ 1.1 × floor: {'met' if ok else 'MISSED'} "
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
            fails = [m for m, bad in (("slower than baseline", slower), ("more SLO-violation", viol),
                                      ("cost > 110 %", cost), ("flaps on steady load", flaps)) if bad]
            out.append(f"{'':>12}  {trace.name:<9} {'met' if not fails else 'MISSED: ' + ', '.join(fails)}")
    return out


# What-if variants, NOT the deployment: the same decide() with other Params on the deployed
# (kicked) pipeline; for comparison the previous deployment (the receiver's kick, no sd kick) and
# the 10 s timer without kicks the kick replaced. (label, params, delay changes, kicked, sd kicked)
WHAT_IF: list[tuple[str, Params, dict[str, int], bool, bool]] = [
    ("proportional, target 0.5", Params(policy="proportional", target_utilization=0.5), {}, True,
     True),
    ("proportional, no sd kick", Params(policy="proportional"), {}, True, False),
    ("proportional, tick 10 s, no kick", Params(policy="proportional"), {"tick_s": 10}, False,
     False)]


def what_if(trace_list: list[traces.Trace], seeds: int, delays: pipeline.Delays,
            thresholds: pipeline.Thresholds, results: dict[str, list[Row]]) -> str:
    body = []
    for label, params, changes, kicked, sd_kicked in WHAT_IF:
        variant = dataclasses.replace(delays, **changes)
        for trace in trace_list:
            if trace.name == "flat":
                continue
            runs = [pipeline.simulate(trace.demand, DecideController(label, params, BOUNDS,
                                                                     kicked=kicked,
                                                                     sd_kicked=sd_kicked), seed=s,
                                      delays=variant, thresholds=thresholds,
                                      initial_size=INITIAL_SIZE, bounds=BOUNDS) for s in range(seeds)]
            r = summarise(label, runs)
            # Compared with the baseline under the deployed delays: the baseline has no tick.
            base = next(b for b in results[trace.name] if b.policy == BASELINE)
            body.append([label, trace.name, "—" if r.reaction_s is None else
                         f"{r.reaction_s:.0f} / {base.reaction_s:.0f}",
                         f"{r.violation_s:.0f} / {base.violation_s:.0f}",
                         f"{100 * r.instance_s / base.instance_s:.0f} %",
                         f"{r.actions:.1f}", f"{r.flaps:.2f}", r.max_size])
    return table(["variant", "trace", "reaction s (vs base)", "SLO-viol s (vs base)", "cost vs base",
                  "actions", "flaps", "max size"], body)


def explain(trace_name: str, policy_name: str, seed: int, delays: pipeline.Delays,
            thresholds: pipeline.Thresholds) -> str:
    """One run, delivery by delivery and tick by tick: why a policy did what it did."""
    trace = next(t for t in traces.all_traces() if t.name == trace_name)
    make = next(m for m in controllers() if m().name == policy_name)
    ctl = make()
    r = pipeline.simulate(trace.demand, ctl, seed=seed, delays=delays, thresholds=thresholds,
                          initial_size=INITIAL_SIZE, bounds=BOUNDS)
    events: list[tuple[int, str]] = []
    for (t, direction, value), members in zip(r.deliveries, r.delivered_members, strict=True):
        total = "" if value is None or members is None else f" = {value * members:.2f} total"
        events.append((t, f"delivery {direction:<4} value {value:.2f} × members {members}{total} "
                          # the size before this second: a kicked tick may act in it
                          f"(demand now {trace.demand[t]:.2f}, pool {r.sizes[t - 1] if t else r.sizes[0]})"))
    for t, size, reason, trigger in getattr(ctl, "log", []):
        label = {"timer": "tick", "kick": "tick", "sd kick": "tick sd"}[trigger]
        events.append((t, f"{label:<8} size {size}: {reason}"))
    for t, direction in r.actions:
        events.append((t, f"ACTION   {direction} → size {r.sizes[t]}"))
    head = (f"# {trace.name}, {policy_name}, seed {seed}: reaction {r.reaction_s} s, SLO-viol "
            f"{r.violation_s} s, instance-s {r.instance_s}, max size {r.max_size}")
    return "\n".join([head] + [f"{t:>5}  {what}" for t, what in sorted(events, key=lambda e: e[0])])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.policies", description=__doc__)
    parser.add_argument("--seeds", type=int, default=40, help="runs per trace and policy (default 40)")
    parser.add_argument("--explain", metavar="TRACE:POLICY",
                        help="print one run's deliveries, ticks and actions instead (e.g. step:proportional)")
    parser.add_argument("--seed", type=int, default=0, help="the run --explain prints (default 0)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    delays, thresholds = pipeline.from_alert_spec()
    if args.explain:
        trace_name, _, policy_name = args.explain.partition(":")
        print(explain(trace_name, policy_name, args.seed, delays, thresholds))
        return 0
    fl, old_fl = pipeline.floor(delays), pipeline.floor(delays, kicked=False)
    trace_list = traces.all_traces()
    print("# Policy replay over one modelled pipeline")
    print(f"delays: {delays.describe()}  (alerting figures from bootstrap/alerting/alerts.json)")
    print(f"alert: up when avg over instances of 1m-rate CPU > {thresholds.up:.0%} for "
          f"{delays.for_s}s, down when < {thresholds.down:.0%}; scale_value = max(avg CPU, avg "
          f"load1 per core) once avg CPU ≥ {pipeline.DEPLOYED.saturated_cpu:.0%}, else avg CPU; scale_members = "
          "instances with ≥ 2 samples in the window")
    print(f"pool: {INITIAL_SIZE} members at start, bounds {BOUNDS}; decide() Params defaults "
          f"{Params()}; request TTL {Config.request_ttl_s:.0f} s")
    print(f"SLO violated while demand > serving × {pipeline.SLO_UTILISATION:.0%}; reaction = "
          "shortfall start → serving ≥ its peak need (shortfalls the load ended itself: 'receded')")
    print(f"floor (deployed: a stored delivery starts a tick) = {fl.describe()}")
    print(f"old floor (60 s timer only, for comparison) = {old_fl.describe()}; "
          f"{args.seeds} seeds per cell")
    results: dict[str, list[Row]] = {}
    for trace in trace_list:
        results[trace.name] = run_trace(trace, args.seeds, delays, thresholds)
        print()
        print(render(trace, results[trace.name], fl.total_s, old_fl.total_s))
    print()
    print("## aims (issue 6)")
    print("\n".join(aims(results, trace_list, fl.total_s, old_fl.total_s)))
    print()
    print("## what-if (NOT deployed): the real decide() with other Params, without sd's kick, or a "
          "10 s timer instead of kicks")
    print(what_if(trace_list, args.seeds, delays, thresholds, results))
    print(f"\n(ran in {time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
