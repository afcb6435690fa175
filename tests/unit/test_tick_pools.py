"""The tick over several pools, its pure parts: the rotating order, the textfiles each pool owns and
the stale ones, and the `pool` label on every sample."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from functions.bucket.state import Bounds, Decided, LastAction, PoolSeen, ScalerState
from functions.common import config, textfile
from functions.scaler.tick import metrics, pools
from functions.scaler.tick.policy import Action

ENV = {"EXOSCALE_KEY": "EXOk", "EXOSCALE_SECRET": "s", "EXOSCALE_ZONE": "at-vie-1",
       "SOS_BUCKET": "bucket-1", "INSTANCEPOOLS": "a=1,b=2,c=3"}
STATE = ScalerState(last_action=LastAction(100.0, Action.UP, 2, 3, "go"),
                    last_decision=Decided(160.0, Action.NONE, "cooldown"),
                    pool=PoolSeen(3, "running", 2, 160.0), bounds=Bounds(1, 6))


@pytest.mark.parametrize("now, expected", [
    (0.0, "abc"), (59.9, "abc"), (60.0, "bca"), (125.0, "cab"), (180.0, "abc"),
])
def test_the_first_pool_changes_every_minute(now: float, expected: str) -> None:
    each = config.load(ENV).each_pool()
    assert "".join(p.pool_name for p in pools.rotated(each, now)) == expected


def test_one_pool_is_always_first() -> None:
    one = config.load({**ENV, "INSTANCEPOOLS": "", "INSTANCEPOOL_ID": "p"}).each_pool()
    assert [[p.pool_id for p in pools.rotated(one, now)] for now in (0, 61, 3600)] == [["p"]] * 3


@pytest.mark.parametrize("present, names, stale", [
    (["autoscaler_tick_a.prom", "autoscaler_tick_run_a.prom", "autoscaler_sd.prom", "boot.prom"],
     ["a"], []),
    # a version before pools wrote unlabelled files; a removed pool's files stay frozen otherwise
    (["autoscaler_tick.prom", "autoscaler_tick_run.prom", "autoscaler_tick_gone.prom",
      "autoscaler_tick_run_gone.prom", "autoscaler_tick_a.prom"], ["a"],
     ["autoscaler_tick.prom", "autoscaler_tick_gone.prom", "autoscaler_tick_run.prom",
      "autoscaler_tick_run_gone.prom"]),
    # a pool named "run" owns autoscaler_tick_run.prom
    (["autoscaler_tick_run.prom", "autoscaler_tick_run_run.prom", ".autoscaler_tick_a.prom.x.tmp"],
     ["run"], []),
])
def test_stale_textfiles_are_those_of_no_configured_pool(present: list[str], names: list[str],
                                                         stale: list[str]) -> None:
    assert pools.stale_files(present, names) == stale


def test_every_sample_carries_the_pool_and_the_help_is_the_same_in_every_file() -> None:
    texts = {name: metrics.metrics(STATE, {"up": 1}, 170.0, pool_name=name) for name in ("a", "b")}
    for name, text in texts.items():
        samples = [line for line in text.splitlines() if not line.startswith("#")]
        assert samples and all(f'pool="{name}"' in line for line in samples)
    heads = [[line for line in t.splitlines() if line.startswith("#")] for t in texts.values()]
    assert heads[0] == heads[1]
    assert metrics.started(5.0, "a") == (
        "# HELP autoscaler_tick_last_run_timestamp_seconds Unix time the last tick started.\n"
        "# TYPE autoscaler_tick_last_run_timestamp_seconds gauge\n"
        'autoscaler_tick_last_run_timestamp_seconds{pool="a"} 5.0\n')
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: apt-get install prometheus"
    check = subprocess.run([promtool, "check", "metrics"], input=texts["a"], capture_output=True,
                           text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr


def test_without_a_pool_the_samples_are_as_before() -> None:
    assert "pool=" not in metrics.metrics(STATE, {}, 170.0) + metrics.started(5.0)


@pytest.mark.parametrize("sample, const, line", [
    (1.0, {"pool": "a"}, 'm{pool="a"} 1.0'),
    ([({"direction": "up"}, 2)], {"pool": 'x"y'}, 'm{direction="up",pool="x\\"y"} 2.0'),
    ([({"pool": "own"}, 3)], {"pool": "a"}, 'm{pool="own"} 3.0'),
    (4.0, None, "m 4.0"),
])
def test_constant_labels_join_each_samples_own(sample: textfile.Sample, const: dict[str, str] | None,
                                               line: str) -> None:
    rendered = textfile.render({"m": sample}, const_labels=const).splitlines()
    assert rendered[-1] == line and re.fullmatch(r"# TYPE m gauge", rendered[0])


class Clock:
    """A monotonic clock each pool's tick moves forward by `step` seconds."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        return self.now


def run_with(outcomes: dict[str, object], clock: Clock, honoured: bool | None = True
             ) -> tuple[int, list[str]]:
    """run_all over pools a, b, c (minute 0: in that order), each pool's tick replaced by
    `outcomes[name]` (True, False, or an exception to raise)."""
    ticked: list[str] = []

    def fake_tick(cfg: config.Config, probe: pools.Probe) -> bool:
        ticked.append(cfg.pool_name)
        probe.honoured = honoured
        clock.now += clock.step
        outcome = outcomes[cfg.pool_name]
        if isinstance(outcome, Exception):
            raise outcome
        return bool(outcome)
    code = pools.run_all(config.load(ENV).each_pool(), fake_tick, pools.PoolTag(), clock=clock,
                         wall=lambda: 0.0)
    return code, ticked


@pytest.mark.parametrize("outcomes, code", [
    ({"a": True, "b": True, "c": True}, 0),
    ({"a": False, "b": True, "c": True}, 1),
    ({"a": RuntimeError("bug"), "b": True, "c": True}, 1),
    ({"a": True, "b": KeyError("x"), "c": False}, 1),
])
def test_every_pool_ticks_whatever_another_does(outcomes: dict[str, object], code: int) -> None:
    assert run_with(outcomes, Clock(1.0)) == (code, ["a", "b", "c"])


def test_no_pool_starts_after_the_deadline() -> None:
    slow = Clock(pools.START_BY_S * 0.75)  # a's tick hangs: b starts in time, c would not
    assert run_with({"a": True, "b": True, "c": True}, slow) == (1, ["a", "b"])


def test_sos_without_conditional_writes_stops_every_pool() -> None:
    assert run_with({"a": False, "b": True, "c": True}, Clock(0.0), honoured=False) == (1, ["a"])
