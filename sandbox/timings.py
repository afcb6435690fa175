"""The sandbox's clocks: real ones (as deployed) and a compressed set for `--fast`.

Every delay of the loop lives here, so the report can say which were used. `--fast`
divides the pipeline's delays by about six; the thresholds and labels stay those of
bootstrap/alerting/alerts.json.
"""
from __future__ import annotations

import copy
import re
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Timings:
    name: str
    tick_s: float            # systemd timer of the tick
    sd_s: float              # systemd timer of discovery
    scrape_s: float          # Prometheus scrape interval
    eval_s: float            # rule evaluation interval
    rate_window: str         # the [..] range of rate() in the signals
    alert_for: str           # `for` of the scaling alerts
    group_wait: str
    group_interval: str
    repeat_interval: str
    boot_s: float            # emulator: instance starting → running
    cooldown_s: float
    settle_s: float
    request_ttl_s: float
    sample_s: float          # how often the runner samples figures
    flap_window_s: float     # a reversal of direction sooner than this is a flap

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


REAL = Timings("real", tick_s=60, sd_s=15, scrape_s=10, eval_s=10, rate_window="1m",
               alert_for="1m", group_wait="10s", group_interval="1m", repeat_interval="30s",
               boot_s=45, cooldown_s=120, settle_s=150, request_ttl_s=300, sample_s=2,
               flap_window_s=300)
FAST = Timings("fast", tick_s=10, sd_s=3, scrape_s=2, eval_s=2, rate_window="10s",
               alert_for="10s", group_wait="2s", group_interval="10s", repeat_interval="5s",
               boot_s=8, cooldown_s=20, settle_s=25, request_ttl_s=60, sample_s=1,
               flap_window_s=50)


def scale_spec(spec: dict[str, Any], t: Timings) -> dict[str, Any]:
    """The shared alert spec with this run's windows and durations (thresholds untouched)."""
    out = copy.deepcopy(spec)
    out["evaluation_interval"] = f"{int(t.eval_s)}s"
    out["signals"] = {name: re.sub(r"\[1m\]", f"[{t.rate_window}]", expr)
                      for name, expr in spec["signals"].items()}
    for alert in out["alerts"]:
        if alert.get("labels", {}).get("scale"):
            alert["for"] = t.alert_for
    note = out["notification"]
    note.update(group_wait=t.group_wait, group_interval=t.group_interval,
                repeat_interval=t.repeat_interval)
    return out
