"""`python -m benchmarks.floor`: search the detection settings for the shortest load step → scaling
call that stays calm.

The floor is made of our own choices: the scrape interval, the rate window, the rule evaluation
interval and the scale-up alert's `for`. Every combination allowed below runs the deployed policy
(proportional, kicked) through the same pipeline model as `benchmarks.policies` on:
- `step`: the time from the load step to the first scaling call (what the search minimises);
- `plateau` and `flapping`: steady load at the alert's edge, where it must give 0 flaps;
- `blip`: 30 s of the spike's peak, on which it must take no action at all.

Allowed: a rate window of at least 4 scrape intervals (rate() needs two samples in its window,
and four intervals survive a failed or late scrape: https://www.robustperception.io/what-range-should-i-use-with-rate);
an evaluation interval that is a multiple of 10 s (Grafana's scheduler ticks every
`[unified_alerting] min_interval` = 10 s, conf/defaults.ini in grafana/grafana); a `for` that is a
multiple of the evaluation interval (the state only changes at an evaluation). The trend's subquery
follows: window = the rate window, step = the scrape interval.
"""
from __future__ import annotations

import argparse
import dataclasses
import itertools
import statistics
import time
from dataclasses import dataclass

from functions.inspect.tables import table
from functions.scaler.tick.policy import Params

from . import pipeline, traces
from .apps import APPS, ModelApp, edge_per_member
from .pipeline import DecideController
from .replay import BOUNDS, INITIAL_SIZE

SCRAPES = (5, 10, 15)
WINDOWS = (20, 30, 40, 60)
EVALS = (10, 20)
FORS = (0, 10, 20, 30, 40, 60)
STEP_AT_S = 600  # traces.step(): the load steps up at 10 min


@dataclass(frozen=True)
class FloorOutcome:
    delays: pipeline.Delays
    call_s: float          # mean load step → first scaling call
    call_max_s: int
    flaps: float           # mean flaps per run on plateau + flapping
    blip_actions: float    # mean actions per run on the 30 s blip
    floor_s: float

    @property
    def calm(self) -> bool:
        return self.flaps == 0 and self.blip_actions == 0


def candidates(base: pipeline.Delays) -> list[pipeline.Delays]:
    out = []
    for scrape, window, every, hold in itertools.product(SCRAPES, WINDOWS, EVALS, FORS):
        if window < 4 * scrape or window % scrape or hold % every:
            continue
        out.append(dataclasses.replace(base, scrape_s=scrape, rate_window_s=window, eval_s=every,
                                       for_s=hold, trend_window_s=window, trend_step_s=scrape))
    return out


def _runs(trace: traces.Trace, delays: pipeline.Delays, seeds: int, app: ModelApp,
          thresholds: pipeline.Thresholds) -> list[pipeline.Result]:
    return [pipeline.simulate(trace.demand, DecideController(
                "proportional", Params(), BOUNDS, kicked=True), seed=s,
                delays=delays, thresholds=thresholds, initial_size=INITIAL_SIZE, bounds=BOUNDS,
                app=app) for s in range(seeds)]


def evaluate(delays: pipeline.Delays, seeds: int, app: ModelApp,
             thresholds: pipeline.Thresholds) -> FloorOutcome:
    edge = 2 * edge_per_member(app, thresholds.up)
    calls = []
    for r in _runs(traces.step(), delays, seeds, app, thresholds):
        first = next((t for t, d in r.actions if d == "up" and t >= STEP_AT_S), None)
        calls.append(len(traces.step().demand) if first is None else first - STEP_AT_S)
    steady = [traces.noisy_plateau(edge), traces.flapping(edge, edge / 10)]
    flaps = statistics.fmean(r.flaps for trace in steady
                             for r in _runs(trace, delays, seeds, app, thresholds))
    blip = traces.spike(spike_s=30)
    blip_actions = statistics.fmean(len(r.actions) for r in _runs(blip, delays, seeds, app, thresholds))
    return FloorOutcome(delays, statistics.fmean(calls), max(calls), flaps, blip_actions,
                   pipeline.floor(delays).total_s)


def _row(o: FloorOutcome, mark: str) -> list[object]:
    d = o.delays
    return [mark, d.scrape_s, d.rate_window_s, d.eval_s, d.for_s, f"{o.call_s:.1f}", o.call_max_s,
            f"{o.flaps:.2f}", f"{o.blip_actions:.2f}", f"{o.floor_s:.1f}",
            "yes" if o.calm else "no"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.floor", description=__doc__)
    parser.add_argument("--seeds", type=int, default=20, help="runs per trace and setting (default 20)")
    parser.add_argument("--app", choices=sorted(APPS), default="http-load-generator")
    parser.add_argument("--top", type=int, default=12, help="calm settings to list (default 12)")
    parser.add_argument("--previous", default="15,60,20,60",
                        help="scrape,window,eval,for of the setting to compare with (default: the "
                             "one deployed before this search, 15,60,20,60)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    app = APPS[args.app]
    deployed, thresholds = pipeline.from_alert_spec()
    scrape, window, every, hold = (int(x) for x in args.previous.split(","))
    previous = dataclasses.replace(deployed, scrape_s=scrape, rate_window_s=window, eval_s=every,
                                   for_s=hold, down_for_s=hold, trend_window_s=window,
                                   trend_step_s=scrape)
    results = [evaluate(d, args.seeds, app, thresholds) for d in candidates(deployed)]
    calm = sorted((o for o in results if o.calm), key=lambda o: (o.call_s, o.call_max_s))
    now = evaluate(deployed, args.seeds, app, thresholds)
    before = evaluate(previous, args.seeds, app, thresholds)
    print(f"# Detection search on {app.name}: {len(results)} settings, {args.seeds} seeds each; "
          f"group_wait {deployed.group_wait_s}s and boot {deployed.boot_min_s}–{deployed.boot_max_s}s fixed")
    print("call s = load step → first scaling call; flaps on plateau + flapping; actions on a 30 s blip")
    head = ["", "scrape s", "window s", "eval s", "for s", "call s", "max", "flaps", "blip actions",
            "floor s", "calm"]
    rows = [_row(before, "previous"), _row(now, "deployed")]
    rows += [_row(o, f"#{i + 1}") for i, o in enumerate(calm[:args.top])]
    print(table(head, rows))
    fastest_noisy = min(results, key=lambda o: o.call_s)
    print(f"fastest of all (calm or not): {_row(fastest_noisy, '')[1:5]} → call {fastest_noisy.call_s:.1f} s, "
          f"flaps {fastest_noisy.flaps:.2f}, blip actions {fastest_noisy.blip_actions:.2f}")
    print(f"floor: {now.floor_s:.1f} s deployed ({pipeline.floor(deployed).describe()}) against "
          f"{before.floor_s:.1f} s before ({pipeline.floor(previous).describe()})")
    print(f"\n(ran in {time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
