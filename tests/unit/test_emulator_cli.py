"""`python -m sandbox.emulator` starts, prints one JSON line, answers signed calls, stops on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from exoscale.api.v2 import Client

from .emulator_kit import KEY, SECRET

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_serves_a_pool_until_signalled(sig: signal.Signals) -> None:
    env = {**os.environ, "EXOSCALE_SECRET": SECRET}  # the secret through the environment
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox.emulator", "--port", "0", "--key", KEY, "--pool-size", "2",
         "--boot-delay", "0.2", "--op-delay", "0.1", "--seed", "5"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert info["url"].startswith("http://127.0.0.1:") and info["url"].endswith("/v2")
        client = Client(KEY, SECRET, url=info["url"])
        pool = client.get_instance_pool(id=info["pool_id"])
        assert (pool["size"], pool["state"]) == (2, "running")
        client.scale_instance_pool(id=info["pool_id"], size=3)
        ops = requests.get(f"{info['admin_url']}/operations", timeout=5).json()["operations"]
        assert [(o["size_before"], o["size_after"]) for o in ops] == [(2, 3)]
        proc.send_signal(sig)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_requires_credentials() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("EXOSCALE_KEY", "EXOSCALE_SECRET")}
    done = subprocess.run([sys.executable, "-m", "sandbox.emulator", "--pool-size", "1"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=20)
    assert done.returncode == 2 and "required" in done.stderr


def test_cli_refuses_non_loopback_host() -> None:
    done = subprocess.run([sys.executable, "-m", "sandbox.emulator", "--host", "0.0.0.0", "--key", "k",
                           "--secret", "s"], cwd=ROOT, capture_output=True, text=True, timeout=20)
    assert done.returncode == 2 and "loopback" in done.stderr
