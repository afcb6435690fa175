"""`--repeat N`: the same scenario N times (per policy with --compare), each run's report in its own
`run-K/` folder, then summary.json and summary.md: per figure the mean, min, max, the sample standard
deviation and a 95 % Student-t interval of the mean, policies side by side.

The figures are read from each run's report.json summary (sandbox/measure.py measured them); nothing
is re-measured here. No random draw makes two runs differ (the load's arrivals are evenly spaced, the
members' models are deterministic): the phases of the scrape, the rule evaluation, Alertmanager's
group interval and the tick's timer against the load step do, and the shared machine's speed.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sandbox.compare import Report, moves

# (key in report.json's summary, label): the figures the repeat summarises.
FIGURES: tuple[tuple[str, str], ...] = (
    ("scale_up_reaction_s", "scale-up reaction: load step → first new member serving (s)"),
    ("overload_s", "overload / SLO-violation seconds"),
    ("instance_seconds", "instance-seconds"),
    ("max_pool_size", "max pool size"),
    ("actions", "scaling actions"),
    ("flaps", "flaps (reversal within the flap window)"),
    ("requests_lost", "requests lost"),
    ("load_errors", "`/load` requests that failed"),
    ("load_errors_at_scale_down", "… of them at a scale-down"),
)

SPREAD = ("sd: the sample standard deviation (n − 1); ci95: the 95 % Student-t interval of the mean, "
          "mean ± t(0.975, n − 1) · sd / √n; both over the runs that gave the figure")

# Student's t, two-sided 95 % (the 0.975 quantile), by degrees of freedom: NIST/SEMATECH e-Handbook
# of Statistical Methods, 1.3.6.7.2 (https://www.itl.nist.gov/div898/handbook/eda/section3/eda3672.htm).
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042)


def t975(df: int) -> float:
    """The 0.975 quantile of Student's t with `df` degrees of freedom; past the table, the
    Cornish-Fisher expansion around the normal quantile (within 0.001 there)."""
    if df < 1:
        raise ValueError("a t quantile needs at least one degree of freedom")
    if df <= len(T975):
        return T975[df - 1]
    z = 1.959964
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def count(text: str) -> int:
    """--repeat's argument: a whole number of runs, at least one."""
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"a number of runs, at least 1, not {text!r}")
    return n


def folders(out: Path, policies: Sequence[str], repeat: int, compare: bool) -> list[tuple[str, Path]]:
    """(policy, report folder) of every run in the order run: repetition by repetition, each
    policy once per repetition (so a slower spell of the shared machine hits all policies alike).
    One run keeps today's folders: `out`, or `out/<policy>` with --compare."""
    base = {p: out / p if compare else out for p in policies}
    if repeat == 1:
        return [(p, base[p]) for p in policies]
    return [(p, base[p] / f"run-{k}") for k in range(1, repeat + 1) for p in policies]


def stats(values: Sequence[float | None]) -> dict[str, Any]:
    """Pure: one figure over the runs. None (a run without the figure, such as a reaction when
    no member was added) is counted as missing and left out of the rest."""
    got = [v for v in values if v is not None]
    n = len(got)
    out: dict[str, Any] = {"n": n, "missing": len(values) - n, "values": list(values),
                           "mean": None, "min": None, "max": None, "sd": None, "ci95": None}
    if not n:
        return out
    mean = statistics.fmean(got)
    out.update(mean=round(mean, 2), min=min(got), max=max(got))
    if n > 1:
        sd = statistics.stdev(got)
        half = t975(n - 1) * sd / math.sqrt(n)
        out.update(sd=round(sd, 2), ci95=[round(mean - half, 2), round(mean + half, 2)])
    return out


def summarise(runs: Mapping[str, Sequence[Report]]) -> dict[str, Any]:
    """Pure: summary.json from each policy's reports (in run order)."""
    first = next(iter(runs.values()))[0]
    return {"scenario": first["scenario"], "description": first["description"], "app": first["app"]["name"],
            "timings": first["timings"]["name"], "overload": first["overload"]["definition"],
            "spread": SPREAD, "figures": dict(FIGURES), "policies": list(runs),
            "runs": {p: len(reports) for p, reports in runs.items()},
            "summary": {p: {key: stats([r["summary"].get(key) for r in reports]) for key, _ in FIGURES}
                        for p, reports in runs.items()},
            "moves": {p: [moves(r) for r in reports] for p, reports in runs.items()}}


def _num(v: float | None) -> str:
    if v is None:
        return "—"
    v += 0.0  # no -0.0
    return f"{v:.0f}" if abs(v) >= 100 or v == int(v) else f"{v:.1f}"


def cell(s: Mapping[str, Any]) -> str:
    """Pure: `mean ± sd [ci95] (min–max)`, the missing runs named."""
    if not s["n"]:
        return "—"
    text = _num(s["mean"])
    if s["sd"] is not None:
        lo, hi = s["ci95"]
        text += f" ± {_num(s['sd'])} [{_num(lo)}, {_num(hi)}]"
    text += f" ({_num(s['min'])}–{_num(s['max'])})"
    return text + (f", {s['missing']} without" if s["missing"] else "")


def table(summary: Mapping[str, Any]) -> list[str]:
    """Pure: the figures by policy, each cell `mean ± sd [95 % interval] (min–max)`."""
    names = summary["policies"]
    lines = ["| figure (mean ± sd [95 % interval of the mean] (min–max)) | "
             + " | ".join(f"{p} ({summary['runs'][p]} runs)" for p in names) + " |",
             "|---|" + "---|" * len(names)]
    return lines + [f"| {label} | " + " | ".join(cell(summary["summary"][p][key]) for p in names) + " |"
                    for key, label in FIGURES]


def run_lines(summary: Mapping[str, Any], links: Mapping[str, Sequence[str]]) -> list[str]:
    """Pure: one row per run: its figures and its scaling actions, linked to its report."""
    keys = [key for key, _ in FIGURES]
    lines = ["| run | " + " | ".join(keys) + " | scaling actions |", "|---|" + "---|" * (len(keys) + 1)]
    for p in summary["policies"]:
        for k, link in enumerate(links[p]):
            values = [_num(summary["summary"][p][key]["values"][k]) for key in keys]
            lines.append(f"| [{link}]({link}/report.md) | " + " | ".join(values)
                         + f" | {summary['moves'][p][k]} |")
    return lines


def write(out: Path, runs: Mapping[str, Sequence[Report]], done: Sequence[tuple[str, Path]],
          command: str) -> dict[str, Any]:
    """summary.json and summary.md into `out`; `done` the (policy, folder) of each run."""
    summary = summarise(runs)
    summary["command"] = command
    links = {p: [folder.relative_to(out).as_posix() for q, folder in done if q == p] for p in runs}
    summary["folders"] = links
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    lines = [f"# Sandbox repeat: {summary['scenario']} ({summary['app']}, {summary['timings']} timers)", "",
             summary["description"], "",
             f"`{command}`: the scenario run {max(summary['runs'].values())} times per policy, one "
             "run after the other (each policy once per round). Nothing random is drawn: the runs differ "
             "by the phases of the scrape, the rule evaluation, Alertmanager's group interval and the "
             "tick's timer against the load step, and by the shared machine's speed.", "",
             *table(summary), "", f"Spread: {SPREAD}. Overload: {summary['overload']}.", "",
             "## Each run", "", *run_lines(summary, links), ""]
    (out / "summary.md").write_text("\n".join(lines))
    return summary
