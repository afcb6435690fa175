"""`--repeat`: the plan of run folders and the mean and spread over given reports (pure)."""
from __future__ import annotations

import argparse
import json
import math
import signal
from pathlib import Path
from typing import Any

import pytest

from sandbox import repeat
from sandbox.__main__ import main


def report(steps: list[tuple[int, int, float]], /, **summary: Any) -> dict[str, Any]:
    """A report.json as a run writes it, reduced to what the summary reads."""
    return {"scenario": "smoke", "description": "a step", "app": {"name": "http-load-generator"},
            "timings": {"name": "fast"}, "overload": {"definition": "CPU above 80 %"},
            "summary": summary,
            "actions": [{"t": t, "operation": "scale-instance-pool", "size_before": a, "size_after": b}
                        for a, b, t in steps]}


@pytest.mark.parametrize(("values", "expected"), [
    # mean, sd, 95 % interval: 2 ± 4.303 · 1 / √3
    ([1, 2, 3], {"n": 3, "missing": 0, "mean": 2.0, "min": 1, "max": 3, "sd": 1.0, "ci95": [-0.48, 4.48]}),
    ([2, 2, 2, 2], {"n": 4, "missing": 0, "mean": 2.0, "min": 2, "max": 2, "sd": 0.0, "ci95": [2.0, 2.0]}),
    # one run: no spread
    ([1908.0], {"n": 1, "missing": 0, "mean": 1908.0, "min": 1908.0, "max": 1908.0, "sd": None, "ci95": None}),
    # a run without the figure (no member added: no reaction) is left out and counted
    ([None, 40.0, 60.0], {"n": 2, "missing": 1, "mean": 50.0, "min": 40.0, "max": 60.0, "sd": 14.14,
                          "ci95": [-77.06, 177.06]}),
    ([None, None], {"n": 0, "missing": 2, "mean": None, "min": None, "max": None, "sd": None, "ci95": None}),
    # the two default runs: 1908 and 2288 instance-seconds
    ([1908.0, 2288.0], {"n": 2, "missing": 0, "mean": 2098.0, "min": 1908.0, "max": 2288.0, "sd": 268.7,
                        "ci95": [-316.14, 4512.14]}),
])
def test_stats_of_one_figure(values: list[float | None], expected: dict[str, Any]) -> None:
    got = repeat.stats(values)
    assert got["values"] == values
    assert {k: v for k, v in got.items() if k != "values"} == expected


def _t_cdf(q: float, df: int, steps: int = 20000) -> float:
    """P(|T| <= q) by Simpson's rule over Student's t density."""
    c = math.gamma((df + 1) / 2) / (math.sqrt(df * math.pi) * math.gamma(df / 2))
    h = q / steps
    f = [c * (1 + (i * h) ** 2 / df) ** (-(df + 1) / 2) for i in range(steps + 1)]
    return 2 * h / 3 * (f[0] + f[-1] + 4 * sum(f[1:-1:2]) + 2 * sum(f[2:-1:2]))


@pytest.mark.parametrize("df", [*range(1, 33), 40, 60, 120])
def test_the_t_quantile_leaves_five_percent_outside(df: int) -> None:
    assert _t_cdf(repeat.t975(df), df) == pytest.approx(0.95, abs=2e-4)


def test_no_t_quantile_without_a_degree_of_freedom() -> None:
    with pytest.raises(ValueError):
        repeat.t975(0)


@pytest.mark.parametrize(("policies", "n", "compare", "expected"), [
    (["proportional"], 1, False, [("proportional", "out")]),  # today's folders
    (["step", "baseline"], 1, True, [("step", "out/step"), ("baseline", "out/baseline")]),
    (["proportional"], 2, False, [("proportional", "out/run-1"), ("proportional", "out/run-2")]),
    # round by round, each policy once per round
    (["step", "baseline"], 2, True, [("step", "out/step/run-1"), ("baseline", "out/baseline/run-1"),
                                     ("step", "out/step/run-2"), ("baseline", "out/baseline/run-2")]),
])
def test_folders(policies: list[str], n: int, compare: bool, expected: list[tuple[str, str]]) -> None:
    assert [(p, f.as_posix()) for p, f in repeat.folders(Path("out"), policies, n, compare)] == expected


@pytest.mark.parametrize(("text", "ok"), [("1", 1), ("3", 3), ("0", None), ("-2", None), ("two", None)])
def test_count(text: str, ok: int | None) -> None:
    if ok is None:
        with pytest.raises(argparse.ArgumentTypeError):
            repeat.count(text)
    else:
        assert repeat.count(text) == ok


def test_a_bad_repeat_is_refused_before_anything_starts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--repeat", "0", "--out", str(tmp_path / "out")])
    assert exit_.value.code == 2 and "--repeat" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


RUNS = {
    "proportional": [report([(1, 4, 62.0), (4, 1, 502.0)], scale_up_reaction_s=102.0, overload_s=80.0,
                            instance_seconds=1908.0, max_pool_size=4, actions=2, flaps=0, requests_lost=0,
                            load_errors=0),
                     report([(1, 4, 60.0), (4, 5, 121.0), (5, 1, 500.0)], scale_up_reaction_s=98.0,
                            overload_s=70.0, instance_seconds=2288.0, max_pool_size=5, actions=3, flaps=0,
                            requests_lost=0, load_errors=2)],
    "baseline": [report([(1, 2, 59.0)], scale_up_reaction_s=100.0, overload_s=174.0, instance_seconds=1904.0,
                        max_pool_size=2, actions=1, flaps=0, requests_lost=0, load_errors=0),
                 report([], scale_up_reaction_s=None, overload_s=190.0, instance_seconds=1000.0,
                        max_pool_size=1, actions=0, flaps=0, requests_lost=1, load_errors=0)],
}


def test_summarise_puts_policies_side_by_side() -> None:
    s = repeat.summarise(RUNS)
    assert s["policies"] == ["proportional", "baseline"] and s["runs"] == {"proportional": 2, "baseline": 2}
    assert (s["scenario"], s["app"], s["timings"]) == ("smoke", "http-load-generator", "fast")
    assert set(s["summary"]["proportional"]) == {key for key, _ in repeat.FIGURES}
    inst = s["summary"]["proportional"]["instance_seconds"]
    assert (inst["mean"], inst["min"], inst["max"], inst["sd"]) == (2098.0, 1908.0, 2288.0, 268.7)
    assert s["summary"]["proportional"]["load_errors"]["values"] == [0, 2]
    reaction = s["summary"]["baseline"]["scale_up_reaction_s"]
    assert (reaction["n"], reaction["missing"], reaction["mean"]) == (1, 1, 100.0)
    assert s["moves"]["proportional"][1] == "1→4 at 60 s, 4→5 at 121 s, 5→1 at 500 s"
    assert s["moves"]["baseline"][1] == "none"


@pytest.mark.parametrize(("values", "expected"), [
    ([1908.0, 2288.0], "2098 ± 269 [-316, 4512] (1908–2288)"),
    ([2, 3, 2], "2.3 ± 0.6 [0.9, 3.8] (2–3)"),
    ([0, 0], "0 ± 0 [0, 0] (0–0)"),
    ([5.0], "5 (5–5)"),
    ([None, 100.0], "100 (100–100), 1 without"),
    ([None], "—"),
])
def test_cell(values: list[float | None], expected: str) -> None:
    assert repeat.cell(repeat.stats(values)) == expected


def test_write_links_every_run_and_tables_every_figure(tmp_path: Path) -> None:
    done = repeat.folders(tmp_path, list(RUNS), 2, compare=True)
    summary = repeat.write(tmp_path, RUNS, done, "python -m sandbox --repeat 2")
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    assert summary["folders"] == {"proportional": ["proportional/run-1", "proportional/run-2"],
                                  "baseline": ["baseline/run-1", "baseline/run-2"]}
    text = (tmp_path / "summary.md").read_text()
    assert "| instance-seconds | 2098 ± 269 [-316, 4512] (1908–2288) | 1452 ± 639 [-4291, 7195] (1000–1904) |" in text
    assert "[baseline/run-2](baseline/run-2/report.md)" in text and "`python -m sandbox --repeat 2`" in text
    assert len([line for line in text.splitlines() if line.startswith("| [")]) == 4


@pytest.fixture
def handlers() -> Any:
    """main() sets SIGINT's and SIGTERM's handlers; put them back after the test."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_main_runs_round_by_round_and_writes_the_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str], handlers: Any) -> None:
    """The wiring, each run replaced by one of RUNS' reports (the real runs: the integration test)."""
    calls: list[tuple[str, Path]] = []
    left = {p: list(reports) for p, reports in RUNS.items()}

    def run_one(scenario: str, out: Path, policy: str, fast: bool, app: str,
                soak: tuple[float, int]) -> dict[str, Any]:
        calls.append((policy, out))
        return left[policy].pop(0)

    monkeypatch.setattr("sandbox.__main__.run_one", run_one)
    monkeypatch.setattr("sandbox.monitoring.missing_binaries", lambda: [])
    out = tmp_path / "out"
    assert main(["--scenario", "smoke", "--compare", "proportional,baseline", "--repeat", "2", "--out", str(out)]) == 0
    assert [(p, f.relative_to(out).as_posix()) for p, f in calls] == [
        ("proportional", "proportional/run-1"), ("baseline", "baseline/run-1"),
        ("proportional", "proportional/run-2"), ("baseline", "baseline/run-2")]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["summary"] == repeat.summarise(RUNS)["summary"]
    assert "--repeat 2" in summary["command"] and not (out / "compare.md").exists()
    assert "| proportional (2 runs) | baseline (2 runs) |" in capsys.readouterr().out


def test_the_recorded_default_runs_give_every_figure() -> None:
    """The three recorded runs of the default scenario (docs/sandbox/default, their report.json as
    written): every figure the summary reads is in a real report, and the recorded summary is what
    summarise() makes of them."""
    docs = Path(__file__).resolve().parents[2] / "docs" / "sandbox" / "default"
    runs = [json.loads((docs / f"run-{k}" / "report.json").read_text()) for k in (1, 2, 3)]
    s = repeat.summarise({"proportional": runs})["summary"]["proportional"]
    assert {key: s[key]["n"] for key in s} == {key: 3 for key, _ in repeat.FIGURES}
    recorded = json.loads((docs / "summary.json").read_text())
    assert recorded["summary"] == repeat.summarise({"proportional": runs})["summary"]
