"""The price table: the bundled file loads, every way of breaking it is one clear error, costs are pure."""
from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from functions.common import prices
from functions.common.prices import PriceTableError

BUNDLED = json.loads(prices.DEFAULT_PATH.read_text())


def test_bundled_table_loads_with_its_date_source_and_status() -> None:
    table = prices.load()
    assert table.currency == "EUR" and table.source.startswith("https://www.exoscale.com/pricing")
    assert table.checked == dt.date(2026, 11, 28) and table.confirmed is False
    # the types terraform deploys by default have a price
    variables = (Path(__file__).resolve().parents[2] / "terraform" / "variables.tf").read_text()
    for kind in ("standard.tiny", "standard.small"):
        assert f'default     = "{kind}"' in variables
        assert table.instance(kind) > 0


def mutated(change: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BUNDLED)
    change(doc)
    return doc


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.pop("currency"), "missing field 'currency'"),
    (lambda d: d.update(schema=2), "schema must be 1"),
    (lambda d: d["hourly"].pop("nlb"), "missing field 'nlb'"),
    (lambda d: d["hourly"]["instance"].update({"standard.tiny": -1}), "hourly.instance.standard.tiny must be"),
    (lambda d: d["hourly"]["instance"].update({"standard.tiny": "0.01"}), "must be a non-negative number"),
    (lambda d: d["hourly"].update(instance={}), "hourly.instance must map"),
    (lambda d: d.update(checked="yesterday"), "Invalid isoformat"),
    (lambda d: d.update(confirmed="no"), "confirmed must be true or false"),
    (lambda d: d["hourly"].update(disk_gib=True), "hourly.disk_gib must be"),
])
def test_a_malformed_table_is_one_clear_error(change: Any, message: str) -> None:
    with pytest.raises(PriceTableError) as info:
        prices.parse(mutated(change), "my-prices.json")
    text = str(info.value)
    assert text.startswith("my-prices.json: ") and message in text and "\n" not in text


def test_unreadable_or_non_json_files_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(PriceTableError, match="cannot read"):
        prices.load(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(PriceTableError, match=r"broken.json: not JSON"):
        prices.load(broken)


def test_an_operator_table_replaces_the_bundled_one(tmp_path: Path) -> None:
    own = tmp_path / "prices.json"
    own.write_text(json.dumps(mutated(lambda d: d.update(currency="CHF"))))
    assert prices.load(own).currency == "CHF"


def test_costs_are_hourly_prices_prorated_by_the_second() -> None:
    table = prices.parse(mutated(lambda d: d["hourly"].update(
        instance={"a": 0.36, "b": 1.0}, nlb=0.72, disk_gib=0.0036)))
    assert prices.instance_cost(table, "a", 2, 1800) == pytest.approx(0.36)
    with pytest.raises(PriceTableError, match="no price for instance type 'c'"):
        prices.instance_cost(table, "c", 1, 1)
    with pytest.raises(TypeError):
        table.instance_hourly["a"] = 0  # type: ignore[index]  # read-only mapping: a loaded table cannot drift
