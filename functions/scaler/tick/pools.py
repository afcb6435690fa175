"""`python -m functions.scaler.tick [--dry-run]`: one tick of every configured pool, in turn.

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

import argparse
import contextlib
import json
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence

from functions.common import config, keys, lease, textfile
from functions.common.exo import PoolApi
from functions.common.store import Conflict, Store, StoreError

from . import metrics
from . import run as tick_run
from .bucket import READ_WORKERS

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


def tick_pool(cfg: config.Config, store: Store, api: PoolApi, probe: Probe) -> bool:
    """One pool's tick, as the single-pool tick always ran: True unless it failed."""
    tick = tick_run.Tick(cfg, store, api)
    now = tick.clock()
    outcome_file, run_file = file_names(cfg.pool_name)
    textfile.write(cfg.textfile_dir, run_file, metrics.started(now, cfg.pool_name))
    holder = lease.new_holder()
    try:
        held = lease.acquire(store, keys.lease(cfg.pool_id), holder, now, cfg.lease_s)
    except StoreError as exc:
        log.error("cannot reach the state bucket: %s", exc)
        return False
    if held is None:
        log.info("another tick holds the lease; nothing to do")
        return True
    tick.holder = holder
    tick_run.checkpoint("lease")
    try:
        if not probe.check(store, keys.probe(cfg.pool_id)):
            log.error("SOS does not honour conditional writes: refusing to act")
            return False
        tick_run.checkpoint("probe")
        state = tick.run()
        textfile.write(cfg.textfile_dir, outcome_file,
                       metrics.metrics(state, tick.pending_left, now, tick.settings, cfg.pool_name))
        return True
    except Conflict as exc:
        log.error("another writer changed the scaler state; stopping this tick: %s", exc)
        return False
    except tick_run.STOP_ERRORS as exc:
        log.error("tick failed: %s", exc)
        return False
    finally:
        with contextlib.suppress(StoreError):
            held.release(store, tick.clock())


class PoolTag(logging.Filter):
    """Puts the pool being ticked on every log record (`%(pool)s`)."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = "-"

    def filter(self, record: logging.LogRecord) -> bool:
        record.pool = self.pool
        return True


def run_all(pools: Sequence[config.Config], store: Store, api_for: Callable[[config.Config], PoolApi],
            tag: PoolTag, clock: Callable[[], float] = time.monotonic,
            wall: Callable[[], float] = time.time) -> int:
    """Every pool's tick in the rotated order; 1 when any failed or was not reached in time."""
    started, probe, failed = clock(), Probe(), []
    for cfg in rotated(pools, wall()):
        tag.pool = cfg.pool_name
        if probe.honoured is False or clock() - started > START_BY_S:
            log.warning("not ticked this minute: %s", "SOS refused conditional writes"
                        if probe.honoured is False else f"{START_BY_S:.0f} s have passed")
            failed.append(cfg.pool_name)
            continue
        try:
            ok = tick_pool(cfg, store, api_for(cfg), probe)
        except Exception:  # one pool's bug or surprise must not stop the others
            log.exception("tick failed unexpectedly")
            ok = False
        if not ok:
            failed.append(cfg.pool_name)
    tag.pool = "-"
    if failed and len(pools) > 1:
        log.error("%d of %d pools failed: %s", len(failed), len(pools), ", ".join(failed))
    return 1 if failed else 0


def dry_run_all(pools: Sequence[config.Config], store: Store,
                api_for: Callable[[config.Config], PoolApi]) -> int:
    """One pool: its dry run, as always. Several: {name: dry run or {"error": ...}}."""
    found: dict[str, object] = {}
    failed = False
    for cfg in pools:
        try:
            found[cfg.pool_name] = tick_run.dry_run(tick_run.Tick(cfg, store, api_for(cfg)))
        except tick_run.STOP_ERRORS as exc:
            log.error("dry run of pool %s failed: %s", cfg.pool_name, exc)
            found[cfg.pool_name], failed = {"error": str(exc)}, True
            if len(pools) == 1:
                return 1
    shown = found[pools[0].pool_name] if len(pools) == 1 else found
    print(json.dumps(shown, indent=2, default=str))
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m functions.scaler.tick",
                                     description=tick_run.__doc__)
    parser.add_argument("--dry-run", action="store_true", help="decide and print; change nothing")
    args = parser.parse_args(argv)
    cfg = config.from_environ_or_exit()
    pools = cfg.each_pool()
    several = len(pools) > 1
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s tick " + ("pool=%(pool)s " if several else "")
                        + "%(levelname)s %(message)s")
    tag = PoolTag()
    for handler in logging.getLogger().handlers if several else ():
        handler.addFilter(tag)
    store = Store.from_config(cfg, connect_timeout=3.0, read_timeout=10.0, attempts=3,
                              pool_connections=READ_WORKERS)
    first = PoolApi.from_config(cfg)  # its client (and connection pool) serves every pool

    def api_for(pool: config.Config) -> PoolApi:
        return first if pool.pool_id == first.pool_id else PoolApi(first.client, pool.pool_id)
    if args.dry_run:
        return dry_run_all(pools, store, api_for)
    remove_stale(cfg.textfile_dir, [p.pool_name for p in pools])
    return run_all(pools, store, api_for, tag)
