"""The occupancy fit: requests in flight per member at the target CPU, from one (demand, CPU) pair."""
from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.scaler.tick.occupancy import SATURATED_CPU, fit

T = 0.75
POISSON_C = -math.log(1 - T)  # 1.386: random arrivals at CPU 0.75


def hashed(clients: int, members: int) -> tuple[float, float]:
    """(demand, CPU) per member of `clients` closed-loop clients hashed at random onto members."""
    return clients / members, 1 - (1 - 1 / members) ** clients


# name, demand, cpu, (per member, sources or None)
CASES = [
    ("closed-loop clients spread evenly", 0.9, 0.9, (T, None)),
    ("2 clients hashed onto 3 members", *hashed(2, 3), (2 * (1 - 0.25 ** 0.5), 2.0)),
    ("2 clients hashed onto 2 members", *hashed(2, 2), (1.0, 2.0)),
    ("3 clients hashed onto 2 members", *hashed(3, 2), (3 * (1 - 0.25 ** (1 / 3)), 3.0)),
    ("3 clients hashed onto 3 members", *hashed(3, 3), (3 * (1 - 0.25 ** (1 / 3)), 3.0)),
    ("random arrivals, on the curve", 1.6, 1 - math.exp(-1.6), (POISSON_C, math.inf)),
    ("random arrivals, as the annotation rounds it", 1.6, 0.798, (POISSON_C, math.inf)),
    ("over-dispersed: under the random-arrival curve", 1.7, 0.6, (POISSON_C, math.inf)),
    ("random arrivals at 3 in flight per member (CPU 0.95)", 3.0, 1 - math.exp(-3.0),
     (POISSON_C, math.inf)),
    ("saturated", 2.5, SATURATED_CPU, (T, None)),
    ("saturated beyond 1 (counter jitter)", 2.5, 1.004, (T, None)),
    ("CPU unknown", 1.6, None, (T, None)),
    ("no more requests than busy members", 0.85, 0.88, (T, None)),
    ("a CPU-bound app's figure is its CPU", 0.86, 0.86, (T, None)),
]


@pytest.mark.parametrize("name, demand, cpu, expected", CASES, ids=[c[0] for c in CASES])
def test_fit(name: str, demand: float, cpu: float | None,
             expected: tuple[float, float | None]) -> None:
    got = fit(demand, cpu, T)
    per_member, sources = expected
    assert got.per_member == pytest.approx(per_member, rel=1e-6), got
    if sources is None or math.isinf(sources):
        assert got.sources == sources, got
    else:
        assert got.sources == pytest.approx(sources, rel=1e-6), got


def test_the_reason_names_the_case() -> None:
    assert fit(*hashed(2, 2), T).why == "occupancy fit N=2.0"
    assert fit(1.7, 0.6, T).why.startswith("CPU 0.600 at or under random arrivals'")
    assert fit(2.5, 0.97, T).why == "CPU 0.970 saturated"
    assert fit(1.0, None, T).why == "CPU unknown"
    assert fit(0.8, 0.85, T).why == "demand 0.800 ≤ CPU 0.850"


def test_the_fitted_capacity_predicts_the_cpu_at_another_size() -> None:
    # 2 hashed clients seen on 2 members; sized for c, 2 clients on 2 / c members show CPU 0.75.
    c = fit(*hashed(2, 2), T).per_member
    members = 2 / c
    assert 1 - (1 - 1 / members) ** 2 == pytest.approx(T)


demands = st.floats(min_value=0.01, max_value=50, allow_nan=False)
cpus = st.floats(min_value=0.0, max_value=1.2, allow_nan=False)


@given(demands, cpus | st.none())
def test_capacity_lies_between_todays_rule_and_random_arrivals(demand: float,
                                                                cpu: float | None) -> None:
    assert T - 1e-12 <= fit(demand, cpu, T).per_member <= POISSON_C + 1e-12


@given(demands, st.floats(min_value=T, max_value=1.2, allow_nan=False))
def test_the_pool_holds_at_least_cpu_over_target_times_the_capacity(demand: float,
                                                                     cpu: float) -> None:
    # What the alert sends as its value is the larger of demand and CPU; at a CPU above the
    # target the fit never says a member holds more than value × t / u at the target.
    value = max(demand, cpu)
    assert value / fit(value, cpu, T).per_member >= cpu / T * (1 - 1e-9)


@given(demands, st.floats(min_value=0.8, max_value=1.2, allow_nan=False, exclude_min=True),
       st.integers(min_value=1, max_value=50))
def test_a_firing_scale_up_always_asks_for_more_than_the_pool_it_measured(
        demand: float, cpu: float, members: int) -> None:
    # CPU above the alert's 80 % threshold: decide() sizes ceil(value × members / c), and
    # value / c >= 0.8 / 0.75, so that is more members than were measured. No deadlock.
    value = max(demand, cpu)
    assert math.ceil(value * members / fit(value, cpu, T).per_member - 1e-9) > members


@given(st.integers(min_value=1, max_value=12), st.integers(min_value=2, max_value=12))
def test_hashed_clients_are_sized_so_their_cpu_is_the_target(clients: int, members: int) -> None:
    demand, cpu = hashed(clients, members)
    got = fit(demand, cpu, T)
    if got.sources is None:  # saturated or d <= u: today's rule, which never exceeds t
        return
    resized = clients / got.per_member
    assert 1 - (1 - 1 / resized) ** clients == pytest.approx(T, abs=1e-6)
