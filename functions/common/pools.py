"""Which pools a deployment scales, parsed from the environment (pure).

One pool, as always: `INSTANCEPOOL_ID` (and optionally `INSTANCEPOOL_NAME`, its label; `default`).
Several: `INSTANCEPOOLS=<name>=<id>[:min=N][:max=N][:step=N][:cooldown=S][:type=T],...`, e.g.
`web=4a1e...:min=2:max=8,api=9b2c...:type=standard.small`; what an entry leaves out comes from the
global settings (`SCALER_MIN_SIZE`, `SCALER_MAX_SIZE`, `SCALER_MAX_STEP`, `SCALER_COOLDOWN_S`,
`SCALER_INSTANCE_TYPE`), passed in as `defaults`. `,` `:` and `=` pass unquoted through a systemd
EnvironmentFile and a shell `eval` (a `;` would end the shell's command).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
# The tick writes autoscaler_tick_<name>.prom and autoscaler_tick_run_<name>.prom: a pool named
# run_<x> would share a file with pool <x>.
RESERVED_PREFIX = "run_"
DEFAULT_NAME = "default"
MAX_POOLS = 20
KEYS = ("min", "max", "step", "cooldown", "type")


class PoolsError(ValueError):
    """A bad pool setting; the message names the variable and the entry."""


@dataclass(frozen=True)
class PoolSpec:
    """One pool with every setting resolved (its own, else the global one)."""
    name: str
    id: str
    min_size: int
    max_size: int
    max_step: int
    cooldown_s: float
    instance_type: str


def _number(where: str, key: str, raw: str, whole: bool) -> float:
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        raise PoolsError(f"{where}: {key} must be a number, got {raw!r}") from None
    if value < (1 if key in ("min", "step") else 0) or (key == "max" and value < 1):
        raise PoolsError(f"{where}: {key} out of range, got {raw!r}")
    return value


def _id(where: str, pool_id: str) -> str:
    if not pool_id or any(c in pool_id for c in "/,:= "):
        raise PoolsError(f"{where}: the pool id must be non-empty, without / , : = or spaces")
    return pool_id


def _entry(index: int, text: str, defaults: PoolSpec) -> PoolSpec:
    where = f"INSTANCEPOOLS entry {index} ({text!r})"
    head, *options = text.strip().split(":")
    name, sep, pool_id = head.partition("=")
    if not sep or not NAME_RE.match(name):
        raise PoolsError(f"{where}: expected <name>=<id>, name matching {NAME_RE.pattern}")
    if name.startswith(RESERVED_PREFIX):
        raise PoolsError(f"{where}: a pool name must not start with {RESERVED_PREFIX!r}")
    given: dict[str, str] = {}
    for option in options:
        key, sep, raw = option.partition("=")
        if not sep or key not in KEYS or key in given or not raw:
            raise PoolsError(f"{where}: unknown, repeated or empty option {option!r} "
                             f"(known: {', '.join(KEYS)})")
        given[key] = raw
    spec = replace(defaults, name=name, id=_id(where, pool_id))
    if "min" in given:
        spec = replace(spec, min_size=int(_number(where, "min", given["min"], True)))
    if "max" in given:
        spec = replace(spec, max_size=int(_number(where, "max", given["max"], True)))
    if "step" in given:
        spec = replace(spec, max_step=int(_number(where, "step", given["step"], True)))
    if "cooldown" in given:
        spec = replace(spec, cooldown_s=_number(where, "cooldown", given["cooldown"], False))
    if "type" in given:
        spec = replace(spec, instance_type=given["type"])
    if spec.max_size < spec.min_size:
        raise PoolsError(f"{where}: max ({spec.max_size}) below min ({spec.min_size})")
    return spec


def parse(env: Mapping[str, str], defaults: PoolSpec) -> tuple[PoolSpec, ...]:
    """The configured pools, in the order given, each setting resolved against `defaults` (whose
    name and id are not used); raises PoolsError."""
    one = env.get("INSTANCEPOOL_ID", "").strip()
    many = env.get("INSTANCEPOOLS", "").strip()
    if one and many:
        raise PoolsError("set INSTANCEPOOL_ID or INSTANCEPOOLS, not both")
    if one:
        name = env.get("INSTANCEPOOL_NAME", "").strip() or DEFAULT_NAME
        if not NAME_RE.match(name) or name.startswith(RESERVED_PREFIX):
            raise PoolsError(f"INSTANCEPOOL_NAME must match {NAME_RE.pattern} and not start with "
                             f"{RESERVED_PREFIX!r}, got {name!r}")
        if "/" in one:
            raise PoolsError("INSTANCEPOOL_ID must not contain '/'")
        return (replace(defaults, name=name, id=one),)
    if not many:
        raise PoolsError("INSTANCEPOOL_ID is required but not set (INSTANCEPOOLS for several pools)")
    specs = tuple(_entry(i, text, defaults) for i, text in enumerate(many.split(","), start=1))
    if len(specs) > MAX_POOLS:
        raise PoolsError(f"INSTANCEPOOLS names {len(specs)} pools; at most {MAX_POOLS}")
    for attr in ("name", "id"):
        values = [getattr(s, attr) for s in specs]
        if len(set(values)) != len(values):
            raise PoolsError(f"INSTANCEPOOLS: every pool {attr} must be unique")
    return specs
