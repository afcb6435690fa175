"""The two-pools scenario's figures and verdict (sandbox/pool_figures.py) from synthetic operation
logs, samples and deliveries; its story (sandbox/scenarios.py); its report (sandbox/two_pools_report.py);
the handlers' INSTANCEPOOLS the run writes (sandbox/two_pools.py)."""
from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from functions.common import config
from sandbox import pool_figures as pf
from sandbox import two_pools_report
from sandbox.apps import for_run, run_facts
from sandbox.measure import Sample, ScalingCall, lost_requests
from sandbox.recorder import Delivery, pooled_scale_alerts, scale_alerts
from sandbox.scenarios import SCENARIOS
from sandbox.timings import FAST, REAL

WALL0 = 1_000_000.0
LEGS = pf.legs([("api", 220, 330), ("web", 10, 120)])  # given out of order: sorted by step
UP, DOWN = "scale-instance-pool", "evict-instance-pool-members"
FLAP = 50.0  # the fast timers' flap window: the synthetic story is about that fast


def op(t: float, pool: str, before: int, after: int, operation: str = UP) -> SimpleNamespace:
    """An emulator OperationRecord's fields that the figures read."""
    return SimpleNamespace(time=WALL0 + t, pool_id=f"id-{pool}", operation=operation,
                           size_before=before, size_after=after)


def clean_log() -> list[SimpleNamespace]:
    """Each pool up for its own step, down after its own drop, nothing else."""
    return [op(60, "web", 1, 3), op(200, "web", 3, 1, DOWN),
            op(270, "api", 1, 3), op(400, "api", 3, 1, DOWN)]


def calls(log: list[SimpleNamespace]) -> dict[str, list[ScalingCall]]:
    return {leg.name: pf.calls_of(log, f"id-{leg.name}", WALL0) for leg in LEGS}


def sizes(actions: list[ScalingCall], until: float = 450.0, every: float = 10.0) -> list[Sample]:
    """Samples whose pool size follows the actions."""
    out, size, t = [], 1, 0.0
    while t <= until:
        size = next((a.size_after for a in reversed(actions) if a.t <= t), 1)
        out.append(Sample(t, 0.0, 0.0, None, 0, None, size, size, 0))
        t += every
    return out


def judge(log: list[SimpleNamespace], lost: dict[str, int] | None = None, unrouted: int = 0) -> list[str]:
    c = calls(log)
    figs = {n: pf.figures(sizes(c[n]), c[n], (lost or {}).get(n, 0), flap_window_s=FLAP) for n in c}
    return pf.verdict(LEGS, c, figs, minimum=1, unrouted_alerts=unrouted)


def test_legs_are_in_step_order_and_each_span_ends_at_the_next_step() -> None:
    assert [(leg.name, leg.step_t, leg.drop_t, leg.span_end) for leg in LEGS] == [
        ("web", 10, 120, 220), ("api", 220, 330, math.inf)]


def test_a_pool_s_calls_are_its_own_since_the_load_started() -> None:
    log = [op(-5, "web", 0, 1), op(60, "web", 1, 3), op(61, "api", 1, 2)]
    assert pf.calls_of(log, "id-web", WALL0) == [ScalingCall(60, UP, 1, 3)]
    assert pf.calls_of(log, "id-api", WALL0) == [ScalingCall(61, UP, 1, 2)]


def test_figures_per_pool_from_its_operation_log_and_samples() -> None:
    c = calls([*clean_log(), op(230, "web", 1, 2), op(240, "web", 2, 1, DOWN)])
    web = pf.figures(sizes(c["web"]), c["web"], requests_lost=2, flap_window_s=FLAP)
    api = pf.figures(sizes(c["api"]), c["api"], requests_lost=0, flap_window_s=FLAP)
    assert web == {"max_pool_size": 3, "final_pool_size": 1, "actions": 4, "requests_lost": 2, "flaps": 2}
    assert api == {"max_pool_size": 3, "final_pool_size": 1, "actions": 2, "requests_lost": 0, "flaps": 0}
    assert tuple(web) == pf.FIGURES
    assert pf.figures([], [], 0) == {"max_pool_size": 0, "final_pool_size": 0, "actions": 0,
                                     "requests_lost": 0, "flaps": 0}


def test_a_clean_run_passes() -> None:
    assert judge(clean_log()) == []


@pytest.mark.parametrize(("extra", "says"), [
    (op(70, "api", 1, 2), "api acted before its own step: scale-instance-pool 1→2 at 70 s"),  # during web's step
    (op(5, "web", 1, 2), "web acted before its own step"),
    (op(250, "web", 1, 2), "web acted in api's span: scale-instance-pool 1→2 at 250 s"),
])
def test_a_pool_acting_for_the_other_pool_s_load_fails(extra: SimpleNamespace, says: str) -> None:
    failures = judge([*clean_log(), extra])
    assert any(says in f for f in failures), failures


def test_a_late_return_after_its_own_drop_is_still_the_pool_s_own() -> None:
    """A slow machine can delay web's scale-down past api's step: no step of api lowers web, so a
    scale-down of web with no scale-up of it since its drop answers web's own drop."""
    late = [op(60, "web", 1, 3), op(230, "web", 3, 1, DOWN), op(270, "api", 1, 3), op(400, "api", 3, 1, DOWN)]
    assert judge(late) == []
    then_up = [*late[:1], op(225, "web", 3, 4), op(240, "web", 4, 1, DOWN), *late[2:]]
    failures = judge(then_up)
    assert [f.split(":")[0] for f in failures[:2]] == ["web acted in api's span"] * 2, failures
    assert "web never scaled down after its load dropped at 120 s" in failures


def test_a_pool_that_never_answers_its_load_fails() -> None:
    only_web = [o for o in clean_log() if o.pool_id == "id-web"]
    assert judge(only_web) == ["api never scaled up for its load (step at 220 s)",
                               "api never scaled down after its load dropped at 330 s"]
    no_down = [o for o in clean_log() if o.time != WALL0 + 400]
    assert judge(no_down) == ["api never scaled down after its load dropped at 330 s",
                              "api ended at 3 members, not its minimum 1"]


def test_a_scale_down_before_the_drop_is_not_the_one_after_it() -> None:
    log = [op(60, "web", 1, 3), op(100, "web", 3, 1, DOWN), op(270, "api", 1, 3), op(400, "api", 3, 1, DOWN)]
    failures = judge(log)
    assert "web never scaled down after its load dropped at 120 s" in failures
    assert "web flapped 1 time(s)" in failures


def test_losses_and_unrouted_alerts_fail() -> None:
    assert judge(clean_log(), lost={"api": 1}) == ["api lost 1 request(s)"]
    assert judge(clean_log(), unrouted=2) == ["2 delivered scale alert(s) named no configured pool"]


def test_deliveries_split_by_the_pool_label() -> None:
    body = json.dumps({"alerts": [
        {"status": "firing", "fingerprint": "w", "labels": {"scale": "up", "pool": "web"}},
        {"status": "firing", "fingerprint": "a", "labels": {"scale": "down", "pool": "api"}},
        {"status": "firing", "fingerprint": "x", "labels": {"scale": "up"}},
        {"status": "resolved", "fingerprint": "r", "labels": {"scale": "up", "pool": "web"}}]}).encode()
    assert pooled_scale_alerts(body) == (("w", "up", "web"), ("a", "down", "api"), ("x", "up", ""))
    assert scale_alerts(body) == (("w", "up"), ("a", "down"), ("x", "up"))  # the single-pool view is unchanged
    found = pooled_scale_alerts(body)
    d = Delivery(WALL0, 202, tuple((f, s) for f, s, _ in found), tuple(p for _, _, p in found))
    refused = Delivery(WALL0 + 1, 503, d.alerts, d.pools)
    assert [x.alerts for x in pf.deliveries_of([d], "web")] == [(("w", "up"),)]
    assert [x.alerts for x in pf.deliveries_of([d], "api")] == [(("a", "down"),)]
    assert pf.unrouted([d, refused], ["web", "api"]) == 1  # only the 2xx delivery's alert without a pool
    assert pf.unrouted([d], ["web"]) == 2  # an alert naming a pool not configured is unrouted too
    unlabelled = Delivery(WALL0, 202, (("u", "up"),))  # noted without labels: none names a pool
    assert pf.deliveries_of([unlabelled], "web")[0].alerts == () and pf.unrouted([unlabelled], ["web"]) == 1


def test_a_request_stored_under_the_other_pool_is_lost_for_its_own() -> None:
    d = Delivery(WALL0, 202, (("w", "up"), ("a", "up")), ("web", "api"))
    web_bucket, api_bucket = [], [("w", WALL0), ("a", WALL0)]  # the receiver stored web's under api
    assert lost_requests(pf.deliveries_of([d], "web"), web_bucket) == 1
    assert lost_requests(pf.deliveries_of([d], "api"), api_bucket) == 0


def test_the_story_leaves_each_pool_its_own_span() -> None:
    sc = SCENARIOS["two-pools"]
    assert not sc.fast and sc.step_t < sc.drop_t < sc.second_step_t < sc.second_drop_t <= sc.duration_s
    assert dict(sc.profile)[sc.step_t] == dict(sc.second_profile)[sc.second_step_t] > 1
    # each hold outlasts the flap window, so the scale-down after it is no reversal
    assert sc.drop_t - sc.step_t > REAL.flap_window_s and sc.second_drop_t - sc.second_step_t > REAL.flap_window_s
    # the second step waits for the first pool's scale-down (about 105 s after a drop in the default runs)
    assert sc.second_step_t - sc.drop_t >= 150
    # and the run lasts long enough after the second drop for twice that
    assert sc.duration_s + sc.tail_s - sc.second_drop_t >= 2 * 105
    fast = sc.compressed(REAL.tick_s / FAST.tick_s)
    assert fast.second_step_t == pytest.approx(sc.second_step_t / 6, abs=0.01)
    assert fast.second_profile == tuple((round(t / 6, 3), m) for t, m in sc.second_profile)
    assert fast.second_drop_t - fast.second_step_t > FAST.flap_window_s
    assert sc.rps_profile(0.1, second=True) == tuple((t, m * 0.1) for t, m in sc.second_profile)


def test_the_handlers_get_both_pools_in_instancepools(tmp_path: Path) -> None:
    from sandbox.two_pools import NAMES, TwoPools
    box = TwoPools(SCENARIOS["two-pools"], tmp_path, "proportional", True, app="http-load-generator")
    try:
        box.pool_ids = {"web": "11111111-aaaa", "api": "22222222-bbbb"}
        env = box._pool_env()
        assert "INSTANCEPOOL_ID" not in env and box.scenario.second_step_t == pytest.approx(550 / 6, abs=0.01)
        cfg = config.load({"EXOSCALE_KEY": "k", "EXOSCALE_SECRET": "s", "EXOSCALE_ZONE": "at-vie-1",
                           "SOS_BUCKET": "sandbox-bucket", **env})
        assert [(p.name, p.id, p.min_size, p.max_size) for p in cfg.pools] == [
            ("web", "11111111-aaaa", 1, box.max_size), ("api", "22222222-bbbb", 1, box.max_size)]
        assert tuple(env["INSTANCEPOOLS"].split(",")[i].split("=")[0] for i in range(2)) == NAMES
    finally:
        box.close()


def report(log: list[SimpleNamespace]) -> tuple[dict[str, Any], dict[str, list[Sample]]]:
    """A report.json as sandbox/two_pools.py builds it, from a synthetic operation log."""
    c = calls(log)
    samples = {n: sizes(c[n]) for n in ("web", "api")}
    figs = {n: pf.figures(samples[n], c[n], 0, FLAP) for n in samples}
    details = {leg.name: {"pool_id": f"id-{leg.name}", **pf.details(leg, samples[leg.name], c[leg.name]),
                          "scale_up_reaction_s": None, "overload_s": 0.0, "scale_alerts_delivered": 1,
                          "load_errors": 0, "load_errors_at_scale_down": 0, "cost": None} for leg in LEGS}
    failures = pf.verdict(LEGS, c, figs, 1)
    app = for_run("http-load-generator", 1)
    return {"scenario": "two-pools", "description": "two pools", "policy": "proportional",
            "app": run_facts(app, 1), "timings": {"name": "fast", "flap_window_s": FLAP},
            "overload": {"definition": "CPU above 80 %"}, "duration_s": 450,
            "profiles_members": {"web": [[0, 0.25], [10, 2.5], [120, 0.25]], "api": [[0, 0.25], [220, 2.5]]},
            "summary": pf.summary(figs, failures, 0, details), "pools": figs, "pool_details": details,
            "actions": sorted(({"pool": n, **vars(a)} for n in c for a in c[n]), key=lambda a: a["t"]),
            "deliveries": {"total": 2, "delivered": 2, "scale_alerts_delivered": 2,
                           "alertmanager_notifications": 2, "alertmanager_failed": 0},
            "inspect": {"status": "web 1 member\napi 1 member"}}, samples


def test_details_time_each_pool_s_answers_from_its_own_step_and_drop() -> None:
    found, _ = report(clean_log())
    web, api = found["pool_details"]["web"], found["pool_details"]["api"]
    assert (web["step_to_first_up_call_s"], web["drop_to_first_down_call_s"], web["span_end"]) == (50, 80, 220)
    assert (api["step_to_first_up_call_s"], api["drop_to_first_down_call_s"], api["span_end"]) == (50, 70, None)
    s = found["summary"]
    assert (s["passed"], s["actions"], s["flaps"], s["requests_lost"], s["max_pool_size"]) == (True, 4, 0, 0, 3)
    assert s["instance_seconds"] == web["instance_seconds"] + api["instance_seconds"] > 0


def test_report_md_shows_both_pools_and_the_verdict() -> None:
    passed, _ = report(clean_log())
    text = two_pools_report.markdown(passed)
    assert "**PASSED**" in text and "| figure | web | api |" in text
    assert "| max pool size | 3 | 3 |" in text and "| 270 | api | scale-instance-pool | 1 → 3 |" in text
    failed, _ = report([*clean_log(), op(70, "api", 1, 2)])
    text = two_pools_report.markdown(failed)
    assert "**FAILED**" in text and "- api acted before its own step" in text
    assert "| scaling actions | 2 | 3 |" in text


def test_report_png_has_both_pools(tmp_path: Path) -> None:
    found, samples = report(clean_log())
    two_pools_report.write(tmp_path, found, samples, cpu_window_s=30, member_rps=0.1)
    png = (tmp_path / "report.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(png[20:24], "big") > 4 * 2.6 * 100  # four panels tall
    assert json.loads((tmp_path / "report.json").read_text())["pools"] == found["pools"]
    assert "| final pool size | 1 | 1 |" in (tmp_path / "report.md").read_text()
