"""Pure: which configured pool an operator's request is about (`inspect --pool NAME`, the
receiver's `?pool=NAME`). With one pool the choice is optional; with several it is required, and a
wrong or missing name is refused with a message that names the pools."""
from __future__ import annotations

from collections.abc import Sequence

from functions.common import config


class PoolChoiceError(ValueError):
    """No pool given where several exist, or a name that is not configured; the message names
    the configured pools."""


def names(cfg: config.Config) -> tuple[str, ...]:
    """The configured pools' names, in the order configured (a Config built without `pools`, as
    tests and benchmarks do, has its one pool)."""
    return tuple(p.name for p in cfg.pools) or (cfg.pool_name,)


def pick(configured: Sequence[str], given: str | None, how: str) -> str:
    """The pool `given` names, or the only one when none is given; `how` is how the caller spells
    the choice ("--pool NAME", "?pool=NAME") for the message."""
    listed = ", ".join(configured)
    if not given:
        if len(configured) == 1:
            return configured[0]
        raise PoolChoiceError(f"{how} is required: this deployment scales {listed}")
    if given not in configured:
        raise PoolChoiceError(f"no pool named {given!r}: this deployment scales {listed}")
    return given


def choose(cfg: config.Config, given: str | None, how: str) -> config.Config:
    """The configuration of the pool chosen by `pick`."""
    name = pick(names(cfg), given, how)
    return cfg.for_pool(name) if cfg.pools else cfg
