"""The benchmark pipeline's delays and thresholds (the deployment's, read from its own files by
sandbox/deployed.py) and the floor they put under any policy's reaction."""
from __future__ import annotations

from dataclasses import dataclass

from sandbox import deployed

DEPLOYED = deployed.read()  # every timer and threshold of the alerting chain, from its own file


@dataclass(frozen=True)
class Delays:
    """The pipeline's delays: the deployment's by default (sandbox/deployed.py), and the model's
    own figures for what no file holds (boot times, node_load1's kernel constants)."""
    scrape_s: int = DEPLOYED.scrape_s
    rate_window_s: int = DEPLOYED.rate_window_s
    trend_window_s: int = DEPLOYED.trend_window_s
    trend_step_s: int = DEPLOYED.trend_step_s
    trend_noise_z: float = DEPLOYED.trend_noise_z  # standard errors the trend signal takes off
    eval_s: int = DEPLOYED.eval_s
    for_s: int = DEPLOYED.for_s            # the scale-up alert's `for`
    down_for_s: int = DEPLOYED.down_for_s  # the scale-down alert's
    group_wait_s: int = DEPLOYED.group_wait_s
    group_interval_s: int = DEPLOYED.group_interval_s
    repeat_s: int = DEPLOYED.repeat_s
    # Grafana's state manager sends a still-firing alert to its Alertmanager again only once this
    # long has passed since the last send (`ResendDelay`, a constant: grafana/grafana
    # pkg/services/ngalert/state/manager.go; the check is State.NeedsSending in state.go), so a
    # flush carries the annotations of that last send.
    resend_s: int = 30
    tick_s: int = DEPLOYED.tick_s
    sd_s: int = DEPLOYED.sd_s  # discovery sees member changes at this period
    boot_min_s: int = 60       # create → booted → app healthy behind the NLB on Exoscale
    boot_max_s: int = 90
    destroy_s: int = 10
    load_tau_s: float = 60.0   # node_load1 is an exponentially damped 1-minute average
    load_every_s: int = 5      # ... that the kernel updates every 5 s (LOAD_FREQ)

    @property
    def boot_mean_s(self) -> float:
        return (self.boot_min_s + self.boot_max_s) / 2

    def describe(self) -> str:
        return (f"scrape {self.scrape_s}s, rate window {self.rate_window_s}s, trend "
                f"deriv[{self.trend_window_s}s:{self.trend_step_s}s], eval {self.eval_s}s, "
                f"for {self.for_s}s (down {self.down_for_s}s), group_wait {self.group_wait_s}s, group_interval "
                f"{self.group_interval_s}s, repeat {self.repeat_s}s, Grafana resend {self.resend_s}s, "
                f"tick {self.tick_s}s, "
                f"sd {self.sd_s}s, boot {self.boot_min_s}–{self.boot_max_s}s, "
                f"load1 τ {self.load_tau_s:.0f}s every {self.load_every_s}s")


@dataclass(frozen=True)
class Thresholds:
    up: float = DEPLOYED.scale_up_cpu
    down: float = DEPLOYED.scale_down_cpu


def from_alert_spec() -> tuple[Delays, Thresholds]:
    """The alerting delays and thresholds the deployment really uses (one source of truth)."""
    return Delays(), Thresholds()


@dataclass(frozen=True)
class Floor:
    """The fastest any policy can bring capacity, from the pipeline's delays alone."""
    detection_s: float   # mean wait for a scrape + the window's share to cross + mean wait for an eval
    for_s: float
    group_wait_s: float
    tick_wait_s: float   # mean wait for the next tick (0 when a stored delivery starts one)
    boot_s: float        # mean boot
    window_share: float = 0.5  # of the rate window the load must fill before the average crosses

    @property
    def total_s(self) -> float:
        return self.detection_s + self.for_s + self.group_wait_s + self.tick_wait_s + self.boot_s

    def describe(self) -> str:
        tick = f"tick wait {self.tick_wait_s:.1f}" if self.tick_wait_s else "tick wait 0 (kicked)"
        share = "window/2" if self.window_share == 0.5 else f"window × {self.window_share:g}"
        return (f"detection {self.detection_s:.1f} (scrape/2 + {share} + eval/2) + for "
                f"{self.for_s:.0f} + group_wait {self.group_wait_s:.0f} + {tick} + boot "
                f"{self.boot_s:.1f} = {self.total_s:.1f} s")


def floor(delays: Delays, kicked: bool = True, window_share: float = 0.5) -> Floor:
    """The deployed floor (`kicked`: a stored delivery starts a tick, no tick wait) or the old
    one of a tick-only pipeline (mean wait tick/2). `window_share`: how much of the rate window
    the new load must fill before the windowed CPU crosses the threshold; about half for a step
    to saturation from half-busy members, (threshold - before) / (after - before) in general:
    0.8 for a step from idle to 100 %."""
    return Floor(delays.scrape_s / 2 + delays.rate_window_s * window_share + delays.eval_s / 2,
                 delays.for_s, delays.group_wait_s, 0.0 if kicked else delays.tick_s / 2,
                 delays.boot_mean_s, window_share)

