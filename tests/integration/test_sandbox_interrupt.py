"""Ctrl-C (SIGINT) in the middle of a sandbox run stops every part and leaves nothing behind."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_sigint_tears_everything_down(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "sandbox", "--scenario", "smoke", "--out",
                             str(tmp_path / "out")], cwd=ROOT, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    assert proc.stdout is not None
    seen = ""
    # Hang guards only, not speed bounds: a timer may wait up to 70 s for a tick child to end
    # (sandbox/handlers.py), and this machine may be loaded.
    deadline = time.monotonic() + 300
    while "load=" not in seen and time.monotonic() < deadline:  # the load has started
        seen += proc.stdout.readline()
    assert "load=" in seen, seen
    workdir = re.search(r"work files in (\S+)\)", seen).group(1)
    ports = [int(p) for p in re.findall(r"127\.0\.0\.1:(\d+)", seen)]
    assert len(ports) >= 5 and Path(workdir).is_dir()
    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=300)
    finally:  # a run that ignored the signal must not outlive the test and hold the sandbox's ports
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, seen + out
    assert "interrupted; stopping every part" in out
    assert not Path(workdir).exists()
    assert [p for p in ports if listening(p)] == []
    leftovers = subprocess.run(["pgrep", "-f", workdir], capture_output=True, text=True)
    assert leftovers.stdout == ""
