"""The ablation (NOT the deployment): the deployed policy with one mechanism removed per row, on the
same seeds as the main table, and one run explained event by event."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

from functions.inspect.tables import table
from functions.scaler.tick.policy import Params

from . import pipeline, traces
from .apps import HTTP_LOAD_GENERATOR, ModelApp
from .pipeline import DecideController
from .replay import BASELINE, BOUNDS, DEPLOYED_POLICY, INITIAL_SIZE, Row, controllers, summarise


@dataclass(frozen=True)
class Variant:
    """The deployed `proportional` with one mechanism removed."""
    label: str
    applies: Callable[[ModelApp], bool]      # the app has the mechanism at all
    params: Params = field(default_factory=lambda: Params())
    delays: dict[str, int] = field(default_factory=dict)
    feed: Callable[[ModelApp], ModelApp] = lambda app: app
    sd_kicked: bool = True
    with_cpu: bool = True


def _in_flight(app: ModelApp) -> bool:
    return app.demand_signal == "demand"


ABLATION = [
    Variant("no look-ahead", lambda app: True, Params(lookahead_s=0)),
    # The trend's plain deriv(): no standard errors taken off (only the count's trend nets them).
    Variant("no trend noise netting", _in_flight, delays={"trend_noise_z": 0}),
    # Requests stored without scale_cpu: sized at the target in flight per member (the fallback).
    Variant("no occupancy fit", _in_flight, with_cpu=False),
    # The sizing before requests in flight: CPU, or load1 per core once CPU saturates.
    Variant("CPU-then-load1 instead of in flight", _in_flight, feed=lambda app: app.sized_by_cpu()),
    # On a CPU-bound app: plain CPU, load1 never counted.
    Variant("no load1 (CPU alone)", lambda app: not _in_flight(app),
            feed=lambda app: app.sized_by_cpu_alone()),
    Variant("no sd kick", lambda app: True, sd_kicked=False),
    # A scale-up sized for the present alone, often +1 on a rise (policy.MIN_UP_STEP 1).
    Variant("scale-up +1 (no +2 floor)", lambda app: True, Params(min_up_step=1))]

_FIGURES = (("reaction_s", "reaction"), ("violation_s", "viol"), ("instance_s", "cost"),
            ("flaps", "flaps"))


def compare(variant: Row, deployed: Row) -> tuple[list[str], list[str]]:
    """(worse, better): the aim figures where the variant differs from the deployed row by more
    than the spread (the larger of the two rows' 95 % half-widths)."""
    worse, better = [], []
    for name, short in _FIGURES:
        mine, theirs = getattr(variant, name), getattr(deployed, name)
        if mine is None or theirs is None:
            continue
        spread = max(variant.spread.get(name) or 0.0, deployed.spread.get(name) or 0.0)
        diff = mine - theirs
        text = f"{short} {diff:+.2f}" if name == "flaps" else f"{short} {diff:+.0f}"
        if diff > spread:
            worse.append(text)
        elif -diff > spread:
            better.append(text)
    return worse, better


def ablate(trace_list: list[traces.Trace], seeds: int, delays: pipeline.Delays,
           thresholds: pipeline.Thresholds, results: dict[str, list[Row]],
           app: ModelApp = HTTP_LOAD_GENERATOR) -> tuple[dict[str, dict[str, Row]], str]:
    """Every variant that applies to the app on every trace: (rows by variant and trace, table)."""
    body = []
    rows: dict[str, dict[str, Row]] = {}
    for v in ABLATION:
        if not v.applies(app):
            continue
        variant = dataclasses.replace(delays, **v.delays)
        fed = v.feed(app)
        for trace in trace_list:
            runs = [pipeline.simulate(trace.demand, DecideController(v.label, v.params, BOUNDS,
                                                                     kicked=True,
                                                                     sd_kicked=v.sd_kicked,
                                                                     with_cpu=v.with_cpu), seed=s,
                                      delays=variant, thresholds=thresholds,
                                      initial_size=INITIAL_SIZE, bounds=BOUNDS, app=fed)
                    for s in range(seeds)]
            r = summarise(v.label, runs)
            rows.setdefault(v.label, {})[trace.name] = r
            base = next(b for b in results[trace.name] if b.policy == BASELINE)
            deployed = next(b for b in results[trace.name] if b.policy == DEPLOYED_POLICY)
            worse, better = compare(r, deployed)
            body.append([v.label, trace.name, r.pm("reaction_s"), r.pm("violation_s"),
                         r.pm("instance_s", 100 / base.instance_s) + " %", r.pm("flaps", digits=2),
                         r.max_size, ", ".join(worse) or "—", ", ".join(better) or "—"])
    return rows, table(["without", "trace", "reaction s", "SLO-viol s", "cost vs base", "flaps",
                        "max size", "worse than deployed", "better than deployed"], body)


def explain(trace: traces.Trace, policy_name: str, seed: int, delays: pipeline.Delays,
            thresholds: pipeline.Thresholds, app: ModelApp = HTTP_LOAD_GENERATOR) -> str:
    """One run, delivery by delivery and tick by tick: why a policy did what it did."""
    make = next(m for m in controllers() if m().name == policy_name)
    ctl = make()
    r = pipeline.simulate(trace.demand, ctl, seed=seed, delays=delays, thresholds=thresholds,
                          initial_size=INITIAL_SIZE, bounds=BOUNDS, app=app)
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
