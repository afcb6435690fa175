"""Fault injection: the configuration, its parsing from JSON, and the per-call decision.

Decisions are pure given the config, the call's operationId, the time and a seeded RNG;
a rule draws the same number of random values on every call it sees, so a fixed seed and
a fixed call sequence always give the same faults.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass
from typing import Any

OUTAGE_MODES = ("503", "close")


class FaultConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Outage:
    start: float  # clock time, inclusive
    end: float    # clock time, exclusive
    mode: str = "503"  # "503": answer 503; "close": drop the connection without answering


@dataclass(frozen=True)
class FaultRule:
    operations: tuple[str, ...] | None = None  # operationIds this rule touches; None = every API call
    error_5xx_rate: float = 0.0
    error_5xx_status: int = 500
    rate_429: float = 0.0
    latency_s: float = 0.0
    outages: tuple[Outage, ...] = ()
    stuck_operations: bool = False  # mutations it matches succeed but their operation stays pending
    max_hits: int | None = None     # stop injecting errors after this many (None = unlimited)

    def matches(self, operation_id: str | None) -> bool:
        return self.operations is None or (operation_id is not None and operation_id in self.operations)


@dataclass(frozen=True)
class FaultConfig:
    rules: tuple[FaultRule, ...] = ()
    seed: int | None = None


@dataclass(frozen=True)
class Injection:
    latency_s: float = 0.0
    status: int | None = None  # an error status to answer instead of serving the call
    close: bool = False        # drop the connection instead of answering
    stuck: bool = False        # leave the resulting operation pending forever
    fault: str | None = None   # label for the request log

    @property
    def rejects(self) -> bool:
        return self.close or self.status is not None


def decide(config: FaultConfig, operation_id: str | None, now: float, rng: random.Random,
           hits: list[int]) -> Injection:
    """Which fault, if any, answers this call. `hits` counts errors per rule and is updated."""
    latency = 0.0
    stuck = False
    for index, rule in enumerate(config.rules):
        if not rule.matches(operation_id):
            continue
        draw_5xx, draw_429 = rng.random(), rng.random()
        latency += rule.latency_s
        stuck = stuck or rule.stuck_operations
        if rule.max_hits is not None and hits[index] >= rule.max_hits:
            continue
        error: Injection | None = None
        for outage in rule.outages:
            if outage.start <= now < outage.end:
                error = (Injection(close=True, fault="outage-close") if outage.mode == "close"
                         else Injection(status=503, fault="outage-503"))
                break
        if error is None and draw_5xx < rule.error_5xx_rate:
            error = Injection(status=rule.error_5xx_status, fault=f"error-{rule.error_5xx_status}")
        if error is None and draw_429 < rule.rate_429:
            error = Injection(status=429, fault="error-429")
        if error is not None:
            hits[index] += 1
            return Injection(latency_s=latency, status=error.status, close=error.close, fault=error.fault)
    return Injection(latency_s=latency, stuck=stuck, fault="stuck" if stuck else None)


# ---- parsing -------------------------------------------------------------------------

def _number(raw: dict[str, Any], key: str, default: float, lo: float, hi: float | None = None) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < lo or (hi is not None and value > hi):
        raise FaultConfigError(f"{key} must be a number in [{lo}, {hi if hi is not None else 'inf'}]")
    return float(value)


def parse_outage(raw: Any, now: float) -> Outage:
    """Absolute {"start", "end"} clock times, or {"in_s", "for_s"} relative to now."""
    if not isinstance(raw, dict):
        raise FaultConfigError("an outage must be an object")
    mode = raw.get("mode", "503")
    if mode not in OUTAGE_MODES:
        raise FaultConfigError(f"outage mode must be one of {OUTAGE_MODES}")
    if set(raw) - {"start", "end", "in_s", "for_s", "mode"}:
        raise FaultConfigError(f"unknown outage fields {sorted(set(raw) - {'start', 'end', 'in_s', 'for_s', 'mode'})}")
    if "start" in raw or "end" in raw:
        start = _number(raw, "start", 0.0, float("-inf"))
        end = _number(raw, "end", 0.0, float("-inf"))
    else:
        start = now + _number(raw, "in_s", 0.0, 0.0)
        end = start + _number(raw, "for_s", 0.0, 0.0)
    if end < start:
        raise FaultConfigError("outage end is before its start")
    return Outage(start=start, end=end, mode=mode)


RULE_FIELDS = {"operations", "error_5xx_rate", "error_5xx_status", "rate_429", "latency_s", "outages",
               "stuck_operations", "max_hits"}


def parse_rule(raw: Any, now: float) -> FaultRule:
    if not isinstance(raw, dict):
        raise FaultConfigError("a fault rule must be an object")
    unknown = set(raw) - RULE_FIELDS
    if unknown:
        raise FaultConfigError(f"unknown fault fields {sorted(unknown)}")
    ops = raw.get("operations")
    if ops is not None and (not isinstance(ops, list) or not all(isinstance(o, str) for o in ops)):
        raise FaultConfigError("operations must be a list of operationIds")
    status = raw.get("error_5xx_status", 500)
    if isinstance(status, bool) or not isinstance(status, int) or not 500 <= status <= 599:
        raise FaultConfigError("error_5xx_status must be an integer in 500..599")
    max_hits = raw.get("max_hits")
    if max_hits is not None and (isinstance(max_hits, bool) or not isinstance(max_hits, int) or max_hits < 0):
        raise FaultConfigError("max_hits must be a non-negative integer")
    stuck = raw.get("stuck_operations", False)
    if not isinstance(stuck, bool):
        raise FaultConfigError("stuck_operations must be a boolean")
    outages = raw.get("outages", [])
    if not isinstance(outages, list):
        raise FaultConfigError("outages must be a list")
    return FaultRule(
        operations=tuple(ops) if ops is not None else None,
        error_5xx_rate=_number(raw, "error_5xx_rate", 0.0, 0.0, 1.0),
        error_5xx_status=status,
        rate_429=_number(raw, "rate_429", 0.0, 0.0, 1.0),
        latency_s=_number(raw, "latency_s", 0.0, 0.0, 60.0),
        outages=tuple(parse_outage(o, now) for o in outages),
        stuck_operations=stuck,
        max_hits=max_hits,
    )


def parse_config(raw: Any, now: float) -> FaultConfig:
    """{"seed": int?, "rules": [rule, ...]}, or a single rule object as a shorthand."""
    if not isinstance(raw, dict):
        raise FaultConfigError("fault configuration must be a JSON object")
    seed = raw.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise FaultConfigError("seed must be an integer")
    if "rules" in raw:
        if set(raw) - {"rules", "seed"}:
            raise FaultConfigError("with 'rules', only 'seed' may sit beside it")
        if not isinstance(raw["rules"], list):
            raise FaultConfigError("rules must be a list")
        return FaultConfig(rules=tuple(parse_rule(r, now) for r in raw["rules"]), seed=seed)
    single = {k: v for k, v in raw.items() if k != "seed"}
    return FaultConfig(rules=(parse_rule(single, now),) if single else (), seed=seed)


def config_as_dict(config: FaultConfig) -> dict[str, Any]:
    return asdict(config)


class FaultInjector:
    """The mutable shell around `decide`: current config, its RNG and hit counters."""

    def __init__(self, config: FaultConfig | None = None, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._default_seed = seed
        self.configure(config or FaultConfig())

    def configure(self, config: FaultConfig) -> None:
        with self._lock:
            self._config = config
            self._rng = random.Random(config.seed if config.seed is not None else self._default_seed)
            self._hits = [0] * len(config.rules)

    @property
    def config(self) -> FaultConfig:
        with self._lock:
            return self._config

    def decide(self, operation_id: str | None, now: float) -> Injection:
        with self._lock:
            return decide(self._config, operation_id, now, self._rng, self._hits)
