"""`python -m functions.sd`: one discovery cycle (or `--restore` from the SOS snapshot).

A cycle that rewrites the target file (the pool's running members changed) also touches
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

from .targets import file_sd, members_to_targets, next_snapshot, snapshot_targets

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


def cycle(cfg: config.Config, api: PoolApi, store: Store, now: float) -> int:
    try:
        instances = api.members()
    except API_ERRORS as exc:  # timeouts and dropped connections too, not only error answers
        log.error("list_instances failed, keeping the last good target file: %s", exc)
        return 1
    targets, skipped = members_to_targets(instances)
    for instance_id in skipped:
        log.warning("member %s is running without a public IP; skipped", instance_id)
    text = file_sd(targets, port=cfg.target_port, pool_id=cfg.pool_id, zone=cfg.zone)
    if write_if_changed(cfg.sd_output, text):
        log.info("targets changed: %d member(s) written to %s", len(targets), cfg.sd_output)
        if cfg.kick_file:
            # A member became running (or left): the pool may be `running` again, so pending
            # requests can be decided now. No rate limit: this runs at most once per 15 s cycle.
            # A tick kicked while the pool still boots just waits, as on the timer.
            kick.touch(cfg.kick_file)
    try:
        previous = store.get(keys.discovery(cfg.pool_id))
        snapshot = next_snapshot(previous.body if previous else None, targets, now, cfg.pool_id)
        if snapshot is not None:
            store.put(keys.discovery(cfg.pool_id), snapshot)
    except StoreError as exc:
        log.error("could not update the discovery snapshot: %s", exc)
        return 1
    textfile.write(cfg.textfile_dir, "autoscaler_sd", textfile.render({
        "autoscaler_sd_last_success_timestamp_seconds": now,
        "autoscaler_sd_targets": len(targets)}, {
        "autoscaler_sd_last_success_timestamp_seconds": "Unix time of the last good discovery.",
        "autoscaler_sd_targets": "Members in the target file."}))
    return 0


def restore(cfg: config.Config, store: Store) -> int:
    try:
        stored = store.get(keys.discovery(cfg.pool_id))
    except StoreError as exc:
        log.error("cannot read the discovery snapshot: %s", exc)
        return 1
    targets = snapshot_targets(stored.body if stored else None)
    if targets is None:
        if stored is not None:
            log.error("discovery snapshot %s is not usable: %s", stored.key, stored.error)
        log.info("no discovery snapshot yet")
        if not os.path.exists(cfg.sd_output):
            write_if_changed(cfg.sd_output, "[]\n")  # Prometheus wants a valid file to watch
        return 0
    write_if_changed(cfg.sd_output, file_sd(targets, port=cfg.target_port, pool_id=cfg.pool_id,
                                            zone=cfg.zone))
    log.info("restored %d target(s) from the snapshot", len(targets))
    return 0


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
