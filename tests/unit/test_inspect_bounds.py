"""effective_bounds: operator bounds clamped into the hard bounds, table-driven."""
from __future__ import annotations

import pytest

from functions.common.bounds import effective_bounds


@pytest.mark.parametrize("hard, settings, expected", [
    ((1, 10), None, (1, 10)),
    ((1, 10), {}, (1, 10)),
    ((1, 10), {"min_size": None, "max_size": None}, (1, 10)),
    ((1, 10), {"min_size": 2, "max_size": 6}, (2, 6)),
    ((1, 10), {"min_size": 3}, (3, 10)),
    ((1, 10), {"max_size": 4}, (1, 4)),
    ((2, 8), {"min_size": 1, "max_size": 20}, (2, 8)),      # both clamped
    ((2, 8), {"min_size": 9}, (8, 8)),                      # min above hard max
    ((3, 8), {"max_size": 2}, (3, 3)),                      # max below hard min
    ((2, 8), {"min_size": 9, "max_size": 12}, (8, 8)),
    ((1, 10), {"min_size": 6, "max_size": 4}, (1, 10)),     # inverted pair: ignored whole
    ((1, 10), {"min_size": 0, "max_size": 5}, (1, 5)),      # malformed half falls back
    ((1, 10), {"min_size": True, "max_size": "7"}, (1, 10)),
    ((1, 10), {"min_size": 2.5}, (1, 10)),
    ((5, 5), {"min_size": 1, "max_size": 3}, (5, 5)),
])
def test_effective_bounds(hard: tuple[int, int], settings: dict | None,
                          expected: tuple[int, int]) -> None:
    assert effective_bounds(*hard, settings) == expected


def test_inverted_hard_bounds_are_a_programming_error() -> None:
    with pytest.raises(ValueError):
        effective_bounds(5, 4, None)
