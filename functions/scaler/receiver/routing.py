"""Pure: which configured pool each alert of a webhook delivery belongs to, by its `pool` label,
and the counts the receiver answers with.

One pool: every alert is that pool's, whatever its `pool` label says (none, the pool's own name,
or a label of a rule written before pools were named), so a single-pool deployment scales exactly
as it did before. Several pools: the label must name a configured pool (an empty label counts as
absent, as it does in Prometheus).
An alert of no configured pool is ignored and counted as `unknown_pool`; the delivery is never
refused for it: Grafana does not retry a 4xx, so refusing would lose the other pools' requests
(docs/architecture.md, "The receiver").
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from functions.bucket.request import ScaleRequest

from .payload import Parsed

UNKNOWN_POOL = "unknown_pool"


def alert_pool(configured: Sequence[str], label: str | None) -> str | None:
    """The configured pool an alert labelled `label` belongs to; None when it belongs to none."""
    if len(configured) == 1:
        return configured[0]
    return label if label and label in configured else None


def route(configured: Sequence[str], requests: Sequence[ScaleRequest],
          labels: Sequence[str | None], ignored: Mapping[str, int]
          ) -> tuple[list[tuple[str, ScaleRequest]], dict[str, int]]:
    """Each request with its pool's name, in delivery order, and the ignored counts with those of
    no configured pool added (only when there are some)."""
    routed: list[tuple[str, ScaleRequest]] = []
    counts = dict(ignored)
    for request, label in zip(requests, labels, strict=True):
        pool = alert_pool(configured, label)
        if pool is None:
            counts[UNKNOWN_POOL] = counts.get(UNKNOWN_POOL, 0) + 1
        else:
            routed.append((pool, request))
    return routed, counts


def bad_annotations(parsed: Parsed) -> dict[str, int]:
    """The answer's `bad_scale_*` counts, only those that are not zero."""
    counts = {"bad_scale_value": parsed.bad_values, "bad_scale_members": parsed.bad_members,
              "bad_scale_trend": parsed.bad_trends, "bad_scale_cpu": parsed.bad_cpus}
    return {name: n for name, n in counts.items() if n}
