"""`python -m benchmarks.policies`: replay load traces through one modelled pipeline per policy.

Every policy sees the same demand, the same scrape/eval/tick phases and the same boot times
(seeds 0..N-1); only the decision differs. `proportional` runs the real
`functions.scaler.tick.policy.decide()` as deployed: on the 60 s timer, on a tick each stored
delivery starts (the receiver's kick) and on one each discovery cycle that sees the running
members change starts (sd's kick); the "timer only" row is the pipeline without both kicks.
The baseline acts ±1 on every webhook delivery. The ablation rows run the deployed policy with
one mechanism removed each, on the same seeds.
Figures are means over the seeds (reaction: mean of each run's slowest shortfall), "±" half the
95 % t interval of that mean over the seeds.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from functions.common.config import Config
from functions.scaler.tick.policy import Params

from . import pipeline, traces
from .apps import APPS, ModelApp, edge_per_member
from .replay import (
    BASELINE,
    BASELINE_KEY,
    BOUNDS,
    INITIAL_SIZE,
    Row,
    aims,
    as_json,
    cell,
    controllers,
    render,
    run_trace,
)
from .trace_csv import TraceError, load
from .whatif import ablate, explain


def _header(app: ModelApp, delays: pipeline.Delays, thresholds: pipeline.Thresholds,
            fl: pipeline.Floor, old_fl: pipeline.Floor, seeds: int) -> str:
    value = ("max(avg CPU, avg requests in flight per member)" if app.demand_signal == "demand" else
             f"max(avg CPU, avg load1 per core) once avg CPU ≥ {pipeline.DEPLOYED.saturated_cpu:.0%}, else avg CPU")
    return "\n".join([
        "# Policy replay over one modelled pipeline",
        f"delays: {delays.describe()}  (alerting figures from bootstrap/alerting/alerts.json)",
        f"app: {app.describe()}; a trace's demand is in members' worth"
        + (" (requests in flight on average)" if app.name == "http-load-generator" else ""),
        f"alert: up when avg over instances of {delays.rate_window_s}s-rate CPU > {thresholds.up:.0%} "
        f"for {delays.for_s}s, down when < {thresholds.down:.0%}; scale_value = {value}; scale_members = "
        "instances with ≥ 2 samples in the window; a firing alert is re-sent at every "
        f"{delays.group_interval_s}s flush (repeat {delays.repeat_s}s)",
        f"pool: {INITIAL_SIZE} members at start, bounds {BOUNDS}; decide() Params defaults "
        f"{Params()}; request TTL {Config.request_ttl_s:.0f} s",
        f"SLO violated while the app's CPU on the serving members is above {thresholds.up:.0%}; reaction = "
        "shortfall start → serving ≥ its peak need (shortfalls the load ended itself: 'receded')",
        f"floor (deployed: a stored delivery starts a tick) = {fl.describe()}",
        f"old floor (60 s timer only, for comparison) = {old_fl.describe()}; {seeds} seeds per cell"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.policies", description=__doc__)
    parser.add_argument("--seeds", type=int, default=20, help="runs per trace and policy (default 20)")
    parser.add_argument("--explain", metavar="TRACE:POLICY",
                        help="print one run's deliveries, ticks and actions instead (e.g. ramp:proportional)")
    parser.add_argument("--seed", type=int, default=0, help="the run --explain prints (default 0)")
    parser.add_argument("--app", choices=sorted(APPS), default="http-load-generator",
                        help="what the members run (default http-load-generator, the deployed app)")
    parser.add_argument("--json", action="store_true",
                        help="print every figure of the tables as one JSON object instead")
    parser.add_argument("--trace", metavar="FILE.csv", type=Path, action="append",
                        help="replay this t_s,demand_members CSV instead of the built-in traces "
                             "(repeatable; see docs/benchmarks.md)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    app = APPS[args.app]
    started = time.monotonic()
    delays, thresholds = pipeline.from_alert_spec()
    try:
        trace_list = ([load(path) for path in args.trace] if args.trace
                      else traces.all_traces(edge_per_member(app, thresholds.up)))
    except TraceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.explain:
        trace_name, _, policy_name = args.explain.partition(":")
        trace = next((t for t in trace_list if t.name == trace_name), None)
        if trace is None:
            parser.error(f"--explain: no trace {trace_name!r} (traces: {', '.join(t.name for t in trace_list)})")
        names = [make().name for make in controllers()]
        policy_name = BASELINE if policy_name == BASELINE_KEY else policy_name
        if policy_name not in names:
            parser.error(f"--explain: no policy {policy_name!r} (policies: "
                         f"{', '.join(BASELINE_KEY if n == BASELINE else n for n in names)})")
        print(explain(trace, policy_name, args.seed, delays, thresholds, app))
        return 0
    fl, old_fl = pipeline.floor(delays), pipeline.floor(delays, kicked=False)
    results: dict[str, list[Row]] = {t.name: run_trace(t, args.seeds, delays, thresholds, app)
                                     for t in trace_list}
    ablation, ablation_table = ablate(trace_list, args.seeds, delays, thresholds, results, app)
    if args.json:
        doc = as_json(results, trace_list, fl.total_s, old_fl.total_s, app, args.seeds)
        doc["ablation"] = {label: {name: cell(r) for name, r in by_trace.items()}
                           for label, by_trace in ablation.items()}
        print(json.dumps(doc, indent=1, sort_keys=True))
        return 0
    print(_header(app, delays, thresholds, fl, old_fl, args.seeds))
    for trace in trace_list:
        print()
        print(render(trace, results[trace.name], fl.total_s, old_fl.total_s))
    print()
    print("## aims: the deployed policy against the baseline")
    print("\n".join(aims(results, trace_list, fl.total_s, old_fl.total_s)))
    print()
    print("## ablation (NOT deployed): proportional without one mechanism; worse/better than the "
          "deployed row by more than the larger 95 % half-width")
    print(ablation_table)
    print(f"\n(ran in {time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
