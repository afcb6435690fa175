"""`python -m sandbox` without Prometheus/Alertmanager stops at once with the command to run."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_missing_binaries_name_the_setup_command(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path), "PYTHONPATH": str(ROOT)}  # nothing on PATH
    proc = subprocess.run([sys.executable, "-m", "sandbox", "--scenario", "smoke", "--out",
                           str(tmp_path / "out")], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert "prometheus" in proc.stderr and "./dev sandbox" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_an_unknown_app_is_refused_with_the_choices(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "sandbox", "--app", "nginx", "--out", str(tmp_path / "out")],
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2
    assert "--app: invalid choice: 'nginx'" in proc.stderr and "http-load-generator" in proc.stderr
    assert not (tmp_path / "out").exists()
