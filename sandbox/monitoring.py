"""Real Prometheus and Alertmanager (Debian packages) with generated configs, on loopback."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from bootstrap import render
from sandbox import procs
from sandbox.timings import REAL, Timings, scale_spec

PROMETHEUS = "prometheus"
ALERTMANAGER = "prometheus-alertmanager"
# Grafana's state manager re-sends a still-firing alert to its Alertmanager at most every 30 s, not
# configurable (grafana/grafana pkg/services/ngalert/state/manager.go ResendDelay), so the values a
# flush carries can be that much older than the last evaluation.
GRAFANA_RESEND_DELAY_S = 30


def missing_binaries() -> list[str]:
    return [b for b in (PROMETHEUS, ALERTMANAGER) if shutil.which(b) is None]


def prometheus_config(t: Timings, sd_file: str, rules_file: str, alertmanager: str) -> str:
    return json.dumps({  # JSON is YAML: no YAML writer needed
        "global": {"scrape_interval": f"{int(t.scrape_s)}s",
                   "evaluation_interval": f"{int(t.eval_s)}s",
                   "scrape_timeout": f"{max(1, int(t.scrape_s) - 1)}s"},
        "rule_files": [rules_file],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
        "scrape_configs": [{"job_name": "pool",
                            "file_sd_configs": [{"files": [sd_file], "refresh_interval": "5s"}]}],
    }, indent=2)


def rules(t: Timings, demand_signal: str = "demand") -> str:
    """The shared rules with this run's timers; the scale-up alert sends `demand_signal` (the app's)."""
    return render.render_prometheus_rules(render.with_demand_signal(scale_spec(render.load_spec(), t), demand_signal))


def resend_delay(t: Timings) -> str:
    """Prometheus' `--rules.alert.resend-delay` (1m by default) set to Grafana's 30 s, compressed
    with the run's other delays (the tick's ratio to the deployed one: 5 s on the fast timers)."""
    return f"{max(1, round(GRAFANA_RESEND_DELAY_S * t.tick_s / REAL.tick_s))}s"


def alertmanager_config(t: Timings, webhook_url: str, token: str) -> str:
    return render.render_alertmanager_config(webhook_url, token, scale_spec(render.load_spec(), t))


class Monitoring:
    """Starts Prometheus and Alertmanager in `workdir`; stop() ends both."""

    def __init__(self, workdir: Path, t: Timings, sd_file: str, webhook_url: str, token: str,
                 prom_port: int, am_port: int, demand_signal: str = "demand") -> None:
        self.workdir = workdir
        self.demand_signal = demand_signal
        self.t = t
        self.sd_file = sd_file
        self.webhook_url = webhook_url
        self.token = token
        self.prom_port = prom_port
        self.am_port = am_port
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        w = self.workdir
        (w / "rules.yml").write_text(rules(self.t, self.demand_signal))
        (w / "prometheus.yml").write_text(prometheus_config(
            self.t, self.sd_file, str(w / "rules.yml"), f"127.0.0.1:{self.am_port}"))
        (w / "alertmanager.yml").write_text(alertmanager_config(self.t, self.webhook_url, self.token))
        os.chmod(w / "alertmanager.yml", 0o600)  # holds the bearer token
        am_log = open(w / "alertmanager.log", "wb")  # noqa: SIM115 -- the child process writes to it for its whole life
        self.procs.append(subprocess.Popen([
            ALERTMANAGER, f"--config.file={w / 'alertmanager.yml'}",
            f"--storage.path={w / 'am-data'}", f"--web.listen-address=127.0.0.1:{self.am_port}",
            "--cluster.listen-address=", "--log.level=warn"], stdout=am_log, stderr=am_log))
        prom_log = open(w / "prometheus.log", "wb")  # noqa: SIM115 -- the child process writes to it for its whole life
        self.procs.append(subprocess.Popen([
            PROMETHEUS, f"--config.file={w / 'prometheus.yml'}",
            f"--storage.tsdb.path={w / 'prom-data'}", f"--web.listen-address=127.0.0.1:{self.prom_port}",
            f"--rules.alert.resend-delay={resend_delay(self.t)}", "--log.level=warn"],
            stdout=prom_log, stderr=prom_log))
        self._wait_ready(f"http://127.0.0.1:{self.prom_port}/-/ready")
        self._wait_ready(f"http://127.0.0.1:{self.am_port}/-/ready")

    def _wait_ready(self, url: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for p in self.procs:
                if p.poll() is not None:
                    raise RuntimeError(f"{p.args!r} exited early (see {self.workdir}/*.log)")
            try:
                with urllib.request.urlopen(url, timeout=1) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{url} not ready after {timeout}s")

    def query(self, expr: str) -> float | None:
        from urllib.parse import quote
        url = f"http://127.0.0.1:{self.prom_port}/api/v1/query?query={quote(expr)}"
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                data: dict[str, Any] = json.load(resp)
        except OSError:
            return None
        result = data.get("data", {}).get("result", [])
        return float(result[0]["value"][1]) if result else None

    def alertmanager_counters(self) -> dict[str, float]:
        """Alertmanager's own counters for the webhook integration.

        `notifications`/`failed` count notifications (failed = every retry failed); `attempts`/
        `attempts_failed` count HTTP requests, retries included.
        """
        names = {"alertmanager_notifications_total": "notifications",
                 "alertmanager_notifications_failed_total": "failed",
                 "alertmanager_notification_requests_total": "attempts",
                 "alertmanager_notification_requests_failed_total": "attempts_failed"}
        out = dict.fromkeys(names.values(), 0.0)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.am_port}/metrics", timeout=2) as r:
                text = r.read().decode()
        except OSError:
            return out
        for line in text.splitlines():
            if 'integration="webhook"' not in line or line.startswith("#"):
                continue
            name = line.split("{", 1)[0]
            if name in names:
                out[names[name]] += float(line.rsplit(" ", 1)[1])
        return out

    def stop(self) -> None:
        procs.stop_all(self.procs)
        self.procs = []
