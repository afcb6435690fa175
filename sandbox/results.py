"""A finished run's results: every figure measured from outside the scaler (the emulator's
operation log, the recorder's deliveries against the bucket, the load generator, the members),
and the report folder written from them (sandbox/report.py)."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from bootstrap import render
from functions.common import keys
from functions.common.store import Store
from sandbox import apps, measure, money, report
from sandbox.parts import BASELINE, MIN_SIZE, Parts
from sandbox.scenarios import CHECKER_REACH

SLO_P95_S = 2.0
MAX_ERROR_RATIO = 0.01


def recorded_requests(store: Store, pool_id: str) -> list[tuple[str, float]]:
    """(fingerprint, received_at) of every request the bucket kept for a pool: in its history or pending."""
    found = []
    for prefix in (keys.history_prefix(pool_id), keys.requests_prefix(pool_id)):
        for item in store.read_all(prefix):
            body = item.body or {}
            reqs = body.get("requests") if prefix.startswith("history") else [body]
            for r in reqs or []:
                if isinstance(r, dict) and r.get("received_at") is not None:
                    found.append((str(r.get("fingerprint") or ""), float(r["received_at"])))
    return found


def collect(box: Parts) -> dict[str, Any]:
    """report.json's content, once the run has ended (the parts still up: the bucket is read)."""
    ops = [measure.ScalingCall(round(o.time - box.wall0, 2), o.operation, o.size_before,
                          o.size_after) for o in box.emu.operations()
           if o.time >= box.wall0]
    deliveries = box.recorder.deliveries()
    if box.policy == BASELINE:  # it stores nothing: its steps are in the operation log
        lost = measure.lost_moves(deliveries, ops, t0=box.wall0, low=MIN_SIZE, high=box.max_size,
                                  initial_size=box.samples[0].pool_size if box.samples else MIN_SIZE)
    else:
        lost = measure.lost_requests(deliveries, recorded_requests(box.store, box.pool_id))
    sc = box.scenario
    counters = box.mon.alertmanager_counters()
    inspect = {name: box._inspect(*args) for name, args in (
        ("status", ("status",)), ("history", ("history", "--since", "1h")))}
    overload = overload_figure(box)
    load = box.load.summary()
    member_rps = box.app.member_rps(box.fleet.vcpus)
    return {
        "scenario": sc.name, "description": sc.description, "policy": box.policy,
        "app": apps.run_facts(box.app, box.fleet.vcpus),
        "timings": box.t.as_dict(),
        "nlb_healthcheck": asdict(box.healthcheck),
        "overload": {"figure": overload.figure, "definition": overload.definition()},
        "profile_members": [list(p) for p in sc.profile], "step_t": sc.step_t, "drop_t": sc.drop_t,
        "profile_rps": [list(p) for p in sc.rps_profile(member_rps)],
        "summary": {"app": box.app.name, **measure.summary(
            box.samples, ops, step_t=sc.step_t, drop_t=sc.drop_t, overload=overload,
            requests_lost=lost, flap_window_s=box.t.flap_window_s),
            **measure.pipeline_split(deliveries, ops, t0=box.wall0, step_t=sc.step_t),
            "load_errors": sum(load.errors.values()),
            "load_errors_at_scale_down": measure.errors_at_scale_down(
                [r.end + box.load_offset_s for r in box.load.records() if not r.ok], ops),
            **checker(box, ops)},
        "actions": [asdict(a) for a in ops],
        "deliveries": {
            "total": len(deliveries),
            "delivered": sum(d.delivered for d in deliveries),
            "scale_alerts_delivered": sum(len(d.alerts) for d in deliveries if d.delivered),
            "alertmanager_notifications": counters["notifications"],
            "alertmanager_failed": counters["failed"],
            "alertmanager_attempts": counters["attempts"],
            "alertmanager_attempts_failed": counters["attempts_failed"]},
        "load": asdict(load),
        "tick_runs": [asdict(r) for r in box.handlers.tick_runs()],
        **money.run_figures(box.store, box.pool_id, box.emu.operations(), box.price_hourly,
                            box.currency, box.wall0, box.controls),
        "replace_vm": box.replace,
        "inspect": inspect,
        "samples": [s.as_dict() for s in box.samples],
    }


def checker(box: Parts, ops: list[measure.ScalingCall]) -> dict[str, Any]:
    sc = box.scenario
    if sc.reach_within_s is None:
        return {}
    final = box.samples[-1].pool_size if box.samples else 0
    return {**measure.checker(ops, reach=CHECKER_REACH, within_s=sc.reach_within_s, drop_t=sc.drop_t,
                              minimum=MIN_SIZE, final_size=final),
            "checker_limit_s": sc.reach_within_s, "checker_clients": sc.clients}


def overload_figure(box: Parts) -> measure.Overload:
    if box.app.overload == "cpu":
        threshold = float(render.load_spec()["thresholds"]["scale_up_cpu"])
        return measure.CpuOverload(threshold, measure.duration_s(box.t.rate_window))
    return measure.LatencySlo(SLO_P95_S, MAX_ERROR_RATIO)


def write(box: Parts, results: dict[str, Any]) -> None:
    box.out.mkdir(parents=True, exist_ok=True)
    report.write_json(box.out, results)
    report.write_markdown(box.out, results)
    report.write_plot(box.out, box.samples,
                      [measure.ScalingCall(**a) for a in results["actions"]],
                      f"{box.scenario.name} ({box.app.name}): {box.scenario.description}"[:110],
                      profile=box.scenario.profile, duration_s=box.scenario.duration_s,
                      step_t=box.scenario.step_t, drop_t=box.scenario.drop_t,
                      member_rps=box.app.member_rps(box.fleet.vcpus),
                      cpu_window_s=measure.duration_s(box.t.rate_window),
                      slo_p95_s=SLO_P95_S if box.app.overload == "latency" else None,
                      price_hourly=box.price_hourly, currency=box.currency,
                      budget_marks=[e["t"] for e in results["budget_events"]],
                      schedule_window=money.schedule_window(box.controls, box.wall0))
