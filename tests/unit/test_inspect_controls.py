"""`inspect set-budget` and `inspect schedule add|list|remove` against moto server: what they store,
that they keep what they do not own, and that bad input is one line, a non-zero exit, nothing written."""
from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from functions.common import keys
from functions.common.store import Store
from functions.inspect import cli
from tests.unit.test_inspect import RacingStore

POOL = "00000000-0000-0000-0000-000000000001"
# Monday 2026-11-30 12:00 UTC (13:00 in Vienna)
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC).timestamp()


def run(env: dict[str, str], *argv: str, store: Store | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    kwargs: dict[str, Any] = {} if store is None else {"make_store": lambda cfg: store}
    rc = cli.main(list(argv), env, now=lambda: NOW, out=out, err=err, **kwargs)
    return rc, out.getvalue(), err.getvalue()


def stored(store: Store) -> dict[str, Any] | None:
    got = store.get(keys.settings(POOL))
    return None if got is None else got.body


# --- set-budget ----------------------------------------------------------------------------

@pytest.mark.parametrize("steps, budget", [
    ([["--daily", "5"]], {"daily": 5.0, "monthly": None, "tz": "UTC"}),
    ([["--monthly", "120.50"]], {"daily": None, "monthly": 120.5, "tz": "UTC"}),
    ([["--daily", "5", "--monthly", "100", "--tz", "Europe/Vienna"]],
     {"daily": 5.0, "monthly": 100.0, "tz": "Europe/Vienna"}),
    ([["--daily", "5"], ["--monthly", "100"]], {"daily": 5.0, "monthly": 100.0, "tz": "UTC"}),   # keeps
    ([["--daily", "5", "--monthly", "100"], ["--daily", "none"]], {"daily": None, "monthly": 100.0, "tz": "UTC"}),
    ([["--daily", "0"]], {"daily": 0.0, "monthly": None, "tz": "UTC"}),
    ([["--tz", " America/New_York "]], {"daily": None, "monthly": None, "tz": "America/New_York"}),
])
def test_set_budget_stores_and_keeps_omitted(env: dict[str, str], store: Store, steps: list[list[str]],
                                             budget: dict[str, Any]) -> None:
    for argv in steps:
        rc, out, err = run(env, "set-budget", *argv)
        assert (rc, err) == (0, ""), err
        assert out.startswith("budget stored; the next tick honours it\n")
    body = stored(store)
    assert body is not None and body["budget"] == budget
    assert body["updated_by"].startswith("inspect:")
    view = json.loads(run(env, "set-budget", "--tz", budget["tz"], "--json")[1])
    assert {k: view[k] for k in ("daily", "monthly", "tz")} == budget and view["error"] is None


def test_set_budget_text_names_the_currency(env: dict[str, str]) -> None:
    _, out, _ = run(env, "set-budget", "--daily", "4.5", "--tz", "Europe/Vienna")
    assert "daily cap    4.50 EUR" in out and "monthly cap  none" in out
    assert "days and months in Europe/Vienna" in out


@pytest.mark.parametrize("argv, message", [
    (["--daily", "-1"], "refused: the daily cap must be a number >= 0, got -1.0; nothing written"),
    (["--monthly", "-0.01"], "refused: the monthly cap must be a number >= 0, got -0.01; nothing written"),
    (["--daily", "lots"], "refused: the daily cap must be an amount like 5 or 12.50, or 'none', got 'lots'"),
    (["--daily", "nan"], "refused: the daily cap must be a number >= 0, got nan"),
    (["--monthly", "inf"], "refused: the monthly cap must be a number >= 0, got inf"),
    (["--tz", "Europe/Atlantis"], "refused: unknown time zone 'Europe/Atlantis'"),
    (["--daily", "5", "--tz", "CEST"], "refused: unknown time zone 'CEST'"),
    ([], "refused: set-budget needs --daily, --monthly and/or --tz; nothing written"),
])
def test_set_budget_refuses_bad_input_with_one_line_and_writes_nothing(
        env: dict[str, str], store: Store, argv: list[str], message: str) -> None:
    assert run(env, "set-bounds", "--min", "2")[0] == 0
    before = store.get(keys.settings(POOL))
    rc, out, err = run(env, "set-budget", *argv)
    assert rc == 1 and out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("inspect: error: ") and message in err
    after = store.get(keys.settings(POOL))
    assert after is not None and before is not None and after.etag == before.etag


def test_budget_and_bounds_and_schedule_keep_each_other(env: dict[str, str], store: Store) -> None:
    assert run(env, "set-bounds", "--min", "2", "--max", "6")[0] == 0
    assert run(env, "set-budget", "--daily", "3")[0] == 0
    assert run(env, "schedule", "add", "0 8 * * 1-5", "--min", "3", "--duration", "10h")[0] == 0
    assert run(env, "pause")[0] == 0
    body = stored(store)
    assert body is not None
    assert (body["paused"], body["min_size"], body["max_size"]) == (True, 2, 6)
    assert body["budget"]["daily"] == 3.0 and [r["id"] for r in body["schedule"]] == ["r1"]


# --- schedule ------------------------------------------------------------------------------

def test_schedule_add_list_remove(env: dict[str, str], store: Store) -> None:
    assert run(env, "schedule", "list") == (0, "no schedule rules\nbounds now  1..10 (no rule in force); "
                                                "no change scheduled\n", "")
    rc, out, err = run(env, "schedule", "add", "0 8 * * 1-5", "--min", "2", "--duration", "10h",
                       "--tz", "Europe/Vienna")
    assert (rc, err) == (0, "")
    assert out.startswith("schedule rule r1 stored: 0 8 * * 1-5 (Europe/Vienna) for 10h: min 2\n")
    # 13:00 in Vienna on a Monday: in force until 18:00 local (17:00 UTC)
    assert "bounds now  2..10 (rule r1); next change 2026-11-30T17:00:00Z (in 5h 00m): 1..10 (no rule)" in out
    rc, out, _ = run(env, "schedule", "add", "0 22 * * *", "--min", "1", "--max", "2", "--duration", "9h")
    assert rc == 0 and out.startswith("schedule rule r2 stored: 0 22 * * * (UTC) for 9h: min 1, max 2")
    view = json.loads(run(env, "schedule", "list", "--json")[1])
    assert [(r["id"], r["in_force"], r["explain"]) for r in view["rules"]] == [
        ("r1", True, "At 08:00 on Monday through Friday"), ("r2", False, "At 22:00 every day")]
    assert view["rules"][0]["ends_at"] == "2026-11-30T17:00:00Z"
    assert view["rules"][1]["next_start"] == "2026-11-30T22:00:00Z"
    assert view["in_force"] == {"min": 2, "max": 10, "rules": ["r1"], "operator": {"min": 1, "max": 10}}
    assert view["next_change"]["at"] == "2026-11-30T17:00:00Z" and view["next_change"]["rules"] == []
    _, text, _ = run(env, "schedule", "list")
    assert text.splitlines()[0].split() == ["ID", "CRON", "ZONE", "FOR", "MIN", "MAX", "NOW", "MEANS"]
    rc, out, err = run(env, "schedule", "remove", "r1")
    assert (rc, err) == (0, "") and out.startswith("schedule rule r1 removed\n")
    body = stored(store)
    assert body is not None and [r["id"] for r in body["schedule"]] == ["r2"]
    # ids are not reused while a higher one exists
    run(env, "schedule", "add", "0 6 * * *", "--min", "2", "--duration", "1h")
    body = stored(store)
    assert body is not None and [r["id"] for r in body["schedule"]] == ["r2", "r3"]


@pytest.mark.parametrize("argv, rc, message", [
    (["add", "61 8 * * *", "--min", "2", "--duration", "1h"], 1,
     "refused: invalid cron expression '61 8 * * *': Bad minute; nothing written"),
    (["add", "0 8 * * * *", "--min", "2", "--duration", "1h"], 1, "must have five fields"),
    (["add", "0 8 * * 1-5", "--min", "2", "--duration", "1h", "--tz", "Europe/Vienne"], 1,
     "refused: unknown time zone 'Europe/Vienne'"),
    (["add", "0 8 * * 1-5", "--min", "0", "--duration", "1h"], 1, "--min: a bound must be >= 1, got 0"),
    (["add", "0 8 * * 1-5", "--min", "-2", "--duration", "1h"], 1, "--min: a bound must be >= 1, got -2"),
    (["add", "0 8 * * 1-5", "--min", "none", "--duration", "1h"], 1, "--min must be a whole number >= 1, got 'none'"),
    (["add", "0 8 * * 1-5", "--min", "2", "--max", "x", "--duration", "1h"], 1,
     "--max: expected a whole number or 'none', got 'x'"),
    (["add", "0 8 * * 1-5", "--min", "3", "--max", "2", "--duration", "1h"], 1, "min 3 is greater than max 2"),
    (["add", "0 8 * * 1-5", "--min", "2", "--duration", "ten hours"], 1, "duration must be like 90m"),
    (["add", "0 8 * * 1-5", "--min", "2", "--duration", "40d"], 1, "duration must be between 1m and 31d"),
    (["add", "0 8 * * 1-5", "--min", "2"], 2, "schedule add: the following arguments are required: --duration"),
    (["add", "0", "8", "*", "*", "*", "--min", "2", "--duration", "1h"], 2, "unrecognized arguments: 8 * * *"),
    (["remove", "r9"], 1, "refused: no schedule rule 'r9' (rules: r1); nothing written"),
    (["prune"], 2, "invalid choice: 'prune'"),
])
def test_schedule_refuses_bad_input_with_one_line_and_writes_nothing(
        env: dict[str, str], store: Store, capsys: pytest.CaptureFixture[str], argv: list[str], rc: int,
        message: str) -> None:
    assert run(env, "schedule", "add", "0 7 * * *", "--min", "2", "--duration", "1h")[0] == 0
    before = store.get(keys.settings(POOL))
    if rc == 2:   # usage: argparse exits before any configuration or bucket is touched
        with pytest.raises(SystemExit) as exc:
            run(env, "schedule", *argv)
        code, out, err = exc.value.code, "", capsys.readouterr().err
    else:
        code, out, err = run(env, "schedule", *argv)
    assert code == rc and out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("inspect: error: ") and message in err and "usage:" not in err
    after = store.get(keys.settings(POOL))
    assert after is not None and before is not None and after.etag == before.etag


def test_a_malformed_stored_rule_is_reported_and_can_be_removed(env: dict[str, str], store: Store) -> None:
    store.put(keys.settings(POOL), {"paused": False, "schedule": [
        {"id": "r1", "cron": "0 8 * * *", "min": 2, "max": None, "duration_s": 3600, "tz": "UTC"},
        {"id": "r2", "cron": "0 99 * * *", "min": 2, "max": None, "duration_s": 3600, "tz": "UTC"}]})
    rc, out, _ = run(env, "schedule", "list")
    assert rc == 0 and "schedule ignored by the tick: schedule[1]: invalid cron expression" in out
    assert run(env, "schedule", "add", "0 9 * * *", "--min", "3", "--duration", "1h")[0] == 0
    assert run(env, "schedule", "remove", "r2")[0] == 0
    body = stored(store)
    assert body is not None and [r["id"] for r in body["schedule"]] == ["r1", "r3"]
    assert "schedule ignored" not in run(env, "schedule", "list")[1]


def test_schedule_add_under_a_concurrent_writer_keeps_both(env: dict[str, str], store: Store) -> None:
    rival = lambda: cli.main(["set-budget", "--daily", "7"], env, out=io.StringIO(),  # noqa: E731
                             err=io.StringIO())
    racing = RacingStore(store, races=1, rival=rival)
    rc, _, err = run(env, "schedule", "add", "0 8 * * *", "--min", "2", "--duration", "1h", store=racing)
    assert (rc, err) == (0, "") and racing.puts == 2
    body = stored(store)
    assert body is not None and body["budget"]["daily"] == 7.0 and body["schedule"][0]["id"] == "r1"
