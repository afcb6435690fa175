"""Table-driven tests of the pure scaling decision."""
from __future__ import annotations

import pytest

from functions.bucket.request import ScaleRequest
from functions.scaler.tick import policy
from functions.scaler.tick.policy import DOWN, NONE, UP, Member, Memory, Params, Pending, PoolView

NOW = 10_000.0


def req(direction: str, age: float = 5.0, value: float | None = None, key: str = "",
        members: int | None = None, trend: float | None = None, cpu: float | None = None
        ) -> Pending:
    r = ScaleRequest(direction, "grafana", NOW - age, "cpu", "fp", value, members, trend, cpu)
    return Pending(key or f"requests/p/{direction}-{age}-{value}-{trend}-{cpu}.json", r)


def pool(size: int, state: str = "running", serving: int | None = None) -> PoolView:
    serving = size if serving is None else serving
    members = tuple(Member(f"m{i}", "running" if i < serving else "starting",
                           f"2026-01-01T00:00:{i:02d}Z") for i in range(size))
    return PoolView(size, state, members)


PLAIN = Params()  # the deployed knobs; the requests it sees carry no demand figure
# The sizing arithmetic alone: no +2 floor on a scale-up (its own cases below use the default).
PROP = Params(target_utilization=0.6, lookahead_s=105, min_up_step=1)
BLIND = Params(target_utilization=0.6, lookahead_s=0, min_up_step=1)
FIT = Params(target_utilization=0.75, lookahead_s=105, min_up_step=1)
QUIET = Memory()  # no earlier action
RECENT = Memory(last_action_at=NOW - 30)

CASES = [
    # name, pool, pending, bounds, params, memory, paused, action, target, outcome
    ("nothing pending", pool(2), [], (1, 10), PLAIN, QUIET, False, NONE, 2, None),
    ("up without a figure: +1", pool(2), [req("up")], (1, 10), PLAIN, QUIET, False, UP, 3, None),
    ("down without a figure: -1", pool(3), [req("down")], (1, 10), PLAIN, QUIET, False, DOWN, 2, None),
    ("up beats down", pool(3), [req("down"), req("up")], (1, 10), PLAIN, QUIET, False, UP, 4,
     None),
    ("many ups still one step", pool(2), [req("up", a) for a in (1, 2, 3, 4)], (1, 10), PLAIN,
     QUIET, False, UP, 3, None),
    ("at max: refused, consumed", pool(10), [req("up")], (1, 10), PLAIN, QUIET, False, NONE, 10,
     "at-bound"),
    ("at min: no down", pool(1), [req("down")], (1, 10), PLAIN, QUIET, False, NONE, 1, "at-bound"),
    ("below min corrected without request", pool(1), [], (3, 10), PLAIN, QUIET, False, UP, 3,
     None),
    ("above max corrected without request", pool(7), [], (1, 5), PLAIN, QUIET, False, DOWN, 5,
     None),
    ("operator max respected", pool(4), [req("up")], (1, 4), PLAIN, QUIET, False, NONE, 4,
     "at-bound"),
    ("not running: wait", pool(2, "scaling-up"), [req("up")], (1, 10), PLAIN, QUIET, False, NONE,
     2, None),
    ("not running: no correction either", pool(0, "scaling-up"), [], (1, 10), PLAIN, QUIET, False,
     NONE, 0, None),
    ("paused: nothing, even out of bounds", pool(12), [req("up")], (1, 10), PLAIN, QUIET, True,
     NONE, 12, None),
    ("cooldown holds scale-down", pool(3), [req("down")], (1, 10), PLAIN,
     Memory(last_action_at=NOW - 60), False, NONE, 3, "cooldown"),
    ("cooldown over: scale-down", pool(3), [req("down", 1)], (1, 10), PLAIN,
     Memory(last_action_at=NOW - 300), False, DOWN, 2, None),
    ("cooldown does not hold scale-up", pool(3), [req("up", 1)], (1, 10), PLAIN,
     Memory(last_action_at=NOW - 90), False, UP, 4, None),
    ("no demand figure right after an action: +1 again", pool(3, serving=2), [req("up")], (1, 10),
     PLAIN, RECENT, False, UP, 4, None),
    ("proportional jumps to demand", pool(1), [req("up", value=2.0)], (1, 10), PROP, QUIET, False,
     UP, 4, None),
    ("proportional capped by max_step", pool(1), [req("up", value=9.0)], (1, 10), PROP, QUIET,
     False, UP, 5, None),
    ("proportional capped by max", pool(2), [req("up", value=3.0)], (1, 6), PROP, QUIET, False, UP,
     6, None),
    ("proportional takes the highest demand", pool(2), [req("up", value=0.85),
                                                       req("up", value=1.2)], (1, 10), PROP,
     QUIET, False, UP, 4, None),
    ("proportional at least +1", pool(4), [req("up", value=0.81)], (1, 10), PROP, QUIET, False, UP,
     6, None),
    ("proportional without demand is step", pool(2), [req("up")], (1, 10), PROP, QUIET, False, UP,
     3, None),
    ("proportional down to demand", pool(6), [req("down", value=0.1)], (1, 10), PROP, QUIET, False,
     DOWN, 2, None),
    ("proportional down respects min", pool(6), [req("down", value=0.05)], (3, 10), PROP, QUIET,
     False, DOWN, 3, None),
    ("proportional down at most -1 below current", pool(2), [req("down", value=0.55)], (1, 10),
     PROP, QUIET, False, DOWN, 1, None),
    ("proportional counts serving members only", pool(4, serving=2), [req("up", value=1.5)],
     (1, 10), PROP, QUIET, False, UP, 5, None),
    # With `members`, the request carries total demand: value × members members' worth.
    ("total demand sizes the pool", pool(1), [req("up", value=1.8, members=1)], (1, 10), PROP,
     QUIET, False, UP, 3, None),
    ("total demand already covered", pool(3), [req("up", value=1.8, members=1)], (1, 10), PROP,
     QUIET, False, NONE, 3, "covered"),
    ("total demand right after an action", pool(3),
     [req("up", value=1.2, members=3)], (1, 10), PROP, RECENT, False, UP, 6, None),
    ("re-delivery measured before new capacity is covered", pool(6),
     [req("up", value=2.5, members=1)], (1, 10), PROP, RECENT, False, NONE, 6, "covered"),
    ("total down to demand, capped by max_step", pool(6), [req("down", value=0.1, members=6)],
     (1, 10), PROP, QUIET, False, DOWN, 2, None),
    ("total down to demand", pool(3), [req("down", value=0.15, members=3)], (1, 10), PROP, QUIET,
     False, DOWN, 1, None),
    ("total down but size needed", pool(2), [req("down", value=0.5, members=2)], (1, 10),
     PROP, QUIET, False, NONE, 2, "covered"),
    ("total down keeps what demand needs", pool(4), [req("down", value=0.19, members=4)],
     (1, 10), PROP, QUIET, False, DOWN, 2, None),
    # A scale-up adds at least MIN_UP_STEP (2): 2.4 members' worth / 0.7 = 4 on a pool of 3 → 5.
    ("a scale-up adds at least 2", pool(3), [req("up", value=0.8, members=3)], (1, 10), PLAIN,
     QUIET, False, UP, 5, None),
    ("the floor leaves covered alone", pool(4), [req("up", value=0.8, members=3)], (1, 10), PLAIN,
     QUIET, False, NONE, 4, "covered"),
    ("the floor within the bounds", pool(3), [req("up", value=0.8, members=3)], (1, 4), PLAIN,
     QUIET, False, UP, 4, None),
    ("the floor within max_step", pool(3), [req("up", value=0.8, members=3)], (1, 10),
     Params(max_step=1), QUIET, False, UP, 4, None),
    ("no demand figure: still +1", pool(3), [req("up")], (1, 10), PLAIN, QUIET, False, UP, 4, None),
    ("a scale-down has no floor", pool(4), [req("down", value=0.4, members=4)], (1, 10), PLAIN,
     QUIET, False, DOWN, 3, None),
    # The trend (members' worth per second): a scale-up sizes for the demand expected when the
    # new capacity serves, 3.0 + 0.01 × (105 s look-ahead + 5 s age) = 4.1 → ceil(4.1 / 0.6) = 7.
    ("no trend: sizes for the measured demand", pool(3), [req("up", value=1.5, members=2)],
     (1, 10), PROP, QUIET, False, UP, 5, None),
    ("rising trend sizes ahead", pool(3), [req("up", value=1.5, members=2, trend=0.01)], (1, 10),
     PROP, QUIET, False, UP, 7, None),
    ("the request's age adds to the look-ahead", pool(3),
     [req("up", age=95, value=1.5, members=2, trend=0.01)], (1, 10), PROP, QUIET, False, UP, 7,
     None),
    ("look-ahead 0: trend unused", pool(3), [req("up", value=1.5, members=2, trend=0.01)],
     (1, 10), BLIND, QUIET, False, UP, 5, None),
    ("falling trend never shrinks a scale-up", pool(3),
     [req("up", value=1.5, members=2, trend=-0.05)], (1, 10), PROP, QUIET, False, UP, 5, None),
    ("a steep trend adds at most half the demand", pool(4),
     [req("up", value=1.5, members=2, trend=5.0)], (1, 10), PROP, QUIET, False, UP, 8, None),
    ("rising trend turns covered into up", pool(5), [req("up", value=1.5, members=2, trend=0.01)],
     (1, 10), PROP, QUIET, False, UP, 7, None),
    ("a small trend within the size keeps covered", pool(5),
     [req("up", value=1.4, members=2, trend=0.0005)],
     (1, 10), PROP, QUIET, False, NONE, 5, "covered"),
    ("rising trend still capped by max_step", pool(1), [req("up", value=1.5, members=2, trend=0.01)],
     (1, 10), PROP, QUIET, False, UP, 5, None),
    ("rising trend still capped by max", pool(3), [req("up", value=1.5, members=2, trend=0.01)],
     (1, 6), PROP, QUIET, False, UP, 6, None),
    ("largest expected demand wins", pool(3), [req("up", value=1.6, members=2),
                                               req("up", age=30, value=1.5, members=2, trend=0.01)],
     (1, 10), PROP, QUIET, False, UP, 7, None),
    ("falling trend never deepens a scale-down", pool(6),
     [req("down", value=0.2, members=6, trend=-0.05)], (1, 10), PROP, QUIET, False, DOWN, 2, None),
    ("rising trend on a down request is not used either", pool(6),
     [req("down", value=0.2, members=6, trend=0.05)], (1, 10), PROP, QUIET, False, DOWN, 2, None),
    ("cooldown holds a scale-down whatever the trend", pool(6),
     [req("down", value=0.05, members=6, trend=-1.0)], (1, 10), PROP,
     Memory(last_action_at=NOW - 60), False, NONE, 6, None),
    # The pool's CPU beside its requests in flight (occupancy.fit, target 0.75): random arrivals,
    # 1.7 in flight per member at CPU 1 - e^(-1.7) = 0.817, need 1.39 per member, not 0.75.
    ("random arrivals: 1.39 in flight per member", pool(3),
     [req("up", value=1.7, members=3, cpu=0.817)], (1, 10), FIT, QUIET, False, UP, 4, None),
    ("CPU unknown: 0.75 in flight per member", pool(3), [req("up", value=1.7, members=3)],
     (1, 10), FIT, QUIET, False, UP, 7, None),
    ("3 hashed clients on 2 members: N=3, 1.11 per member", pool(2),
     [req("up", value=1.5, members=2, cpu=0.875)], (1, 10), FIT, QUIET, False, UP, 3, None),
    ("2 clients on 2 members, saturated: 0.75 per member", pool(2),
     [req("up", value=1.0, members=2, cpu=1.0)], (1, 10), FIT, QUIET, False, UP, 3, None),
    ("the fit also says when the pool is big enough", pool(4),
     [req("up", value=1.7, members=3, cpu=0.817)], (1, 10), FIT, QUIET, False, NONE, 4, "covered"),
    ("the fit and the trend together", pool(3),
     [req("up", value=1.7, members=3, cpu=0.817, trend=0.01)], (1, 10), FIT, QUIET, False, UP, 5,
     None),
    ("of fitted and unfitted requests, the larger size wins", pool(3),
     [req("up", value=1.7, members=3, cpu=0.817), req("up", age=20, value=1.5, members=3)],
     (1, 10), FIT, QUIET, False, UP, 6, None),
    ("a scale-down never uses the fit", pool(6), [req("down", value=0.3, members=6, cpu=0.1)],
     (1, 10), FIT, QUIET, False, DOWN, 3, None),
]


@pytest.mark.parametrize("name, view, pending, bounds, params, memory, paused, action, target, "
                         "outcome", CASES, ids=[c[0] for c in CASES])
def test_decide(name: str, view: PoolView, pending: list[Pending], bounds: tuple[int, int],
                params: Params, memory: Memory, paused: bool, action: str, target: int,
                outcome: str) -> None:
    d = policy.decide(NOW, view, pending, bounds, params, memory, paused)
    assert (d.action, d.target_size) == (action, target), d.reason
    if action != NONE or (pending and d.consume):
        expected = "cooldown" if name.startswith("cooldown holds") else outcome
        assert d.outcome == expected, d.reason


@pytest.mark.parametrize("request_, says", [
    (req("up", value=1.7, members=3, cpu=0.817),
     "ceil(demand 5.10 members' worth / 1.39 in flight per member at CPU 0.75) = 4; CPU 0.817 at "
     "or under random arrivals' 0.817"),
    (req("up", value=1.5, members=2, cpu=0.875),
     "ceil(demand 3.00 members' worth / 1.11 in flight per member at CPU 0.75) = 3; occupancy fit "
     "N=3.0"),
    (req("up", value=1.7, members=3), "/ 0.75 in flight per member at CPU 0.75) = 7; CPU unknown"),
])
def test_the_reason_says_which_capacity_per_member_applied(request_: Pending, says: str) -> None:
    assert says in policy.decide(NOW, pool(2), [request_], (1, 10), FIT, QUIET).reason


def test_an_idle_pool_reads_zero_demand_not_minus_zero() -> None:
    # A CPU rounded from just below 0 arrives as the annotation "-0.000", which parses as -0.0.
    d = policy.decide(NOW, pool(4), [req("down", value=-0.0, members=4)], (1, 10), FIT, QUIET)
    assert (d.action, d.target_size) == (DOWN, 1)
    assert "ceil(demand 0.00 members' worth" in d.reason and "-0.00" not in d.reason


def test_consumes_everything_pending_when_acting() -> None:
    pending = [req("up", 3, key="a"), req("down", 2, key="b"), req("up", 1, key="c")]
    d = policy.decide(NOW, pool(2), pending, (1, 10), PLAIN, QUIET)
    assert d.consume == ("a", "b", "c")


def test_waiting_consumes_nothing() -> None:
    for view, paused in ((pool(2, "scaling-down"), False), (pool(2), True)):
        d = policy.decide(NOW, view, [req("up", key="a")], (1, 10), PLAIN, QUIET, paused)
        assert d.action == NONE and d.consume == ()


def test_evict_order_not_serving_first_then_newest() -> None:
    members = [Member("old", "running", "2026-01-01T00:00:00Z"),
               Member("new", "running", "2026-01-01T00:05:00Z"),
               Member("booting", "starting", "2026-01-01T00:01:00Z"),
               Member("mid", "running", "2026-01-01T00:03:00Z")]
    assert policy.evict_order(members, 3) == ("booting", "new", "mid")
    assert policy.evict_order(members, 0) == ()


def test_scale_down_evicts_exactly_the_difference() -> None:
    d = policy.decide(NOW, pool(6), [req("down", value=0.1)], (1, 10), PROP, QUIET)
    assert len(d.evict) == 6 - d.target_size and len(set(d.evict)) == len(d.evict)


def test_split_expired() -> None:
    live, expired = policy.split_expired([req("up", 10, key="a"), req("up", 400, key="b")], NOW, 300)
    assert [p.key for p in live] == ["a"] and [p.key for p in expired] == ["b"]


def busy_pool(figures: list[float | None], serving: int | None = None) -> PoolView:
    """Members m0, m1, ... (m0 the oldest) with their requests in flight as read at the decision."""
    view = pool(len(figures), serving=serving)
    return PoolView(view.size, view.state, tuple(
        Member(m.id, m.state, m.created_at, f"10.0.0.{i}", f) for i, (m, f) in enumerate(
            zip(view.members, figures, strict=True))))


@pytest.mark.parametrize("view, action, target, evict", [
    # every member idle: the whole scale-down, newest first
    (busy_pool([0, 0, 0, 0]), DOWN, 1, ("m3", "m2", "m1")),
    # two of the three it would evict are busy: only the idle one goes, the busy ones stay
    (busy_pool([2, 1, 0, 1]), DOWN, 3, ("m2",)),
    # all busy: nothing now, the requests stay pending for the next tick
    (busy_pool([1, 1, 2, 1]), NONE, 4, ()),
    # a member not yet serving goes even though its exporter shows connections
    (busy_pool([1, 1, 1, 3], serving=3), DOWN, 3, ("m3",)),
    # a member without a figure may be busy: kept when others have figures
    (busy_pool([1, None, 0, 0]), DOWN, 2, ("m3", "m2")),
    # no figure at all (no exporter answered): the ranking alone, as before
    (busy_pool([None, None, None, None]), DOWN, 1, ("m3", "m2", "m1")),
])
def test_a_scale_down_takes_only_members_holding_no_request(view: PoolView, action: str, target: int,
                                                           evict: tuple[str, ...]) -> None:
    d = policy.decide(NOW, view, [req("down", value=0.1, key="k")], (1, 10), PROP, QUIET)
    assert (d.action, d.target_size, d.evict) == (action, target, evict)
    assert d.consume == (("k",) if action == DOWN else ())  # held: nothing used up


def test_a_bound_correction_evicts_busy_members_too() -> None:
    d = policy.decide(NOW, busy_pool([1, 1, 2, 1]), [], (1, 2), PROP, QUIET)
    assert (d.action, d.target_size, d.evict) == (DOWN, 2, ("m3", "m1"))
