"""`--compare`: the same scenario once per policy, side by side (compare.md, compare.json, compare.png).

Each run's own report (report.json) is the input, so the table holds exactly the figures each run
measured from outside its scaler; the policies' names are checked before anything starts.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sandbox.measure import Sample, duration_s, trailing_mean

Report = Mapping[str, Any]


class CompareError(ValueError):
    """A --compare list that cannot be run; the message is one line naming what is wrong."""


def parse_policies(text: str, known: Sequence[str]) -> list[str]:
    """`step,proportional,baseline` → the names in order; unknown, repeated or none refused."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise CompareError(f"--compare needs at least one policy (choose from {', '.join(known)})")
    unknown = [n for n in names if n not in known]
    if unknown:
        raise CompareError(f"--compare: unknown policy {unknown[0]!r} (choose from {', '.join(known)})")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise CompareError(f"--compare: {repeated[0]!r} is named twice")
    return names


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        value += 0.0  # round() leaves -0.0 when a call came a few ms before its delivery was answered
        return f"{value:.0f}{unit}" if abs(value) >= 10 else f"{value:.1f}{unit}"
    return f"{value}{unit}"


def moves(report: Report) -> str:
    moves = [f"{a['size_before']}→{a['size_after']} at {a['t']:.0f} s" for a in report["actions"]
             if a["size_before"] != a["size_after"]]
    return ", ".join(moves) or "none"


# (label, how to read it from one run's report)
ROWS: tuple[tuple[str, Callable[[Report], str]], ...] = (
    ("scale-up reaction: load step → first new member serving",
     lambda r: _fmt(r["summary"]["scale_up_reaction_s"], " s")),
    ("… of which load step → first scale-up alert delivered (the alerting pipeline)",
     lambda r: _fmt(r["summary"].get("step_to_first_up_delivery_s"), " s")),
    ("… and that delivery → first scale-up call (the scaler)",
     lambda r: _fmt(r["summary"].get("first_up_delivery_to_action_s"), " s")),
    ("scale-down reaction: load drop → first member removed",
     lambda r: _fmt(r["summary"]["scale_down_reaction_s"], " s")),
    ("overload / SLO-violation seconds (definition below)", lambda r: _fmt(r["summary"]["overload_s"], " s")),
    ("instance-seconds", lambda r: _fmt(r["summary"]["instance_seconds"])),
    ("scaling actions", lambda r: f"{r['summary']['actions']}: {moves(r)}"),
    ("flaps (reversal within the flap window)", lambda r: _fmt(r["summary"]["flaps"])),
    ("requests lost (2xx deliveries the scaler did not keep or act on)",
     lambda r: _fmt(r["summary"]["requests_lost"])),
    ("pool size: max / final", lambda r: f"{r['summary']['max_pool_size']} / {r['summary']['final_pool_size']}"),
    ("`/load` requests that failed", lambda r: _fmt(r["summary"]["load_errors"])),
    ("… of them at a scale-down", lambda r: _fmt(r["summary"].get("load_errors_at_scale_down"))),
    ("webhook deliveries answered 2xx (scale alerts in them)",
     lambda r: f"{r['deliveries']['delivered']} ({r['deliveries']['scale_alerts_delivered']})"),
)


def table(runs: Mapping[str, Report]) -> list[str]:
    """Pure: the markdown table, one column per policy in the order run."""
    names = list(runs)
    lines = ["| figure (measured from outside the scaler) | " + " | ".join(names) + " |",
             "|---|" + "---|" * len(names)]
    lines += [f"| {label} | " + " | ".join(read(runs[n]) for n in names) + " |" for label, read in ROWS]
    return lines


def as_json(runs: Mapping[str, Report]) -> dict[str, Any]:
    """Pure: compare.json: the scenario's facts once, then each policy's summary and actions."""
    first = next(iter(runs.values()))
    return {"scenario": first["scenario"], "description": first["description"], "app": first["app"],
            "timings": first["timings"], "overload": first["overload"], "policies": list(runs),
            "runs": {name: {"summary": r["summary"], "actions": r["actions"]} for name, r in runs.items()}}


def write_markdown(out: Path, runs: Mapping[str, Report], command: str) -> None:
    facts = as_json(runs)
    lines = [f"# Sandbox compare: {facts['scenario']} ({facts['app']['name']}, {facts['timings']['name']} timers)",
             "", facts["description"], "",
             f"`{command}`: the same scenario, load profile and member model once per policy, one "
             "after the other; each run's own report is in its folder "
             + ", ".join(f"[{n}/]({n}/report.md)" for n in runs) + ". `baseline` is the classic "
             "scaler (sandbox/baseline.py): ±1 at once on every delivered firing scale alert, "
             "resolved alerts ignored, bounds kept, no tick, no cooldown.", "",
             "![compare](compare.png)", "", *table(runs), "",
             f"Overload: {facts['overload']['definition']}. Flap window: "
             f"{facts['timings']['flap_window_s']:.0f} s.", ""]
    (out / "compare.md").write_text("\n".join(lines))


def write_json(out: Path, runs: Mapping[str, Report]) -> None:
    (out / "compare.json").write_text(json.dumps(as_json(runs), indent=2) + "\n")


def write_plot(out: Path, runs: Mapping[str, Report]) -> None:
    """Pool size, and the pool's CPU over the rules' window (the overload figure's signal), per
    policy on one time axis; the load step shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    first = next(iter(runs.values()))
    window_s = duration_s(first["timings"]["rate_window"])
    fig, (sizes, cpu) = plt.subplots(2, 1, figsize=(11, 6), sharex=True)
    for name, report in runs.items():
        samples = [Sample(**s) for s in report["samples"]]
        t = [s.t for s in samples]
        line = sizes.step(t, [s.pool_size for s in samples], where="post", label=name)[0]
        windowed = [trailing_mean(samples, i, window_s) if i else None for i in range(len(samples))]
        cpu.plot(t, [float("nan") if v is None else 100 * v for v in windowed], color=line.get_color(),
                 label=f"{name}: overload {report['summary']['overload_s']:.0f} s")
    sizes.set_ylabel("pool size (billed)")
    sizes.yaxis.get_major_locator().set_params(integer=True)
    cpu.axhline(80, color="black", linestyle=":", linewidth=1, label="scale-up 80 %")
    cpu.set_ylabel(f"pool CPU over {window_s:.0f} s (%)")
    cpu.set_ylim(0, 105)
    cpu.set_xlabel("time since the load started (s)")
    for axis in (sizes, cpu):
        if first.get("step_t") is not None and first.get("drop_t") is not None:
            axis.axvspan(first["step_t"], first["drop_t"], color="tab:gray", alpha=0.07)
        axis.grid(alpha=0.3)
        axis.legend(loc="upper right")
    sizes.set_title(f"{first['scenario']} ({first['app']['name']}): " + ", ".join(runs))
    fig.tight_layout()
    fig.savefig(out / "compare.png", dpi=110)
    plt.close(fig)


def write(out: Path, runs: Mapping[str, Report], command: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_json(out, runs)
    write_markdown(out, runs, command)
    write_plot(out, runs)
