"""What a grader checks on a deployment, each against injected API client, HTTP getter and clock.

Every check returns a one-line detail or raises CheckFailed with one. Waiting checks use
`wait.wait_for_size`, so tests drive their time.
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .leftovers import Found, list_deployment
from .load import LoadDriver
from .wait import Clock, Sleep, WaitTimeout, at_least, exactly, wait_for_size

GetText = Callable[[str, float], tuple[int, str]]   # (url, timeout) -> (status, body); raises OSError


class CheckFailed(Exception):
    pass


def get_text(url: str, timeout: float) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return int(answer.status), answer.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return int(err.code), ""


@dataclass
class Waiting:
    """How long the waiting checks wait, and how they sleep (tests inject both)."""
    clock: Clock = time.monotonic
    sleep: Sleep = time.sleep
    poll_s: float = 5.0

    def until(self, what: str, test: Callable[[], bool], timeout_s: float) -> float:
        try:
            return wait_for_size(lambda: int(test()), at_least(1), timeout_s=timeout_s, poll_s=self.poll_s,
                                 clock=self.clock, sleep=self.sleep)
        except WaitTimeout as exc:
            raise CheckFailed(f"{what}: {exc}") from None


def counts(found: list[Found]) -> Counter[str]:
    """Pure: deployment objects per kind, pool members counted apart from the other VMs."""
    return Counter("pool-members" if f.kind == "instances" and f.managed else f.kind for f in found)


def check_shape(client: Any, buckets: Callable[[], list[str]], name_prefix: str) -> str:
    """Exactly one NLB, one pool and one VM besides the pool's members."""
    seen = counts(list_deployment(client, buckets, name_prefix))
    got = (seen["load-balancers"], seen["instance-pools"], seen["instances"])
    detail = f"{got[0]} NLB, {got[1]} pool ({seen['pool-members']} members), {got[2]} other VM"
    if got != (1, 1, 1):
        raise CheckFailed(f"expected 1 NLB, 1 pool, 1 other VM; found {detail}")
    return detail


def check_answers(get: GetText, url: str, waiting: Waiting, timeout_s: float, body: str | None = None) -> str:
    """`url` answers 2xx (and exactly `body` when given) within the timeout."""
    last = ["no answer"]

    def answered() -> bool:
        try:
            status, text = get(url, 10.0)
        except OSError as exc:
            last[0] = f"{type(exc).__name__}"
            return False
        last[0] = f"HTTP {status}" + (f" {text.strip()[:40]!r}" if body is not None else "")
        return 200 <= status < 300 and (body is None or text.strip() == body)

    try:
        taken = waiting.until(url, answered, timeout_s)
    except CheckFailed as exc:
        raise CheckFailed(f"{exc}; last answer: {last[0]}") from None
    return f"{url} answered after {taken:.0f} s: {last[0]}"


def member_ips(client: Any, pool_id: str) -> set[str]:
    listing = client.list_instances(manager_id=pool_id, manager_type="instance-pool")
    return {i["public-ip"] for i in listing.get("instances", []) if i.get("state") == "running" and i.get("public-ip")}


def prometheus_targets(get: GetText, prometheus_url: str, job: str = "pool") -> set[str]:
    status, text = get(f"{prometheus_url}/api/v1/targets", 10.0)
    if status != 200:
        raise OSError(f"targets API answered {status}")
    active = json.loads(text)["data"]["activeTargets"]
    return {urlsplit(t["scrapeUrl"]).hostname or "" for t in active if t.get("labels", {}).get("job") == job}


def check_members_are_targets(client: Any, get: GetText, pool_id: str, prometheus_url: str,
                              waiting: Waiting, timeout_s: float) -> str:
    state: dict[str, set[str]] = {"members": set(), "targets": set()}

    def covered() -> bool:
        state["members"] = member_ips(client, pool_id)
        state["targets"] = prometheus_targets(get, prometheus_url)
        return bool(state["members"]) and state["members"] <= state["targets"]

    try:
        taken = waiting.until("pool members as Prometheus targets", covered, timeout_s)
    except CheckFailed as exc:
        missing = sorted(state["members"] - state["targets"])
        raise CheckFailed(f"{exc}; members not scraped: {missing or 'none running'}") from None
    return f"{len(state['members'])} running members all scraped (after {taken:.0f} s)"


def pool_size(client: Any, pool_id: str) -> int:
    return len(client.get_instance_pool(id=pool_id).get("instances", []))


def check_scales(client: Any, pool_id: str, accept: Callable[[int], bool], what: str, waiting: Waiting,
                 timeout_s: float, on_sample: Callable[[float, int], None] | None = None) -> float:
    try:
        return wait_for_size(lambda: pool_size(client, pool_id), accept, timeout_s=timeout_s, poll_s=waiting.poll_s,
                             clock=waiting.clock, sleep=waiting.sleep, on_sample=on_sample)
    except WaitTimeout as exc:
        raise CheckFailed(f"{what}: {exc}") from None


def check_scale_up_under_load(client: Any, pool_id: str, load: LoadDriver, waiting: Waiting, timeout_s: float,
                              on_sample: Callable[[float, int], None] | None = None, target: int = 2) -> str:
    """Steady /load through the NLB; the pool must reach `target` members within the timeout."""
    load.start()
    taken = check_scales(client, pool_id, at_least(target), f"pool of {target} under load", waiting, timeout_s,
                         on_sample)
    r = load.result()
    return f"{target} members after {taken:.0f} s of load ({r.ok} /load ok, {r.errors} errors so far)"


def check_scale_down_after_load(client: Any, pool_id: str, load: LoadDriver, minimum: int, waiting: Waiting,
                                timeout_s: float, on_sample: Callable[[float, int], None] | None = None) -> str:
    load.stop()
    taken = check_scales(client, pool_id, exactly(minimum), f"pool back to {minimum}", waiting, timeout_s, on_sample)
    r = load.join()
    return f"back to {minimum} member(s) {taken:.0f} s after the load stopped ({r.ok} /load ok, {r.errors} errors)"
