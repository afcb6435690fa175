"""The acceptance run end to end against stand-ins: the API emulator and moto as the account, a fake
terraform, fake HTTP answers, and a fake scaler moving the pool when load arrives and stops. Time is the
emulator's fake clock, advanced by the run's own sleeps: nothing here waits on wall-clock time."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from exoscale.api.v2 import Client

from acceptance import run as acceptance_run
from acceptance.checks import Waiting, member_ips
from acceptance.leftovers import list_deployment, s3_buckets
from acceptance.terraform import TerraformError
from functions.common import prices
from sandbox.emulator import EmulatorServer
from tests.acceptance.kit import Deployment, FakeTerraform, s3_client, targets_json
from tests.conftest import KEY, SECRET
from tests.unit.emulator_kit import FakeClock

NAME = "acc"
DEPLOYMENT = "acc-5e7a1c9b"
REPO = Path(__file__).resolve().parents[2]


class World:
    """The stand-in account and everything the run talks to."""

    def __init__(self, emu: EmulatorServer, s3: Any, clock: FakeClock) -> None:
        self.emu, self.clock = emu, clock
        self.client = Client(KEY, SECRET, url=emu.url)
        self.deployment = Deployment(emu, s3, DEPLOYMENT)
        self.terraform = FakeTerraform(self.deployment, self.outputs)
        self.buckets = s3_buckets(s3)
        self.health = (200, "OK")
        self.interrupt_on: str | None = None
        self.load_calls = 0
        self.scaled_up = self.scaled_down = False
        self._quiet_sleeps = 0
        self._last_load_calls = 0
        self.out = io.StringIO()

    def outputs(self) -> dict[str, Any]:
        return {"instance_pool_id": self.deployment.pool_id, "nlb_address": "127.0.3.1",
                "prometheus_url": "http://127.0.3.2:9090", "grafana_url": "http://127.0.3.2:3000"}

    def get(self, url: str, timeout: float) -> tuple[int, str]:
        if self.interrupt_on and url.endswith(self.interrupt_on):
            raise KeyboardInterrupt
        if url.endswith("/health"):
            return self.health
        if url.endswith("/api/v1/targets"):
            return 200, targets_json(member_ips(self.client, self.deployment.pool_id))
        return 200, "ready"

    def load_get(self, url: str, timeout: float) -> int:
        assert url == "http://127.0.3.1/load" and timeout > 10
        self.load_calls += 1
        return 200

    def sleep(self, seconds: float) -> None:
        """The run's sleeps move the fake clock; the fake scaler reacts to the load it saw."""
        self.clock.advance(seconds)
        pool = self.deployment.pool_id
        if self.load_calls and not self.scaled_up:
            self.emu.model.scale(pool, 2)
            self.scaled_up = True
        elif self.scaled_up and not self.scaled_down:
            self._quiet_sleeps = self._quiet_sleeps + 1 if self.load_calls == self._last_load_calls else 0
            if self._quiet_sleeps >= 2:      # no /load for two polls: the load has stopped
                self.emu.model.scale(pool, 1)
                self.scaled_down = True
        self._last_load_calls = self.load_calls

    def deps(self) -> acceptance_run.Deps:
        return acceptance_run.Deps(terraform=self.terraform, client=self.client, buckets=self.buckets, get=self.get,
                                   load_get=self.load_get, waiting=Waiting(clock=self.clock, sleep=self.sleep),
                                   prices=prices.load(), out=self.out)

    def run(self) -> int:
        return acceptance_run.run(acceptance_run.RunSettings(name=NAME), self.deps())

    def left(self) -> list[str]:
        return [str(f) for f in list_deployment(self.client, self.buckets, NAME)]


@pytest.fixture()
def world(moto_endpoint: str) -> Iterator[World]:
    clock = FakeClock()
    with EmulatorServer(KEY, SECRET, clock=clock, boot_delay_s=30) as emu:
        w = World(emu, s3_client(moto_endpoint), clock)
        yield w
        if w.terraform.created:
            w.deployment.destroy()


def rows(out: str) -> dict[str, str]:
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("CHECK"))
    result: dict[str, str] = {}
    for line in lines[header + 1:]:
        if line.startswith("cost of this run"):
            break
        for status in ("ok", "FAILED", "skipped"):
            if f"  {status} " in line:
                result[line.split(f"  {status} ")[0].strip()] = status
    return result


def test_a_passing_run_checks_everything_destroys_and_prices_the_run(world: World) -> None:
    assert world.run() == 0, world.out.getvalue()
    out = world.out.getvalue()
    assert world.terraform.calls == ["apply", "outputs", "destroy"]
    assert rows(out) == {
        "terraform apply": "ok", "one NLB, one pool, one other VM": "ok", "/health through the NLB answers OK": "ok",
        "Prometheus answers on 9090": "ok", "Grafana answers on 3000": "ok",
        "every pool member is a Prometheus target": "ok", "pool reaches 2 within 300 s of steady /load": "ok",
        "load stopped: pool back to 1": "ok", "terraform destroy": "ok", "nothing of the deployment left": "ok"}
    assert world.scaled_up and world.scaled_down and world.load_calls > 0
    cost = next(line for line in out.splitlines() if line.startswith("cost of this run"))
    assert "EUR" in cost and "2026-11-28" in cost and "NOT re-checked" in cost
    assert world.left() == []


def test_refuses_to_start_where_a_deployment_of_the_same_name_exists(world: World) -> None:
    world.deployment.create()
    world.terraform.created = True
    assert world.run() == 1
    assert world.terraform.calls == []
    (line,) = world.out.getvalue().splitlines()
    assert line.startswith("acceptance: refusing to start: a deployment named 'acc' already exists in at-vie-1 (10 ")


def test_a_failed_check_still_destroys_and_skips_what_follows(world: World) -> None:
    world.health = (503, "")
    assert world.run() == 1
    assert world.terraform.calls == ["apply", "outputs", "destroy"]
    table = rows(world.out.getvalue())
    assert table["/health through the NLB answers OK"] == "FAILED"
    assert "Grafana answers on 3000" not in table and table["nothing of the deployment left"] == "ok"
    assert "HTTP 503" in world.out.getvalue()
    assert world.left() == []


def test_an_interrupt_during_the_checks_destroys_what_was_created(world: World) -> None:
    world.interrupt_on = "/api/health"
    assert world.run() == acceptance_run.EXIT_INTERRUPTED
    assert world.terraform.calls[-1] == "destroy" and world.left() == []
    assert "interrupted" in world.out.getvalue()


def test_a_failed_apply_destroys_what_it_half_created(world: World) -> None:
    world.terraform.apply_error = TerraformError("terraform apply failed with exit code 1")
    assert world.run() == 1
    assert world.terraform.calls == ["apply", "destroy"]
    assert world.left() == []


def test_a_destroy_that_fails_once_is_tried_again(world: World) -> None:
    world.terraform.destroy_failures = 1
    assert world.run() == 0
    assert world.terraform.calls.count("destroy") == 2 and world.left() == []


def test_a_destroy_that_keeps_failing_lists_the_leftovers_and_fails_the_run(world: World) -> None:
    world.terraform.destroy_failures = 2
    assert world.run() == 1
    out = world.out.getvalue()
    assert rows(out)["terraform destroy"] == "FAILED" and rows(out)["nothing of the deployment left"] == "FAILED"
    left = out.split("left: ", 1)[1].split("\n", 1)[0].split(", ")
    assert f"api-keys {DEPLOYMENT}-scaler" in left and f"buckets {DEPLOYMENT}-state" in left
    assert f"load-balancers {DEPLOYMENT}-nlb" in left and len(left) == 10


def test_without_credentials_one_line_and_no_traceback() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXOSCALE_")}
    proc = subprocess.run([sys.executable, "-m", "acceptance"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "acceptance: needs EXOSCALE_KEY and EXOSCALE_SECRET of a real Exoscale account in the environment "
        "(and EXOSCALE_ZONE or --zone; default at-vie-1)"]


def test_dev_runs_acceptance_but_never_as_part_of_the_tests() -> None:
    dev = (REPO / "dev").read_text()
    assert "acceptance) setup; exec \"$VENV/bin/python\" -m acceptance" in dev
    test_task = dev[dev.index("  test)"):dev.index(";;", dev.index("  test)"))]
    assert "acceptance" not in test_task
