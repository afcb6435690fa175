"""The policy replay's inputs and outputs: CSV traces (step-hold, one-line errors), the hard
built-in traces, and the --json shape."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import policies, replay, trace_csv, traces
from benchmarks.trace_csv import TraceError

EXAMPLES = Path(__file__).resolve().parents[2] / "benchmarks" / "example-traces"


def test_each_value_holds_until_the_next_row_and_the_last_one_for_the_hold() -> None:
    trace = trace_csv.parse("t_s,demand_members\n0,1\n3,2.5\n5,0\n", "mine")
    assert trace.name == "mine"
    assert trace.demand == (1, 1, 1, 2.5, 2.5) + (0,) * trace_csv.HOLD_LAST_S
    assert not trace.steady


def test_blank_lines_and_spaces_are_tolerated_and_steady_names_are_steady() -> None:
    trace = trace_csv.parse(" t_s , demand_members \n\n0, 2\n", "plateau-night")
    assert trace.demand[:2] == (2, 2) and trace.steady


@pytest.mark.parametrize(("text", "message"), [
    ("", "mine: empty file, expected the header t_s,demand_members"),
    ("time,demand\n0,1\n", "mine:1: header must be t_s,demand_members, got time,demand"),
    ("t_s,demand_members\n", "mine: no rows after the header"),
    ("t_s,demand_members\n0,1,2\n", "mine:2: expected 2 values (t_s,demand_members), got 3"),
    ("t_s,demand_members\n0,abc\n", "mine:2: demand_members 'abc' is not a number"),
    ("t_s,demand_members\nzero,1\n", "mine:2: t_s 'zero' is not a number"),
    ("t_s,demand_members\n0,nan\n", "mine:2: demand_members 'nan' is not finite"),
    ("t_s,demand_members\n0,-1\n", "mine:2: demand_members '-1' must be >= 0"),
    ("t_s,demand_members\n0,1\n1.5,2\n", "mine:3: t_s '1.5' must be a whole number of seconds >= 0"),
    ("t_s,demand_members\n5,1\n", "mine:2: the first t_s must be 0, got 5"),
    ("t_s,demand_members\n0,1\n10,2\n10,3\n", "mine:4: t_s 10 does not increase (previous 10)"),
    ("t_s,demand_members\n0,1\n99999999,2\n", "mine:3: t_s 99999999 is past the longest trace"),
])
def test_a_bad_csv_is_one_line_naming_file_line_and_fault(text: str, message: str) -> None:
    with pytest.raises(TraceError) as caught:
        trace_csv.parse(text, "mine")
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_the_cli_refuses_a_bad_csv_with_one_line_and_exit_2(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("t_s,demand_members\n0,1\n10,x\n")
    assert policies.main(["--trace", str(bad), "--seeds", "1"]) == 2
    out = capsys.readouterr()
    assert out.err == "error: bad:3: demand_members 'x' is not a number\n" and out.out == ""
    assert policies.main(["--trace", str(tmp_path / "missing.csv"), "--seeds", "1"]) == 2
    assert "missing.csv: cannot read" in capsys.readouterr().err


def test_every_example_csv_is_a_valid_trace() -> None:
    names = sorted(p.stem for p in EXAMPLES.glob("*.csv"))
    assert names == ["dblstep", "plateau", "sawtooth", "step"]
    for path in EXAMPLES.glob("*.csv"):
        assert trace_csv.load(path).duration_s > 600


def test_hard_traces_have_their_shapes() -> None:
    double = traces.double_step()
    assert (double.demand[599], double.demand[600], double.demand[749], double.demand[750]) == (1, 3, 3, 6)
    saw = traces.sawtooth(1.0, 4.0, period_s=200)
    assert saw.demand[0] == 1 and saw.demand[199] == pytest.approx(1 + 3 * 199 / 200)
    assert saw.demand[200] == 1
    plateau = traces.noisy_plateau(3.0, noise=0.1, every_s=10)
    assert plateau.steady and all(2.7 <= d <= 3.3 for d in plateau.demand)
    assert len(set(plateau.demand[:10])) == 1 and len(set(plateau.demand)) > 100
    assert {"dblstep", "sawtooth", "plateau"} <= {t.name for t in traces.all_traces()}


def test_json_has_every_cell_in_the_documented_shape(capsys: pytest.CaptureFixture[str]) -> None:
    assert policies.main(["--json", "--seeds", "2", "--trace", str(EXAMPLES / "step.csv")]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["deployed"] == "proportional"
    cell = doc["traces"]["step"]
    assert cell["floor_s"] > 0
    assert set(cell["policies"]) == {"baseline", "proportional", "proportional (60 s timer only)"}
    for figures in cell["policies"].values():
        assert set(figures) >= {"reaction_s", "slo_violation_s", "instance_s", "actions", "flaps"}
        # the plain keys stay plain numbers; the interval over the seeds sits in its own key
        low, high = figures["instance_s_ci95"]
        assert isinstance(figures["instance_s"], float) and low <= figures["instance_s"] <= high
    assert set(doc["ablation"]) >= {"no look-ahead", "no occupancy fit", "scale-up +1 (no +2 floor)"}
    assert set(doc["ablation"]["no look-ahead"]) == {"step"}
    assert cell["policies"]["baseline"]["actions"] >= 1
    assert isinstance(cell["policies"]["proportional"]["reaction_s"], float)


def test_explain_names_the_baseline_by_its_json_key_and_refuses_an_unknown_policy(
        capsys: pytest.CaptureFixture[str]) -> None:
    step = str(EXAMPLES / "step.csv")
    assert policies.main(["--trace", step, "--explain", "step:baseline"]) == 0
    assert capsys.readouterr().out.startswith("# step, baseline ±1/webhook, seed 0:")
    with pytest.raises(SystemExit) as exit_:
        policies.main(["--trace", step, "--explain", "step:nope"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--explain: no policy 'nope'" in err and "baseline)" in err and "Traceback" not in err


def test_the_floor_search_only_tries_settings_the_tools_allow() -> None:
    from benchmarks import floor
    from benchmarks.pipeline import Delays
    found = floor.candidates(Delays())
    assert found
    for d in found:
        assert d.rate_window_s >= 4 * d.scrape_s and d.rate_window_s % d.scrape_s == 0
        assert d.eval_s % 10 == 0 and d.for_s % d.eval_s == 0
        assert (d.trend_window_s, d.trend_step_s) == (d.rate_window_s, d.scrape_s)
    assert {(d.scrape_s, d.rate_window_s) for d in found} >= {(5, 20), (15, 60)}
    assert not any(d.scrape_s == 15 and d.rate_window_s < 60 for d in found)


@pytest.mark.parametrize("df, table", [(4, 2.776), (8, 2.306), (19, 2.093), (39, 2.023)])
def test_the_t_quantile_matches_the_tables(df: int, table: float) -> None:
    assert replay.t_quantile(df) == pytest.approx(table, abs=0.01 if df < 8 else 0.001)


def test_the_spread_is_half_the_95_percent_t_interval_of_the_mean() -> None:
    values = [0.0, 1.0] * 10          # stdev 0.5130, n 20, t(19) 2.093
    assert replay.half_width(values) == pytest.approx(2.093 * 0.51299 / 20 ** 0.5, rel=1e-3)
    assert replay.half_width([5.0] * 4) == 0.0
    assert replay.half_width([5.0]) is None
