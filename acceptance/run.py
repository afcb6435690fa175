"""The acceptance run: refuse a second deployment of the same name, apply, check what a grader checks,
then always destroy (also after a failed check, a failed apply, Ctrl-C or SIGTERM) and list what is
left. Prints a table of the checks with their times and the cost of the run.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from functions.common.prices import Prices

from . import checks
from .checks import CheckFailed, GetText, Waiting
from .leftovers import Found, list_deployment
from .load import GRADER_CLIENTS, Get, LoadDriver
from .report import CheckRow, Usage, cost, cost_line, table
from .terraform import Terraform, TerraformError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


@dataclass(frozen=True)
class RunSettings:
    name: str = "acceptance"          # terraform's name_prefix: objects are named <name>-<8 hex>-…
    zone: str = "at-vie-1"
    clients: int = GRADER_CLIENTS     # concurrent closed-loop /load clients
    min_size: int = 1                 # terraform/variables.tf pool_min_size
    pool_type: str = "standard.tiny"  # terraform/variables.tf defaults (the run sets no others)
    monitoring_type: str = "standard.small"
    disk_gib: float = 10
    health_timeout_s: float = 900     # first boot of a member + NLB health checks
    service_timeout_s: float = 900    # first boot of the monitoring VM
    targets_timeout_s: float = 300
    scale_up_timeout_s: float = 300   # what the course's checker allows
    scale_down_timeout_s: float = 1500
    leftovers_timeout_s: float = 300


@dataclass
class Deps:
    terraform: Terraform
    client: Any                       # exoscale.api.v2.Client (or one pointed at the emulator)
    buckets: Callable[[], list[str]]
    get: GetText
    load_get: Get
    waiting: Waiting
    prices: Prices
    out: TextIO


class _Failed(Exception):
    pass


def run(settings: RunSettings, deps: Deps) -> int:
    clock = deps.waiting.clock
    try:
        existing = list_deployment(deps.client, deps.buckets, settings.name)
    except Exception as exc:  # the first API call: wrong key, zone or network, said in one line
        print(f"acceptance: cannot list the account ({type(exc).__name__}: {exc})", file=deps.out)
        return EXIT_FAILED
    if existing:
        names = ", ".join(str(f) for f in existing[:5]) + (" …" if len(existing) > 5 else "")
        print(f"acceptance: refusing to start: a deployment named {settings.name!r} already exists in "
              f"{settings.zone} ({len(existing)} objects: {names}); destroy it or choose another --name",
              file=deps.out)
        return EXIT_FAILED

    rows: list[CheckRow] = []
    usage = Usage(clock())
    applied = interrupted = False
    load: LoadDriver | None = None

    def step(name: str, action: Callable[[], str]) -> None:
        started = clock()
        try:
            detail = action()
        except KeyboardInterrupt:
            rows.append(CheckRow(name, False, clock() - started, "interrupted"))
            raise
        except (CheckFailed, TerraformError) as exc:
            rows.append(CheckRow(name, False, clock() - started, str(exc)))
            raise _Failed from None
        except Exception as exc:  # an API or HTTP error: recorded in one line, never a traceback
            rows.append(CheckRow(name, False, clock() - started, f"{type(exc).__name__}: {exc}"))
            raise _Failed from None
        rows.append(CheckRow(name, True, clock() - started, detail))

    try:
        applied = True   # before apply: a half-done apply leaves objects too
        step("terraform apply", lambda: _apply(deps.terraform))
        outputs = deps.terraform.outputs()
        pool_id, nlb = str(outputs["instance_pool_id"]), str(outputs["nlb_address"])
        prometheus, grafana = str(outputs["prometheus_url"]), str(outputs["grafana_url"])
        w = deps.waiting
        step("one NLB, one pool, one other VM",
             lambda: checks.check_shape(deps.client, deps.buckets, settings.name))
        step("/health through the NLB answers OK",
             lambda: checks.check_answers(deps.get, f"http://{nlb}/health", w, settings.health_timeout_s, "OK"))
        step("Prometheus answers on 9090",
             lambda: checks.check_answers(deps.get, f"{prometheus}/-/ready", w, settings.service_timeout_s))
        step("Grafana answers on 3000",
             lambda: checks.check_answers(deps.get, f"{grafana}/api/health", w, settings.service_timeout_s))
        step("every pool member is a Prometheus target",
             lambda: checks.check_members_are_targets(deps.client, deps.get, pool_id, prometheus, w,
                                                      settings.targets_timeout_s))
        duration = settings.scale_up_timeout_s + 60
        load = LoadDriver(f"http://{nlb}/load", clients=settings.clients, duration_s=duration,
                          max_requests=settings.clients * int(duration), get=deps.load_get, clock=clock)
        step(f"pool reaches 2 within {settings.scale_up_timeout_s:.0f} s of steady /load",
             lambda: checks.check_scale_up_under_load(deps.client, pool_id, load, w, settings.scale_up_timeout_s,
                                                      usage.sample))
        step(f"load stopped: pool back to {settings.min_size}",
             lambda: checks.check_scale_down_after_load(deps.client, pool_id, load, settings.min_size, w,
                                                        settings.scale_down_timeout_s, usage.sample))
    except KeyboardInterrupt:
        interrupted = True
    except _Failed:
        pass
    finally:
        if load is not None:
            load.stop()
        if applied:
            _teardown(settings, deps, rows)
    seconds = usage.close(clock())
    print(table(rows), file=deps.out)
    amount = cost(deps.prices, usage, seconds, pool_type=settings.pool_type,
                  monitoring_type=settings.monitoring_type, disk_gib=settings.disk_gib)
    print(cost_line(deps.prices, amount, seconds), file=deps.out)
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if rows and all(r.ok for r in rows) else EXIT_FAILED


def _apply(terraform: Terraform) -> str:
    terraform.apply()
    return "applied"


def _teardown(settings: RunSettings, deps: Deps, rows: list[CheckRow]) -> None:
    """Destroy (a second attempt if the first fails: a group may outlive its VMs for a moment), then
    list the account until nothing of the deployment is left. Ctrl-C here is not honoured: the
    terraform child has its own process group and runs to its end."""
    clock = deps.waiting.clock
    started = clock()
    errors: list[str] = []
    for _attempt in range(2):
        try:
            deps.terraform.destroy()
            errors.clear()
            break
        except TerraformError as exc:
            errors.append(str(exc))
    rows.append(CheckRow("terraform destroy", not errors, clock() - started, "; ".join(errors) or "destroyed"))
    started = clock()
    left: list[Found] = []

    def nothing_left() -> bool:
        left[:] = list_deployment(deps.client, deps.buckets, settings.name)
        return not left

    try:
        deps.waiting.until("leftovers", nothing_left, settings.leftovers_timeout_s)
        rows.append(CheckRow("nothing of the deployment left", True, clock() - started,
                        "instances, pools, NLBs, security groups, IAM keys and roles, SSH keys, buckets"))
    except Exception as exc:
        listed = ", ".join(str(f) for f in left) or f"{type(exc).__name__}: {exc}"
        rows.append(CheckRow("nothing of the deployment left", False, clock() - started, f"left: {listed}"))
