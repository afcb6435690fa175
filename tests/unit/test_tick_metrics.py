"""The tick's self-monitoring textfile: valid exposition format, the names the alerts read."""
from __future__ import annotations

import shutil
import subprocess

from functions.bucket.state import Bounds, Decided, LastAction, PoolSeen, ScalerState
from functions.scaler.tick.metrics import metrics
from functions.scaler.tick.policy import Action

STATE = ScalerState(last_action=LastAction(100.0, Action.UP, 2, 3, 'said "go"\nnow'),
                    last_decision=Decided(160.0, Action.NONE, "cooldown (12s left)"),
                    pool=PoolSeen(3, "running", 2, 160.0), bounds=Bounds(1, 6), paused=True)


def test_metrics_are_valid_and_complete() -> None:
    text = metrics(STATE, {"up": 2, "down": 0}, 170.0)
    assert "autoscaler_tick_last_success_timestamp_seconds 170.0" in text
    assert 'autoscaler_pending_requests{direction="up"} 2.0' in text
    assert "autoscaler_pool_max_size 6.0" in text and "autoscaler_paused 1.0" in text
    assert 'reason="said \\"go\\"\\nnow"' in text  # escaped, one line
    assert 'autoscaler_last_decision_info{action="none"} 1.0' in text
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: apt-get install prometheus"
    check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr
