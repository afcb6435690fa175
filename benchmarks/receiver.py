"""Receiver throughput: durable webhooks/s and latency of the real process, against a baseline.

Starts moto server and `python -m functions.scaler.receiver` on loopback, sends N Alertmanager
webhooks from C concurrent keep-alive clients (bounded by count and time), counts the 202s,
checks that exactly that many request objects exist in the bucket, and prints accepted
webhooks/s with p50/p99 latency. The same run repeats with bottle's single-threaded wsgiref
server as the baseline, alternating rounds so machine noise hits both alike.

    .venv/bin/python -m benchmarks.receiver [-n 2000] [-c 16] [--rounds 2] [--time-limit 60]
"""
from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3

from sandbox import procs

ROOT = Path(__file__).resolve().parents[1]
BODY = (ROOT / "tests" / "fixtures" / "alertmanager_firing_up.json").read_bytes()
ZONE = "at-vie-1"
KEY, SECRET = "EXObenchkey0123456789abcd", "bench-secret-not-real"
TOKEN = "bench-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"process exited early with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on port {port}")


@dataclass
class ServerResult:
    server: str
    sent: int
    accepted: int
    errors: int
    durable: int
    wall_s: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.accepted / self.wall_s if self.wall_s else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def client(port: int, jobs: Iterator[int], lock: threading.Lock, deadline: float,
           latencies: list[float], outcome: dict[str, int]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
    while time.monotonic() < deadline:
        with lock:
            if next(jobs, None) is None:
                break
        started = time.perf_counter()
        try:
            conn.request("POST", "/webhook", body=BODY, headers=headers)
            resp = conn.getresponse()
            resp.read()
            status = resp.status
        except (OSError, http.client.HTTPException):
            conn.close()
            status = 0
        took = (time.perf_counter() - started) * 1000
        with lock:
            if status == 202:
                outcome["accepted"] += 1
                latencies.append(took)
            else:
                outcome["errors"] += 1
    conn.close()


def run_one(server: str, moto: str, n: int, c: int, time_limit: float) -> ServerResult:
    bucket = f"bench-{uuid.uuid4().hex[:12]}"
    pool = str(uuid.uuid4())
    s3 = boto3.client("s3", endpoint_url=moto, region_name=ZONE, aws_access_key_id=KEY,
                      aws_secret_access_key=SECRET)
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": ZONE})
    port = free_port()
    env = {"PATH": os.environ.get("PATH", ""), "EXOSCALE_KEY": KEY, "EXOSCALE_SECRET": SECRET,
           "EXOSCALE_ZONE": ZONE, "INSTANCEPOOL_ID": pool, "SOS_BUCKET": bucket,
           "SOS_ENDPOINT": moto, "LISTEN_PORT": str(port), "SCALER_TOKEN": TOKEN,
           "TEXTFILE_DIR": "", "AWS_CONFIG_FILE": os.devnull,
           "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    proc = subprocess.Popen([sys.executable, "-m", "functions.scaler.receiver", "--server", server],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc)
        jobs = iter(range(n))
        lock = threading.Lock()
        latencies: list[float] = []
        outcome = {"accepted": 0, "errors": 0}
        started = time.monotonic()
        threads = [threading.Thread(target=client, args=(port, jobs, lock, started + time_limit,
                                                         latencies, outcome))
                   for _ in range(c)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.monotonic() - started
    finally:
        procs.stop(proc)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"requests/{pool}/")
    durable = sum(len(page.get("Contents", [])) for page in pages)
    return ServerResult(server, outcome["accepted"] + outcome["errors"], outcome["accepted"],
                  outcome["errors"], durable, wall, latencies)


def show(result: ServerResult) -> None:
    print(f"{result.server:8} sent={result.sent:5d} accepted={result.accepted:5d} "
          f"errors={result.errors:4d} durable={result.durable:5d} wall={result.wall_s:6.2f}s "
          f"rate={result.rate:7.1f}/s p50={result.pct(0.50):7.1f}ms p99={result.pct(0.99):7.1f}ms",
          flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.receiver", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=2000, help="webhooks per round and server")
    parser.add_argument("-c", type=int, default=16, help="concurrent clients")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per round")
    args = parser.parse_args(argv)

    moto_port = free_port()
    moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                             str(moto_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results: list[ServerResult] = []
    try:
        wait_port(moto_port, moto)
        endpoint = f"http://127.0.0.1:{moto_port}"
        print(f"receiver benchmark: n={args.n} c={args.c} rounds={args.rounds} "
              f"cpus={os.cpu_count()} (moto server, receiver and clients share them)", flush=True)
        for _ in range(args.rounds):
            for server in ("cheroot", "wsgiref"):
                result = run_one(server, endpoint, args.n, args.c, args.time_limit)
                show(result)
                results.append(result)
    finally:
        procs.stop(moto)

    print("summary (median over rounds):")
    medians: dict[str, float] = {}
    for server in ("cheroot", "wsgiref"):
        mine = [r for r in results if r.server == server]
        medians[server] = statistics.median(r.rate for r in mine)
        lost = sum(r.accepted - r.durable for r in mine)
        p99 = statistics.median(r.pct(0.99) for r in mine)
        print(f"  {server:8} {medians[server]:7.1f} durable webhooks/s  p99 {p99:7.1f} ms  "
              f"accepted-but-missing {lost}")
    if medians["wsgiref"]:
        print(f"  cheroot / wsgiref = {medians['cheroot'] / medians['wsgiref']:.2f}x")
    bad = any(r.accepted != r.durable for r in results)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
