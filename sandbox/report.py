"""The sandbox's report: report.json (figures), report.md (for people), report.png (the plot)."""
from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sandbox.measure import SCALE_DOWN_WINDOW_S, Sample, ScalingCall, trailing_mean

# What "requests lost" counts: the real handlers keep every request in the bucket; the classic
# baseline keeps none, so its alerts are matched with its steps in the operation log.
LOST = {False: "2xx deliveries missing from the bucket",
        True: "2xx-delivered alerts without their ±1 step in the operation log, the pool not at a bound"}


def write_json(out: Path, report: dict[str, Any]) -> None:
    (out / "report.json").write_text(json.dumps(report, indent=2, default=str) + "\n")


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.1f}{unit}"
    return f"{value}{unit}"


def _app_line(report: dict[str, Any]) -> str:
    app = report["app"]
    if app["name"] == "http-load-generator":
        squeeze = (f" (compressed ×{app['compressed_by']:.3g} from the deployed {app['request_s_deployed']:g} s, "
                   "like every timer of this run)" if app["compressed_by"] != 1 else "")
        what = (f"every `GET /load` takes {app['request_s']:.3g} s{squeeze} and holds every vCPU of its "
                f"member ({app['vcpus_per_member']}) while any is in flight")
    else:
        what = (f"each `GET /load` needs {app['work_s_per_request']:g} vCPU-seconds, requests share the "
                "vCPUs, latency grows with the queue")
    demand = {"demand": "the larger of CPU and requests in flight per member (node_netstat_Tcp_CurrEstab "
                        "minus the scrape's connection)",
              "demand_cpu_bound": "CPU, or load1 per core once CPU is saturated"}.get(app.get("demand_signal", ""),
                                                                                     "unknown")
    return (f"App: **{app['name']}**: {what}; one member's worth of demand = {app['member_rps']:g} requests/s; "
            f"client timeout {app['client_timeout_s']:g} s. The scale-up alert's demand figure "
            f"(`{app.get('demand_signal')}` in bootstrap/alerting/alerts.json): {demand}.")


def _checker_rows(s: dict[str, Any]) -> list[str]:
    if "checker_passed" not in s:
        return []
    return [f"| **checker: {'PASSED' if s['checker_passed'] else 'FAILED'}** ({s['checker_clients']} clients; "
            f"pool at 2 within {s['checker_limit_s']:g} s of the load's start, back to its minimum after) | |",
            f"| checker: load start → pool of 2 (operation log) | {_fmt(s['checker_reached_2_s'], ' s')} |",
            f"| checker: load stop → pool back to its minimum | {_fmt(s['checker_back_to_min_s'], ' s')} |"]


def write_markdown(out: Path, report: dict[str, Any]) -> None:
    s = report["summary"]
    lines = [
        f"# Sandbox run: {report['scenario']} ({report['app']['name']}, {report['timings']['name']} timers, "
        f"policy {report['policy']})",
        "",
        report["description"],
        "",
        _app_line(report),
        "",
        "Load profile: " + ", ".join(
            f"{m:g} members' worth ({r:.3g} requests/s) from {t:g} s"
            for (t, m), (_, r) in zip(report["profile_members"], report["profile_rps"], strict=True)) + ".",
        "",
        "![plot](report.png)",
        "",
        "| figure | value |",
        "|---|---|",
        f"| max pool size | {s['max_pool_size']} |",
        f"| final pool size | {s['final_pool_size']} |",
        f"| scale-up reaction (load step → first new member serving) | {_fmt(s['scale_up_reaction_s'], ' s')} |",
        f"| … load step → first scale-up alert delivered (the alerting pipeline) | "
        f"{_fmt(s.get('step_to_first_up_delivery_s'), ' s')} |",
        f"| … that delivery → first scale-up call (the scaler) | "
        f"{_fmt(s.get('first_up_delivery_to_action_s'), ' s')} |",
        f"| scale-down reaction (load drop → first member removed) | {_fmt(s['scale_down_reaction_s'], ' s')} |",
        f"| overload: {report['overload']['definition']} | {_fmt(s['overload_s'], ' s')} |",
        f"| instance-seconds | {_fmt(s['instance_seconds'])} |",
        f"| scaling actions | {s['actions']} |",
        f"| flaps (reversal within {report['timings']['flap_window_s']:.0f} s) | {s['flaps']} |",
        f"| requests lost ({LOST[report['policy'] == 'baseline']}) | {s['requests_lost']} |",
        f"| load requests that failed (any non-200 answer, timeout or refusal) | {s['load_errors']} |",
        f"| … of them at a scale-down (ended {-SCALE_DOWN_WINDOW_S[0]:g} s before to "
        f"{SCALE_DOWN_WINDOW_S[1]:g} s after a member was removed) | {_fmt(s.get('load_errors_at_scale_down'))} |",
        *_checker_rows(s),
        "",
        "## Actions (emulator operation log)",
        "",
        "| t (s) | operation | size |",
        "|---|---|---|",
    ]
    lines += [f"| {a['t']:.0f} | {a['operation']} | {a['size_before']} → {a['size_after']} |"
              for a in report["actions"]]
    lines += deliveries_section(report["deliveries"])
    if report.get("replace_vm"):
        r = report["replace_vm"]
        lines += ["", "## VM replacement", "",
                  f"Handlers SIGKILLed at t={r['killed_at']:.0f} s, local files wiped, started "
                  f"again at t={r['restarted_at']:.0f} s. Targets before: {r['targets_before']}, "
                  f"restored from the SOS snapshot: {r['targets_restored']} "
                  f"(identical: {r['targets_identical']}). Requests pending at the kill: "
                  f"{r['pending_at_kill']}."]
    lines += _money_lines(report)
    for name, text in (report.get("inspect") or {}).items():
        command = "status" if name == "status" else "history --since 1h"
        lines += ["", f"## `python -m functions.inspect {command}` at the end", "", "```",
                  text.rstrip(), "```"]
    lines += ["", "## Timings", "", "```", json.dumps(report["timings"], indent=1), "```", ""]
    (out / "report.md").write_text("\n".join(lines))


def _money_lines(report: dict[str, Any]) -> list[str]:
    """The cost check (the tick's ledger against the operation log) and the operator's controls."""
    lines: list[str] = []
    cost = report.get("cost")
    if cost:
        lines += ["", "## Cost", "",
                  f"At {cost['price_hourly']:g} {cost['currency']} per member-hour (the price table), the tick's "
                  f"ledger counts {cost['ledger_instance_s']:.1f} instance-seconds ({cost['ledger_cost']:.4f} "
                  f"{cost['currency']}) over its {cost['window_s']:.0f} s; the emulator's operation log gives "
                  f"{cost['measured_instance_s']:.1f} over the same window: a difference of "
                  f"{_fmt(cost['difference_pct'], ' %')}."]
    controls = report.get("controls") or {}
    if "budget" in controls:
        b = controls["budget"]
        lines += ["", f"Operator's daily cap: {b['daily']:g} {cost['currency'] if cost else ''} in {b['tz']} "
                      f"(room for {b['fits_members']} members for the rest of that day)."]
    if "schedule" in controls:
        sc = controls["schedule"]
        lines += ["", f"Operator's schedule: `{sc['cron']}` ({sc['tz']}) for {sc['duration']}: at least "
                      f"{sc['min']} members."]
    events = report.get("budget_events") or []
    if events:
        lines += ["", "## The cap held the pool back", "", "| t (s) | history record | size | reason |",
                  "|---|---|---|---|"]
        lines += [f"| {e['t']:.0f} | {e['action']} | {e['from_size']} → {e['to_size']} | {e['reason']} |"
                  for e in events]
    return lines


def write_plot(out: Path, samples: Sequence[Sample], actions: Sequence[ScalingCall], title: str, *,
               profile: Sequence[tuple[float, float]], duration_s: float, step_t: float, drop_t: float,
               member_rps: float, cpu_window_s: float, slo_p95_s: float | None, price_hourly: float = 0.0,
               currency: str = "EUR", budget_marks: Sequence[float] = (),
               schedule_window: tuple[float, float] | None = None) -> None:
    """Demand (the profile, in members' worth) and what was served, requests in flight per member,
    CPU (as sampled and over the alert rules' window), pool size and actions, cost so far (the
    sampled size × the price) with the spend cap's holds; latency only where it tells something
    (`slo_p95_s` given: the processor-sharing app)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nan = float("nan")
    t = [s.t for s in samples]
    panels = 6 if slo_p95_s is not None else 5
    fig, axes = plt.subplots(panels, 1, figsize=(11, 2.5 * panels), sharex=True)
    ax = axes[0]
    # The offered load is the profile itself: at a few requests per 10 s a sampled rate is mostly noise.
    steps = [(pt, members) for pt, members in profile if pt < duration_s] + [(duration_s, 0.0)]
    ax.step([pt for pt, _ in steps], [m for _, m in steps], where="post", label="offered (profile)",
            color="tab:gray")
    served = [trailing_mean(samples, i, cpu_window_s, lambda s: s.ok_rps) if i else None
              for i in range(len(samples))]
    ax.plot(t, [v / member_rps if v is not None else nan for v in served], color="tab:blue",
            label=f"served (over {cpu_window_s:.0f} s)")
    ax.set_ylabel(f"members' worth\n(× {member_rps:.3g} req/s)")
    ax.legend(loc="upper right")
    ax = axes[1]
    ax.plot(t, [nan if s.in_flight_per_member is None else s.in_flight_per_member for s in samples],
            color="tab:olive", alpha=0.35, linewidth=0.8, label="requests in flight per member (sampled)")
    per_member = [trailing_mean(samples, i, cpu_window_s, lambda s: s.in_flight_per_member) if i else None
                  for i in range(len(samples))]
    ax.plot(t, [nan if v is None else v for v in per_member], color="tab:olive",
            label=f"… over {cpu_window_s:.0f} s")
    ax.plot(t, [s.in_flight_max if s.members else nan for s in samples], color="tab:olive",
            linestyle=":", linewidth=0.8, label="… at the busiest member")
    ax.set_ylabel("in flight")
    ax.legend(loc="upper right")
    ax = axes[2]
    ax.plot(t, [100 * s.cpu if s.cpu is not None else nan for s in samples],
            color="tab:red", alpha=0.35, linewidth=0.8, label="average CPU of members (sampled)")
    windowed = [trailing_mean(samples, i, cpu_window_s) if i else None for i in range(len(samples))]
    ax.plot(t, [100 * v if v is not None else nan for v in windowed],
            color="tab:red", label=f"… over the rules' {cpu_window_s:.0f} s window")
    ax.axhline(80, color="tab:red", linestyle=":", linewidth=1, label="scale-up 80 %")
    ax.axhline(20, color="tab:green", linestyle=":", linewidth=1, label="scale-down 20 %")
    ax.set_ylabel("CPU (%)")
    ax.set_ylim(0, 105)
    ax.legend(loc="upper right")
    ax = axes[3]
    ax.step(t, [s.pool_size for s in samples], where="post", label="pool size (billed)",
            color="tab:purple")
    ax.step(t, [s.serving for s in samples], where="post", label="serving (NLB healthy)",
            color="tab:orange", linestyle="--")
    ax.bar(t, [s.pending for s in samples], width=0.8 * (t[1] - t[0]) if len(t) > 1 else 1,
           color="tab:cyan", alpha=0.4, label="pending requests")
    ax.set_ylabel("members")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="upper right")
    if slo_p95_s is not None:
        ax = axes[5]
        ax.plot(t, [s.p95_s if s.p95_s is not None else nan for s in samples],
                color="tab:brown", label="p95 latency")
        ax.axhline(slo_p95_s, color="black", linestyle=":", linewidth=1, label=f"SLO {slo_p95_s} s")
        ax.set_yscale("log")
        ax.set_ylabel("latency (s)")
        ax.legend(loc="upper right")
    ax = axes[4]
    spent = list(itertools.accumulate((p.pool_size * (c.t - p.t) * price_hourly / 3600.0
                                       for p, c in itertools.pairwise(samples)), initial=0.0))[:len(samples)]
    ax.plot(t, spent, color="tab:purple", label=f"cost so far (pool size × {price_hourly:g}/h)")
    ax.set_ylabel(f"cost ({currency})")
    for i, mark in enumerate(budget_marks):
        for axis in (axes[3], ax):
            axis.axvline(mark, color="darkred", linestyle="--", linewidth=1.2,
                         label="spend cap held a scale-up" if i == 0 and axis is ax else None)
    if schedule_window is not None:
        for axis in (axes[3], ax):
            axis.axvspan(*schedule_window, color="tab:purple", alpha=0.08,
                         label="schedule raises the minimum" if axis is ax else None)
    ax.legend(loc="upper left")
    axes[-1].set_xlabel("time since start (s)")
    for a in actions:
        if a.direction:
            colour = "tab:green" if a.direction > 0 else "tab:red"
            for axis in axes:
                axis.axvline(a.t, color=colour, alpha=0.5, linewidth=1)
            axes[3].annotate(f"{a.size_before}→{a.size_after}", (a.t, a.size_after),
                             textcoords="offset points", xytext=(3, 4), fontsize=8)
    for axis in axes:
        axis.axvspan(step_t, drop_t, color="tab:gray", alpha=0.07)
        axis.grid(alpha=0.3)
    axes[0].set_title(title)
    fig.tight_layout()
    fig.savefig(out / "report.png", dpi=110)
    plt.close(fig)


def deliveries_section(d: dict[str, Any]) -> list[str]:
    """The sender's view of the webhook deliveries, as report.md shows it."""
    return ["", "## Deliveries (sender's view)", "",
            f"{d['total']} webhook deliveries, {d['delivered']} answered 2xx carrying "
            f"{d['scale_alerts_delivered']} scale alerts; Alertmanager counted "
            f"{d['alertmanager_notifications']:.0f} notifications ("
            f"{d['alertmanager_failed']:.0f} failed for good) in "
            f"{d.get('alertmanager_attempts', 0):.0f} HTTP attempts "
            f"({d.get('alertmanager_attempts_failed', 0):.0f} failed and retried)."]
