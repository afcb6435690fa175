"""What-if variants of the policy replay (NOT the deployment) and one run explained event by event."""
from __future__ import annotations

import dataclasses

from functions.inspect.tables import table
from functions.scaler.policy import Params

from . import pipeline, traces
from .apps import HTTP_LOAD_GENERATOR, ModelApp
from .pipeline import DecideController
from .replay import BASELINE, BOUNDS, INITIAL_SIZE, Row, controllers, summarise

# What-if variants, NOT the deployment: the same decide() with other Params on the deployed
# (kicked) pipeline; for comparison the previous deployment (the receiver's kick, no sd kick) and
# the 10 s timer without kicks the kick replaced. (label, params, delay changes, kicked, sd kicked)
WHAT_IF: list[tuple[str, Params, dict[str, int], bool, bool]] = [
    ("proportional, target 0.6", Params(policy="proportional", target_utilization=0.6), {}, True,
     True),
    ("proportional, target 0.75", Params(policy="proportional", target_utilization=0.75), {}, True,
     True),
    ("proportional, no look-ahead", Params(policy="proportional", lookahead_s=0), {}, True, True),
    # the trend's plain deriv(), noise and all (the deployment before trend_noise_z)
    ("proportional, plain trend", Params(policy="proportional"), {"trend_noise_z": 0}, True, True),
    ("proportional, no sd kick", Params(policy="proportional"), {}, True, False),
    ("proportional, tick 10 s, no kick", Params(policy="proportional"), {"tick_s": 10}, False,
     False)]
# The same decide() fed the CPU-bound figure (CPU, or load1 per core once saturated) instead of
# requests in flight: the sizing before the demand figure, on http-load-generator.
CPU_ONLY = "proportional, CPU-only sizing"
# The same decide() with requests in flight at their mean instead of a Poisson count: the model
# before arrival noise (benchmarks/arrivals.py), on http-load-generator under random arrivals.
NO_NOISE = "proportional, no arrival noise"


def what_if(trace_list: list[traces.Trace], seeds: int, delays: pipeline.Delays,
            thresholds: pipeline.Thresholds, results: dict[str, list[Row]],
            app: ModelApp = HTTP_LOAD_GENERATOR) -> str:
    body = []
    variants = list(WHAT_IF)
    if app.demand_signal == "demand":
        variants.append((CPU_ONLY, Params(policy="proportional"), {}, True, True))
    if app.random_counts:
        variants.append((NO_NOISE, Params(policy="proportional"), {}, True, True))
    for label, params, changes, kicked, sd_kicked in variants:
        variant = dataclasses.replace(delays, **changes)
        fed = {CPU_ONLY: app.sized_by_cpu(), NO_NOISE: app.without_noise()}.get(label, app)
        for trace in trace_list:
            if trace.name == "flat":
                continue
            runs = [pipeline.simulate(trace.demand, DecideController(label, params, BOUNDS,
                                                                     kicked=kicked,
                                                                     sd_kicked=sd_kicked), seed=s,
                                      delays=variant, thresholds=thresholds,
                                      initial_size=INITIAL_SIZE, bounds=BOUNDS, app=fed)
                    for s in range(seeds)]
            r = summarise(label, runs)
            # Compared with the baseline under the deployed delays: the baseline has no tick.
            base = next(b for b in results[trace.name] if b.policy == BASELINE)
            base_reaction = "—" if base.reaction_s is None else f"{base.reaction_s:.0f}"
            body.append([label, trace.name, "—" if r.reaction_s is None else
                         f"{r.reaction_s:.0f} / {base_reaction}",
                         f"{r.violation_s:.0f} / {base.violation_s:.0f}",
                         f"{100 * r.instance_s / base.instance_s:.0f} %",
                         f"{r.actions:.1f}", f"{r.flaps:.2f}", r.max_size])
    return table(["variant", "trace", "reaction s (vs base)", "SLO-viol s (vs base)", "cost vs base",
                  "actions", "flaps", "max size"], body)


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
