"""`python -m functions.sd`: one discovery cycle (or `--restore` from the SOS snapshots).

One `list_instances(manager_id=<pool>)` per configured pool; the target file is the union of
every pool's members, each target labelled with its pool (`pool`, `pool_id`), written atomically
once and only when it changed. A pool whose call fails keeps its previous targets (its SOS
snapshot, else its groups in the current file) while the others are refreshed, and the cycle
exits 1; when every pool fails the file is left untouched.

A cycle that rewrites the target file (the running members changed) also touches
SCALER_KICK_FILE when set: a scale request that arrived while the pool was still scaling is then
decided by a tick at once, instead of at the next 60 s timer tick.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time

from functions.common import config, keys, kick, textfile
from functions.common.exo import API_ERRORS, PoolApi
from functions.common.store import Store, StoreError

from .targets import Json, file_targets, groups, members_to_targets, next_snapshot, render, snapshot_targets

log = logging.getLogger("sd")


def write_if_changed(path: str, text: str) -> bool:
    """Atomically replace `path` (temp file + rename) unless it already holds `text`."""
    try:
        with open(path) as handle:
            if handle.read() == text:
                return False
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    textfile.replace(path, text)
    return True


def discover(pool: config.Config, api: PoolApi, several: bool) -> list[Json] | None:
    """The pool's running members with a public IP, or None when the API call failed."""
    try:
        instances = api.members()
    except API_ERRORS as exc:  # timeouts and dropped connections too, not only error answers
        if several:
            log.error("pool %s: list_instances failed, keeping its last good targets: %s",
                      pool.pool_name, exc)
        else:
            log.error("list_instances failed, keeping the last good target file: %s", exc)
        return None
    targets, skipped = members_to_targets(instances)
    for instance_id in skipped:
        log.warning("member %s is running without a public IP; skipped", instance_id)
    return targets


def kept(pool: config.Config, store: Store, current: str) -> list[Json]:
    """A failing pool's previous targets: its SOS snapshot, else its groups in the current file."""
    try:
        stored = store.get(keys.discovery(pool.pool_id))
    except StoreError as exc:
        log.error("pool %s: cannot read its discovery snapshot: %s", pool.pool_name, exc)
        stored = None
    found = snapshot_targets(stored.body if stored else None)
    return file_targets(current, pool.pool_id) if found is None else found


def read_text(path: str) -> str:
    try:
        with open(path) as handle:
            return handle.read()
    except FileNotFoundError:
        return ""


def cycle(cfg: config.Config, api: PoolApi, store: Store, now: float) -> int:
    """One cycle over every configured pool; `api`'s client serves them all."""
    pools = cfg.each_pool()
    found = {p.pool_name: discover(p, api if p.pool_id == api.pool_id else PoolApi(api.client, p.pool_id),
                                   len(pools) > 1)
             for p in pools}
    if all(targets is None for targets in found.values()):
        return 1
    failed = [p.pool_name for p in pools if found[p.pool_name] is None]
    current = read_text(cfg.sd_output) if failed else ""
    union: list[Json] = []
    for p in pools:
        targets = found[p.pool_name]
        union += groups(kept(p, store, current) if targets is None else targets, port=cfg.target_port,
                        pool_id=p.pool_id, zone=cfg.zone, pool_name=p.pool_name)
    if write_if_changed(cfg.sd_output, render(union)):
        log.info("targets changed: %d member(s) written to %s", len(union), cfg.sd_output)
        if cfg.kick_file:
            # A member became running (or left): the pool may be `running` again, so pending
            # requests can be decided now. No rate limit: this runs at most once per 15 s cycle.
            # A tick kicked while the pool still boots just waits, as on the timer.
            kick.touch(cfg.kick_file)
    for p in pools:
        targets = found[p.pool_name]
        if targets is None:
            continue
        try:
            previous = store.get(keys.discovery(p.pool_id))
            snapshot = next_snapshot(previous.body if previous else None, targets, now, p.pool_id)
            if snapshot is not None:
                store.put(keys.discovery(p.pool_id), snapshot)
        except StoreError as exc:
            log.error("could not update the discovery snapshot: %s", exc)
            return 1
    if failed:
        log.error("%d of %d pools not discovered: %s", len(failed), len(pools), ", ".join(failed))
        return 1
    textfile.write(cfg.textfile_dir, "autoscaler_sd", textfile.render({
        "autoscaler_sd_last_success_timestamp_seconds": now,
        "autoscaler_sd_targets": len(union)}, {
        "autoscaler_sd_last_success_timestamp_seconds": "Unix time of the last good discovery "
                                                         "(every pool).",
        "autoscaler_sd_targets": "Members in the target file."}))
    return 0


def restore(cfg: config.Config, store: Store) -> int:
    """The target file from every pool's snapshot (at boot, before the first cycle)."""
    pools = cfg.each_pool()
    union: list[Json] = []
    errors = 0
    for p in pools:
        try:
            stored = store.get(keys.discovery(p.pool_id))
        except StoreError as exc:
            log.error("cannot read the discovery snapshot: %s", exc)
            errors += 1
            continue
        targets = snapshot_targets(stored.body if stored else None)
        if targets is None:
            if stored is not None:
                log.error("discovery snapshot %s is not usable: %s", stored.key, stored.error)
            log.info("no discovery snapshot yet%s", f" for pool {p.pool_name}" if len(pools) > 1 else "")
            continue
        union += groups(targets, port=cfg.target_port, pool_id=p.pool_id, zone=cfg.zone,
                        pool_name=p.pool_name)
    if errors == len(pools):
        return 1
    if not union:
        if not os.path.exists(cfg.sd_output):
            write_if_changed(cfg.sd_output, "[]\n")  # Prometheus wants a valid file to watch
        return 1 if errors else 0
    write_if_changed(cfg.sd_output, render(union))
    log.info("restored %d target(s) from the snapshot", len(union))
    return 1 if errors else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m functions.sd", description=__doc__)
    parser.add_argument("--restore", action="store_true",
                        help="write the target file from the SOS snapshot (at boot)")
    args = parser.parse_args(argv)
    cfg = config.from_environ_or_exit()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s sd %(levelname)s %(message)s")
    store = Store.from_config(cfg)
    if args.restore:
        return restore(cfg, store)
    return cycle(cfg, PoolApi.from_config(cfg), store, time.time())


if __name__ == "__main__":
    sys.exit(main())
