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


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sandbox", *args, "--out", str(tmp_path / "out")], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60)


def test_the_soak_is_listed_and_its_options_belong_to_it(tmp_path: Path) -> None:
    assert "soak" in run_cli(tmp_path, "--help").stdout
    for args, says in ((("--scenario", "smoke", "--duration", "3"), "belong to --scenario soak"),
                       (("--seed", "4"), "belong to --scenario soak"),
                       (("--scenario", "soak", "--duration", "0.5"), "at least 1 minute"),
                       (("--scenario", "soak", "--policy", "baseline"), "has neither"),
                       (("--scenario", "soak", "--compare", "step,baseline"), "has neither")):
        proc = run_cli(tmp_path, *args)
        assert proc.returncode == 2 and says in proc.stderr, (args, proc.stderr)
    assert not (tmp_path / "out").exists()


def test_two_pools_is_listed_and_runs_only_the_real_handlers(tmp_path: Path) -> None:
    assert "two-pools" in run_cli(tmp_path, "--help").stdout
    for args in (("--scenario", "two-pools", "--policy", "baseline"),
                 ("--scenario", "two-pools", "--compare", "proportional,baseline")):
        proc = run_cli(tmp_path, *args)
        assert proc.returncode == 2 and "the baseline scales one pool" in proc.stderr, (args, proc.stderr)
    assert not (tmp_path / "out").exists()
