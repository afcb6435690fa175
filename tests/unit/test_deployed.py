"""The deployment's numbers are read from its own files (alerts.json, prometheus.yml, timers)."""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from bootstrap.render import load_spec
from sandbox import deployed
from sandbox.timings import REAL, scale_spec

BOOTSTRAP = Path(__file__).resolve().parents[2] / "bootstrap"


@pytest.mark.parametrize("text, expected", [("15s", 15), ("1m", 60), ("1h30m", 5400),
                                            ("45s", 45), ("1500ms", 2)])
def test_seconds(text: str, expected: int) -> None:
    assert deployed.seconds(text) == expected


@pytest.mark.parametrize("text", ["", "soon", "15", "1m junk", "-1s"])
def test_seconds_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        deployed.seconds(text)


def test_every_number_comes_from_its_file(tmp_path: Path) -> None:
    """Change each file's value in a copy of bootstrap/: the reader must follow every one."""
    root = tmp_path / "bootstrap"
    shutil.copytree(BOOTSTRAP, root)
    spec_path = root / "alerting" / "alerts.json"
    spec = json.loads(spec_path.read_text())
    spec["evaluation_interval"] = "30s"
    spec["notification"].update(group_wait="7s", group_interval="2m", repeat_interval="50s")
    spec["thresholds"].update(scale_up_cpu=0.7, scale_down_cpu=0.1, saturated_cpu=0.9, trend_noise_z=2)
    spec["signals"]["cpu"] = spec["signals"]["cpu"].replace("[30s]", "[2m]")
    spec["signals"]["other_trend"] = "deriv(sum(up)[3m:5s])"
    for alert in spec["alerts"]:
        if alert["name"] == "PoolCpuHigh":
            alert["for"] = "3m"
            alert["trend_signal"] = "other_trend"
        if alert["name"] == "PoolCpuLow":
            alert["for"] = "4m"
    spec_path.write_text(json.dumps(spec))
    prom = root / "prometheus" / "prometheus.yml"
    prom.write_text(prom.read_text().replace("scrape_interval: 5s", "scrape_interval: 7s"))
    sd = root / "systemd" / "autoscaler-sd.timer"
    sd.write_text(sd.read_text().replace("OnUnitActiveSec=15s", "OnUnitActiveSec=9s"))
    got = deployed.read(root)
    assert got == deployed.Deployed(scrape_s=7, eval_s=30, rate_window_s=120, trend_window_s=180,
                                    trend_step_s=5, for_s=180, down_for_s=240,
                                    group_wait_s=7, group_interval_s=120, repeat_s=50, tick_s=60,
                                    sd_s=9, scale_up_cpu=0.7, scale_down_cpu=0.1,
                                    saturated_cpu=0.9, trend_noise_z=2)


def test_the_sandboxs_real_timers_are_the_deployed_ones() -> None:
    d = deployed.read()
    assert (REAL.scrape_s, REAL.eval_s, REAL.tick_s, REAL.sd_s) == (d.scrape_s, d.eval_s,
                                                                    d.tick_s, d.sd_s)
    assert [deployed.seconds(x) for x in (REAL.rate_window, REAL.alert_for, REAL.alert_for_down,
                                          REAL.group_wait, REAL.group_interval,
                                          REAL.repeat_interval)] == [
        d.rate_window_s, d.for_s, d.down_for_s, d.group_wait_s, d.group_interval_s, d.repeat_s]


def test_a_timer_without_a_known_period_is_an_error(tmp_path: Path) -> None:
    timer = tmp_path / "x.timer"
    timer.write_text("[Timer]\nOnCalendar=daily\n")
    with pytest.raises(ValueError, match="OnCalendar"):
        deployed.timer_period_s(timer)


def test_the_sandbox_gives_each_scaling_alert_its_own_for() -> None:
    """scale_spec sets `for` per direction: the scale-up and scale-down alerts may differ."""
    timings = dataclasses.replace(REAL, alert_for="11s", alert_for_down="77s")
    spec = scale_spec(load_spec(), timings)
    got = {a["labels"].get("scale"): a["for"] for a in spec["alerts"]}
    assert (got["up"], got["down"]) == ("11s", "77s")
    def others(alerts: list[dict]) -> list[str]:
        return [a["for"] for a in alerts if "scale" not in a["labels"]]
    assert others(spec["alerts"]) == others(load_spec()["alerts"])
