"""`python -m benchmarks.backlog`: one whole tick (`functions.scaler.tick.run.main`, lease to release)
with 0, 200 and 2000 pending scale-up requests in the bucket, against moto's S3 in its own
process (so it does not share this interpreter's GIL; served by cheroot with keep-alive, see
benchmarks/s3server.py, or with `--server werkzeug` by moto's own server) and the API emulator.

Per case: the tick's wall time, the CPU time of this process (the tick, plus the emulator's
light threads) and of the S3 server, its S3 requests by operation (counted on the wire:
botocore's `before-send` event, retries included), its scaling calls (the emulator's operation
log), and whether every request ended in exactly one history record with none left pending.
The baseline in the same run is the empty bucket (0 pending): the tick's fixed cost.
"""
from __future__ import annotations

import argparse
import collections
import concurrent.futures as futures
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3

from functions.bucket.request import ScaleRequest
from functions.common import config, keys
from functions.common.store import Store
from functions.inspect.tables import table
from functions.scaler.tick import run as tick

from . import rig

CASES = (0, 200, 2000)
WALL_AIM_S = 5.0


def cpu_s(pid: int | None = None) -> float:
    """User + system CPU seconds of this process, or of process `pid` (from /proc)."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


SERVERS = {
    # moto's application behind cheroot: keep-alive connections, as SOS offers them
    "cheroot": lambda port: [sys.executable, "-m", "benchmarks.s3server", str(port)],
    # moto's own werkzeug server: a new TCP connection for every S3 request
    "werkzeug": lambda port: [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
}


@contextmanager
def moto_process(server: str = "cheroot") -> Iterator[tuple[str, int]]:
    port = rig.free_port()
    proc = subprocess.Popen(SERVERS[server](port), cwd=rig.ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name=rig.ZONE,
                          aws_access_key_id=rig.KEY, aws_secret_access_key=rig.SECRET)
        deadline = time.monotonic() + 30
        while True:
            try:
                s3.list_buckets()
                break
            except Exception:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        yield endpoint, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def fill(store: Store, pool_id: str, count: int, now: float) -> set[str]:
    """`count` up requests received within the last minute, stored as the receiver stores them."""
    def put(i: int) -> str:
        req = ScaleRequest("up", "alertmanager", now - 60 + 50 * i / max(count, 1), "PoolCpuHigh",
                           f"loop{i:05d}", None)
        key = keys.request(pool_id, req.received_ms, req.unique())
        store.put(key, req.to_json(), if_none_match=True)
        return key

    with futures.ThreadPoolExecutor(8) as pool:
        return set(pool.map(put, range(count)))


class Counter:
    """S3 requests on the wire, by operation, for every boto3 client created after install()."""

    def __init__(self) -> None:
        self.calls: collections.Counter[str] = collections.Counter()
        self.on = False

    def install(self) -> None:
        boto3.setup_default_session()
        events = boto3.DEFAULT_SESSION._session.get_component("event_emitter")  # the clients copy it
        events.register("before-send.s3", self)

    def __call__(self, event_name: str, **_: Any) -> None:
        if self.on:
            self.calls[event_name.rsplit(".", 1)[-1]] += 1


def one_case(endpoint: str, moto_pid: int, emu: Any, count: int, counter: Counter) -> list[object]:
    bucket = f"backlog-{count}-{time.time_ns() % 10**9}"
    boto3.client("s3", endpoint_url=endpoint, region_name=rig.ZONE, aws_access_key_id=rig.KEY,
                 aws_secret_access_key=rig.SECRET).create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": rig.ZONE})
    pool_id = emu.create_pool(2)
    env = {"EXOSCALE_KEY": rig.KEY, "EXOSCALE_SECRET": rig.SECRET, "EXOSCALE_ZONE": rig.ZONE,
           "EXOSCALE_API_URL": emu.url, "INSTANCEPOOL_ID": pool_id, "SOS_BUCKET": bucket,
           "SOS_ENDPOINT": endpoint, "TEXTFILE_DIR": ""}
    store = Store.from_config(config.load(env))
    stored = fill(store, pool_id, count, time.time())
    os.environ.update(env)
    emu.reset_logs()
    counter.calls.clear()
    counter.on = True
    cpu0, server0 = cpu_s(), cpu_s(moto_pid)
    started = time.perf_counter()
    code = tick.main([])
    wall = time.perf_counter() - started
    cpu, server = cpu_s() - cpu0, cpu_s(moto_pid) - server0
    counter.on = False
    scalings = [op for op in emu.operations()
                if op.operation in ("scale-instance-pool", "evict-instance-pool-members")]
    pending = list(store.list_keys(keys.requests_prefix(pool_id)))
    seen: collections.Counter[str] = collections.Counter()
    for item in store.read_all(keys.history_prefix(pool_id)):
        for entry in (item.body or {}).get("requests", []):
            seen[entry.get("key")] += 1
    once = all(seen[k] == 1 for k in stored)
    calls = sum(counter.calls.values())
    detail = ", ".join(f"{op} {n}" for op, n in sorted(counter.calls.items()))
    return [count, code, f"{wall:.2f}", f"{cpu:.2f}", f"{server:.2f}", calls, detail,
            len(scalings), len(pending),
            "yes" if once else "NO",
            "—" if not count else ("met" if wall < WALL_AIM_S and len(scalings) == 1 and once
                                   and not pending else "MISSED")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.backlog", description=__doc__)
    parser.add_argument("--cases", default=",".join(map(str, CASES)),
                        help="pending requests per case, comma separated (default 0,200,2000)")
    parser.add_argument("--server", choices=sorted(SERVERS), default="cheroot",
                        help="what serves moto's S3: cheroot (keep-alive, default) or werkzeug "
                             "(moto's own server: one TCP connection per request)")
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.cases.split(",")]
    started = time.monotonic()
    counter = Counter()
    counter.install()
    rows = []
    with moto_process(args.server) as (endpoint, moto_pid):
        emu = rig.emulator()
        try:
            rows = [one_case(endpoint, moto_pid, emu, n, counter) for n in counts]
        finally:
            emu.stop()
    print("# One tick (lease to release) against a backlog of pending scale-up requests")
    print(f"moto's S3 served by {args.server} in its own process, the API emulator, loopback; "
          f"aim: {max(counts)} pending "
          f"in < {WALL_AIM_S:.0f} s, one scaling call, every request in exactly one history record")
    print(table(["pending", "exit", "wall s", "tick CPU s", "S3 server CPU s", "S3 requests",
                 "by operation", "scaling calls", "left pending", "each in 1 record", "aim"], rows))
    print(f"(ran in {time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
