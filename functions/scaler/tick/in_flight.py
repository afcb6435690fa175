"""Requests in flight on each pool member, read from its node exporter at the moment a scale-down
chooses whom to evict.

Read at that moment, not from Prometheus: a Prometheus sample is up to a scrape interval old, and
one `/load` lasts only 10 s, so a member idle at the last scrape may be busy by the call. The
figure is node exporter's `node_netstat_Tcp_CurrEstab` less two connections: this read's own and
the one Prometheus keeps alive to scrape the member (alerts.json's in_flight signal takes one off,
as only the scrape's is open while it scrapes); `collect[]=netstat` asks node exporter for that
collector only (https://github.com/prometheus/node_exporter#filtering-enabled-collectors). The
members are read in parallel with a short timeout; a member that does not answer has no figure
and ranks after every member with one (eviction.py).
"""
from __future__ import annotations

import logging
import urllib.request
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger("scaler.in_flight")

SERIES = "node_netstat_Tcp_CurrEstab"
BASELINE = 2  # this read's connection and Prometheus' kept-alive scrape connection
TIMEOUT_S = 1.0
WORKERS = 16


def parse(text: str) -> float | None:
    """Requests in flight from node exporter's text format, or None when the series is absent."""
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == SERIES:
            try:
                return max(float(value.split()[0]) - BASELINE, 0.0)
            except (IndexError, ValueError):
                return None
    return None


def read(ip: str, port: int, timeout_s: float = TIMEOUT_S) -> float | None:
    """One member's figure now, or None (logged) when it cannot be read."""
    url = f"http://{ip}:{port}/metrics?collect[]=netstat"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:
            figure = parse(resp.read().decode("utf-8", "replace"))
    except (OSError, ValueError) as exc:  # refused, timeout, HTTP error (URLError is an OSError)
        log.warning("requests in flight on %s unknown (%s)", ip, exc)
        return None
    if figure is None:
        log.warning("requests in flight on %s unknown (no %s)", ip, SERIES)
    return figure


def by_ip(ips: Iterable[str], port: int, timeout_s: float = TIMEOUT_S) -> dict[str, float]:
    """{member IP: requests in flight} for the members that answered, read in parallel."""
    wanted = sorted(set(ips))
    if not wanted:
        return {}
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(wanted))) as pool:
        figures = pool.map(lambda ip: read(ip, port, timeout_s), wanted)
        return {ip: f for ip, f in zip(wanted, figures, strict=True) if f is not None}
