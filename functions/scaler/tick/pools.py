"""The loop `python -m functions.scaler.tick [--dry-run]` (run.py) makes over every configured pool.

Each pool takes its own lease (`keys.lease(pool_id)`), reads and writes only its own keys, and
writes its own textfiles (`autoscaler_tick_<name>.prom`, `autoscaler_tick_run_<name>.prom`, every
sample labelled `pool`). A fault in one pool's tick (the API refusing it or answering 404 because
the pool was deleted, SOS failing, any exception) is logged with the pool's name and the next pool
still ticks; the process exits 1 when any pool failed. One exoscale client and one Store serve
every pool, and SOS's conditional writes are probed once per process (one bucket).

Time: systemd stops the whole run after TimeoutStartSec (55 s). A pool's tick is not cut short (it
is safe to kill anywhere, but without threads there is no clean way to stop a blocked call), so
the pools are visited from a start that rotates every minute, and no pool is started after
START_BY_S: a pool whose calls hang delays the pools after it only in the minutes it comes early,
never the same ones every minute. With one pool this is the single-pool tick, step for step.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Sequence

from functions.common import config
from functions.common.store import Store

log = logging.getLogger("scaler.tick")

START_BY_S = 40.0  # no pool's tick starts later than this into the run (systemd stops it at 55 s)
TICK_FILE = re.compile(r"^autoscaler_tick(_.+)?\.prom$")


def rotated(pools: Sequence[config.Config], now: float) -> list[config.Config]:
    """Pure: the pools in their configured order, starting from a different one each minute."""
    if not pools:
        return []
    start = int(now // 60) % len(pools)
    return [*pools[start:], *pools[:start]]


def file_names(pool_name: str) -> tuple[str, str]:
    """The tick's two textfiles of one pool (names without `.prom`): outcome, and start."""
    return f"autoscaler_tick_{pool_name}", f"autoscaler_tick_run_{pool_name}"


def stale_files(present: Iterable[str], pool_names: Iterable[str]) -> list[str]:
    """Pure: the tick's textfiles in a directory listing that belong to no configured pool (a
    pool removed from the configuration, or the unlabelled files of a version before pools), whose
    frozen timestamps would otherwise look like a stalled tick forever."""
    wanted = {f"{n}.prom" for name in pool_names for n in file_names(name)}
    return sorted(f for f in present if TICK_FILE.match(f) and f not in wanted)


def remove_stale(directory: str | None, pool_names: Iterable[str]) -> None:
    if not directory or not os.path.isdir(directory):
        return
    for name in stale_files(os.listdir(directory), pool_names):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(directory, name))
            log.info("removed %s: no configured pool writes it", name)


class Probe:
    """SOS honours conditional writes: asked once per process (every pool shares the bucket)."""

    def __init__(self) -> None:
        self.honoured: bool | None = None

    def check(self, store: Store, key: str) -> bool:
        if self.honoured is None:
            self.honoured = store.conditions_honoured(key)
        return self.honoured


class PoolTag(logging.Filter):
    """Puts the pool being ticked on every log record (`%(pool)s`)."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = "-"

    def filter(self, record: logging.LogRecord) -> bool:
        record.pool = self.pool
        return True


def run_all(pools: Sequence[config.Config], tick_one: Callable[[config.Config, Probe], bool],
            tag: PoolTag, clock: Callable[[], float] = time.monotonic,
            wall: Callable[[], float] = time.time) -> int:
    """`tick_one` (run.tick_pool: True unless it failed) for every pool in the rotated order; 1
    when any failed or was not reached in time."""
    started, probe, failed = clock(), Probe(), []
    for cfg in rotated(pools, wall()):
        tag.pool = cfg.pool_name
        if probe.honoured is False or clock() - started > START_BY_S:
            log.warning("not ticked this minute: %s", "SOS refused conditional writes"
                        if probe.honoured is False else f"{START_BY_S:.0f} s have passed")
            failed.append(cfg.pool_name)
            continue
        try:
            ok = tick_one(cfg, probe)
        except Exception:  # one pool's bug or surprise must not stop the others
            log.exception("tick failed unexpectedly")
            ok = False
        if not ok:
            failed.append(cfg.pool_name)
    tag.pool = "-"
    if failed and len(pools) > 1:
        log.error("%d of %d pools failed: %s", len(failed), len(pools), ", ".join(failed))
    return 1 if failed else 0


def dry_run_all(pools: Sequence[config.Config], dry_run: Callable[[config.Config], object],
                errors: tuple[type[BaseException], ...]) -> int:
    """Prints one pool's dry run, as always; several: {name: dry run or {"error": ...}}."""
    found: dict[str, object] = {}
    failed = False
    for cfg in pools:
        try:
            found[cfg.pool_name] = dry_run(cfg)
        except errors as exc:
            log.error("dry run of pool %s failed: %s", cfg.pool_name, exc)
            found[cfg.pool_name], failed = {"error": str(exc)}, True
            if len(pools) == 1:
                return 1
    shown = found[pools[0].pool_name] if len(pools) == 1 else found
    print(json.dumps(shown, indent=2, default=str))
    return 1 if failed else 0
