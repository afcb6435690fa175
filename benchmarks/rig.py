"""Loopback rig shared by the process benchmarks: moto server as SOS, the Exoscale API
emulator, a fresh bucket, a handler environment, and one child process measured with wait4."""
from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from sandbox.emulator.server import EmulatorServer

ROOT = Path(__file__).resolve().parent.parent
ZONE = "at-vie-1"
KEY = "EXObenchkey0123456789abcd"
SECRET = "bench-secret-not-real"
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Moto:
    """moto's S3 server on 127.0.0.1 for the whole benchmark run."""

    def __init__(self) -> None:
        self.port = free_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Moto:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access line per S3 call otherwise
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    def bucket(self) -> str:
        name = f"bench-{uuid.uuid4().hex[:12]}"
        s3 = boto3.client("s3", endpoint_url=self.endpoint, region_name=ZONE,
                          aws_access_key_id=KEY, aws_secret_access_key=SECRET)
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": ZONE})
        return name


def emulator(**kwargs: Any) -> EmulatorServer:
    kwargs.setdefault("boot_delay_s", 0.2)
    kwargs.setdefault("op_delay_s", 0.05)
    kwargs.setdefault("destroy_delay_s", 0.05)
    return EmulatorServer(KEY, SECRET, **kwargs).start()


def handler_env(moto: Moto, bucket: str, emu: EmulatorServer, pool_id: str, workdir: str,
                **extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        # Never let boto3 read a developer's real credentials or config.
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "EXOSCALE_KEY": KEY, "EXOSCALE_SECRET": SECRET, "EXOSCALE_ZONE": ZONE,
        "EXOSCALE_API_URL": emu.url, "INSTANCEPOOL_ID": pool_id,
        "SOS_BUCKET": bucket, "SOS_ENDPOINT": moto.endpoint,
        "SD_OUTPUT": os.path.join(workdir, "pool.json"), "TEXTFILE_DIR": "",
        "SCALER_LEASE_S": "30",
    }
    env.update(extra)
    return env


@dataclass(frozen=True)
class ProcessRun:
    wall_s: float
    max_rss_mib: float
    returncode: int
    stderr: str


TIME = "/usr/bin/time"  # GNU time: reports its child's peak RSS (%M, KiB)


def measure(argv: list[str], env: dict[str, str] | None = None, timeout_s: float = 60.0) -> ProcessRun:
    """Start → exit wall time and the child's own peak RSS, through GNU time.

    Not wait4 on a child of this process: Linux folds the pre-exec memory of a forked (or
    vforked) child, i.e. this benchmark with moto loaded (~60 MiB), into ru_maxrss. GNU time
    is a small C program, so its child's figure is the handler's own.
    """
    if not os.path.exists(TIME):
        raise SystemExit(f"{TIME} (GNU time) is needed for peak RSS: apt-get install time")
    with tempfile.TemporaryDirectory(prefix="bench-time-") as tmp:
        out = os.path.join(tmp, "rss")
        started = time.perf_counter()
        proc = subprocess.run([TIME, "-f", "%M", "-o", out, *argv], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout_s)
        wall = time.perf_counter() - started
        with open(out) as handle:
            rss_kib = int(handle.read().strip().splitlines()[-1])
        return ProcessRun(wall, rss_kib / 1024, proc.returncode, proc.stderr.decode(errors="replace"))


def python(*args: str) -> list[str]:
    return [PYTHON, *args]
