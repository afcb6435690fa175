"""The sandbox's clocks: real ones (as deployed) and a compressed set for `--fast`.

Every delay of the loop lives here, so the report can say which were used. The real set is
read from the deployment's own files (sandbox/deployed.py) and the handlers' defaults (Config);
only the emulator's boot delay and the runner's sampling are the sandbox's own. `--fast`
divides the pipeline's delays by about six; the thresholds and labels stay those of
bootstrap/alerting/alerts.json.
"""
from __future__ import annotations

import copy
import re
from dataclasses import asdict, dataclass
from typing import Any

from functions.common.config import Config
from sandbox import deployed
from sandbox.measure import FLAP_WINDOW_S


@dataclass(frozen=True)
class Timings:
    name: str
    tick_s: float            # systemd timer of the tick
    sd_s: float              # systemd timer of discovery
    scrape_s: float          # Prometheus scrape interval
    eval_s: float            # rule evaluation interval
    rate_window: str         # the [..] range of rate() in the signals
    alert_for: str           # `for` of the scale-up alert
    alert_for_down: str      # `for` of the scale-down alert
    group_wait: str
    group_interval: str
    repeat_interval: str
    boot_s: float            # emulator: instance starting → running
    cooldown_s: float
    request_ttl_s: float
    sample_s: float          # how often the runner samples figures
    flap_window_s: float     # a reversal of direction at most this long after the last is a flap
    lease_s: float           # SCALER_LEASE_S: the tick's lease if it dies holding it

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _real() -> Timings:
    d = deployed.read()
    return Timings("real", tick_s=d.tick_s, sd_s=d.sd_s, scrape_s=d.scrape_s, eval_s=d.eval_s,
                   rate_window=f"{d.rate_window_s}s", alert_for=f"{d.for_s}s",
                   alert_for_down=f"{d.down_for_s}s",
                   group_wait=f"{d.group_wait_s}s", group_interval=f"{d.group_interval_s}s",
                   repeat_interval=f"{d.repeat_s}s", boot_s=45, cooldown_s=Config.cooldown_s,
                   request_ttl_s=Config.request_ttl_s, sample_s=2,
                   flap_window_s=FLAP_WINDOW_S, lease_s=Config.lease_s)


REAL = _real()
FAST = Timings("fast", tick_s=10, sd_s=3, scrape_s=2, eval_s=2, rate_window="10s",
               alert_for="10s", alert_for_down="10s", group_wait="2s", group_interval="10s", repeat_interval="5s",
               boot_s=8, cooldown_s=20, request_ttl_s=60, sample_s=1,
               flap_window_s=FLAP_WINDOW_S / 6, lease_s=8)


def scale_spec(spec: dict[str, Any], t: Timings) -> dict[str, Any]:
    """The shared alert spec with this run's windows and durations (thresholds untouched)."""
    out = copy.deepcopy(spec)
    out["evaluation_interval"] = f"{int(t.eval_s)}s"
    # Range windows, and the trend's subquery window with its step (the scrape interval).
    out["signals"] = {name: re.sub(r"\[\d+[smh]:\d+[smh]\]", f"[{t.rate_window}:{int(t.scrape_s)}s]",
                                   re.sub(r"\[\d+[smh]\]", f"[{t.rate_window}]", expr))
                      for name, expr in spec["signals"].items()}
    for alert in out["alerts"]:
        scale = alert.get("labels", {}).get("scale")
        if scale:
            alert["for"] = t.alert_for if scale == "up" else t.alert_for_down
    note = out["notification"]
    note.update(group_wait=t.group_wait, group_interval=t.group_interval,
                repeat_interval=t.repeat_interval)
    return out
