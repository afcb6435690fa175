"""Requests in flight per pool member, from the Prometheus beside the tick (its HTTP API).

One instant query per tick (`GET /api/v1/query`, https://prometheus.io/docs/prometheus/latest/querying/api/)
with a short timeout: node exporter's `node_netstat_Tcp_CurrEstab` less the scrape's own connection,
as alerts.json's in_flight signal counts it, keyed by the IP of the target's `instance` label
(`ip:port`, written by functions/sd). Whatever keeps Prometheus from answering (down, slow, an
error, no series) gives None, and a scale-down keeps its order by readiness and age
(eviction.py); `by_ip` says so in the log.
"""
from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

log = logging.getLogger("scaler.in_flight")

# The pool's scrape job (bootstrap/prometheus/prometheus.yml, alerts.json's pool_job).
QUERY = 'clamp_min(node_netstat_Tcp_CurrEstab{job="pool"} - 1, 0)'
TIMEOUT_S = 2.0


class Unanswered(Exception):
    """Prometheus gave no usable figures; the message says why."""


def parse(body: Any) -> dict[str, float]:
    """{member IP: requests in flight} from an instant query's JSON answer."""
    if not isinstance(body, dict) or body.get("status") != "success":
        error = body.get("error") if isinstance(body, dict) else None
        raise Unanswered(f"query failed: {error or 'not a success answer'}")
    data = body.get("data")
    result = data.get("result") if isinstance(data, dict) else None
    if not isinstance(result, list):
        raise Unanswered("answer has no result list")
    found: dict[str, float] = {}
    for series in result:
        try:
            host, _, _port = str(series["metric"]["instance"]).rpartition(":")
            found[host] = float(series["value"][1])
        except (KeyError, IndexError, TypeError, ValueError):
            continue  # one odd series must not hide the others
    if not found:
        raise Unanswered("no node_netstat_Tcp_CurrEstab series for the pool")
    return found


def read(base_url: str, timeout_s: float = TIMEOUT_S) -> dict[str, float]:
    """The figures now; raises Unanswered."""
    url = f"{base_url}/api/v1/query?" + urllib.parse.urlencode({"query": QUERY})
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:
            body = json.loads(resp.read())
    except urllib.error.HTTPError as exc:  # 400/422/503 carry an error body
        try:
            body = json.loads(exc.read())
        except ValueError:
            raise Unanswered(f"HTTP {exc.code}") from None
    except (OSError, ValueError) as exc:  # refused, timeout (TimeoutError is an OSError), not JSON
        raise Unanswered(str(exc) or type(exc).__name__) from None
    return parse(body)


def by_ip(base_url: str, timeout_s: float = TIMEOUT_S) -> dict[str, float] | None:
    """The figures, or None (logged) when Prometheus cannot answer."""
    try:
        return read(base_url, timeout_s)
    except Unanswered as exc:
        log.warning("requests in flight per member unknown (Prometheus at %s: %s); a scale-down "
                    "evicts by readiness and age only", base_url, exc)
        return None
