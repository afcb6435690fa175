"""The two-pools run's report: report.json (sandbox/report.py's writer), report.md with a row per
pool and the verdict, report.png with each pool's load, CPU and size stacked on one time axis."""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sandbox import report as single
from sandbox.measure import Sample, trailing_mean

_fmt = single._fmt


def markdown(report: dict[str, Any]) -> str:
    """Pure: report.md's text."""
    s, names = report["summary"], list(report["pools"])
    lines = [f"# Sandbox run: {report['scenario']} ({report['app']['name']}, {report['timings']['name']} timers, "
             f"policy {report['policy']})", "", report["description"], "", single._app_line(report), ""]
    for name in names:
        lines.append(f"Pool **{name}** (`{report['pool_details'][name]['pool_id']}`), its own NLB stand-in and load: "
                     + ", ".join(f"{m:g} members' worth from {t:g} s" for t, m in report["profiles_members"][name])
                     + ".")
    lines += ["", f"**{'PASSED' if s['passed'] else 'FAILED'}**: each pool scales up for its own load and back "
                  "down to its minimum after it, takes no action before its own step or in the other pool's span "
                  "(from that pool's step on), does not flap, and loses no request.", ""]
    lines += [f"- {f}" for f in s["failures"]] + ([""] if s["failures"] else [])
    lines += ["![plot](report.png)", "", "| figure | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    d, p, window = report["pool_details"], report["pools"], report["timings"]["flap_window_s"]
    rows = [("load step → drop (s)", lambda n: f"{d[n]['step_t']:g} → {d[n]['drop_t']:g}"),
            ("its span: actions here answer its load (s)",
             lambda n: f"{d[n]['step_t']:g} → " + ("the end" if d[n]["span_end"] is None else f"{d[n]['span_end']:g}")),
            ("max pool size", lambda n: p[n]["max_pool_size"]),
            ("final pool size", lambda n: p[n]["final_pool_size"]),
            ("scaling actions", lambda n: p[n]["actions"]),
            (f"flaps (reversal within {window:.0f} s)", lambda n: p[n]["flaps"]),
            (f"requests lost ({single.LOST[False]})", lambda n: p[n]["requests_lost"]),
            ("scale alerts delivered naming it", lambda n: d[n]["scale_alerts_delivered"]),
            ("load step → first scale-up call", lambda n: _fmt(d[n]["step_to_first_up_call_s"], " s")),
            ("load step → first new member serving", lambda n: _fmt(d[n]["scale_up_reaction_s"], " s")),
            ("load drop → first scale-down call", lambda n: _fmt(d[n]["drop_to_first_down_call_s"], " s")),
            (f"overload: {report['overload']['definition']}", lambda n: _fmt(d[n]["overload_s"], " s")),
            ("instance-seconds", lambda n: _fmt(d[n]["instance_seconds"])),
            ("load requests that failed", lambda n: d[n]["load_errors"]),
            ("… of them at a scale-down", lambda n: d[n]["load_errors_at_scale_down"]),
            ("the tick's ledger against the operation log",
             lambda n: _fmt((d[n]["cost"] or {}).get("difference_pct"), " %"))]
    lines += [f"| {label} | " + " | ".join(str(cell(n)) for n in names) + " |" for label, cell in rows]
    lines += ["", f"Scale alerts delivered naming no configured pool: {s['scale_alerts_unrouted']}.", "",
              "## Actions (emulator operation log)", "", "| t (s) | pool | operation | size |", "|---|---|---|---|"]
    lines += [f"| {a['t']:.0f} | {a['pool']} | {a['operation']} | {a['size_before']} → {a['size_after']} |"
              for a in report["actions"]]
    lines += single.deliveries_section(report["deliveries"])
    for command, text in (report.get("inspect") or {}).items():
        lines += ["", f"## `python -m functions.inspect {command}` at the end", "", "```", text.rstrip(), "```"]
    lines += ["", "## Timings", "", "```", json.dumps(report["timings"], indent=1), "```", ""]
    return "\n".join(lines)


def plot(out: Path, report: dict[str, Any], samples: Mapping[str, Sequence[Sample]], *, cpu_window_s: float,
         member_rps: float) -> None:
    """Per pool, two panels: its offered load (the profile, in members' worth) and served load with
    its CPU over the rules' window; its size, members serving and actions. Each pool's load step is
    shaded on every panel of it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nan = float("nan")
    names = list(samples)
    fig, axes = plt.subplots(2 * len(names), 1, figsize=(11, 2.6 * 2 * len(names)), sharex=True)
    duration = float(report["duration_s"])
    for k, name in enumerate(names):
        rows, top, low = samples[name], axes[2 * k], axes[2 * k + 1]
        t = [s.t for s in rows]
        steps = [(pt, m) for pt, m in report["profiles_members"][name] if pt < duration] + [(duration, 0.0)]
        top.step([pt for pt, _ in steps], [m for _, m in steps], where="post", color="tab:gray",
                 label=f"{name}: offered (profile)")
        served = [trailing_mean(rows, i, cpu_window_s, lambda s: s.ok_rps) if i else None for i in range(len(rows))]
        top.plot(t, [nan if v is None else v / member_rps for v in served], color="tab:blue",
                 label=f"served (over {cpu_window_s:.0f} s)")
        top.set_ylabel(f"{name}\nmembers' worth")
        cpu = top.twinx()
        windowed = [trailing_mean(rows, i, cpu_window_s) if i else None for i in range(len(rows))]
        cpu.plot(t, [nan if v is None else 100 * v for v in windowed], color="tab:red", alpha=0.8,
                 label=f"CPU over {cpu_window_s:.0f} s")
        cpu.axhline(80, color="tab:red", linestyle=":", linewidth=1)
        cpu.set_ylim(0, 105)
        cpu.set_ylabel("CPU (%)")
        top.legend(loc="upper left")
        cpu.legend(loc="upper right")
        low.step(t, [s.pool_size for s in rows], where="post", color="tab:purple", label=f"{name}: pool size")
        low.step(t, [s.serving for s in rows], where="post", color="tab:orange", linestyle="--",
                 label="serving (its NLB's healthy members)")
        low.set_ylim(0, max((s.pool_size for s in rows), default=1) + 1)
        low.set_ylabel(f"{name}\nmembers")
        low.yaxis.get_major_locator().set_params(integer=True)
        low.legend(loc="best")
        d = report["pool_details"][name]
        for axis in (top, low):
            axis.axvspan(d["step_t"], d["drop_t"], color="tab:gray", alpha=0.08)
            axis.grid(alpha=0.3)
        for a in (a for a in report["actions"] if a["pool"] == name and a["size_before"] != a["size_after"]):
            colour = "tab:green" if a["size_after"] > a["size_before"] else "tab:red"
            for axis in (top, low):
                axis.axvline(a["t"], color=colour, alpha=0.5, linewidth=1)
            low.annotate(f"{a['size_before']}→{a['size_after']}", (a["t"], a["size_after"]),
                         textcoords="offset points", xytext=(3, 4), fontsize=8)
    verdict = "passed" if report["summary"]["passed"] else "FAILED"
    axes[0].set_title(f"{report['scenario']} ({report['app']['name']}, {report['timings']['name']} timers): {verdict}")
    axes[-1].set_xlabel("time since the load started (s)")
    fig.tight_layout()
    fig.savefig(out / "report.png", dpi=110)
    plt.close(fig)


def write(out: Path, report: dict[str, Any], samples: Mapping[str, Sequence[Sample]], *, cpu_window_s: float,
          member_rps: float) -> None:
    single.write_json(out, report)
    (out / "report.md").write_text(markdown(report))
    plot(out, report, samples, cpu_window_s=cpu_window_s, member_rps=member_rps)
