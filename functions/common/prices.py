"""The price table (functions/common/prices.json): a typed, validated view and pure cost arithmetic.

Shipped with the functions artifact, so the scaler on the VM can read it as well as `./dev acceptance`.
`load()` reads the bundled table; `load(path)` an operator's own. A malformed table is one
`PriceTableError` line naming what is wrong, never a half-read table.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

DEFAULT_PATH = Path(__file__).resolve().with_name("prices.json")
SCHEMA = 1


class PriceTableError(ValueError):
    """The price table cannot be used; the message says which file and which field."""


@dataclass(frozen=True)
class Prices:
    currency: str
    source: str
    checked: dt.date
    confirmed: bool            # False: the figures could not be re-checked against the source on `checked`
    instance_hourly: Mapping[str, float]
    nlb_hourly: float
    disk_gib_hourly: float

    def instance(self, instance_type: str) -> float:
        """Hourly price of one instance of a type; a type the table lacks is an error, not zero."""
        try:
            return self.instance_hourly[instance_type]
        except KeyError:
            known = ", ".join(sorted(self.instance_hourly))
            raise PriceTableError(f"no price for instance type {instance_type!r} (known: {known})") from None


def _price(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise PriceTableError(f"{where} must be a non-negative number, got {value!r}")
    return float(value)


def parse(doc: Any, origin: str = "price table") -> Prices:
    """Pure: a decoded prices.json document → Prices."""
    try:
        if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
            raise PriceTableError(f"schema must be {SCHEMA}")
        hourly = doc["hourly"]
        instances = hourly["instance"]
        if not isinstance(instances, dict) or not instances:
            raise PriceTableError("hourly.instance must map instance types to prices")
        checked = dt.date.fromisoformat(str(doc["checked"]))
        if not isinstance(doc["confirmed"], bool):
            raise PriceTableError("confirmed must be true or false")
        return Prices(
            currency=str(doc["currency"]), source=str(doc["source"]), checked=checked,
            confirmed=doc["confirmed"],
            instance_hourly=MappingProxyType({str(k): _price(v, f"hourly.instance.{k}") for k, v in instances.items()}),
            nlb_hourly=_price(hourly["nlb"], "hourly.nlb"),
            disk_gib_hourly=_price(hourly["disk_gib"], "hourly.disk_gib"),
        )
    except PriceTableError as exc:
        raise PriceTableError(f"{origin}: {exc}") from None
    except KeyError as exc:
        raise PriceTableError(f"{origin}: missing field {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        raise PriceTableError(f"{origin}: {exc}") from None


def load(path: Path | str | None = None) -> Prices:
    """Read and validate a price table (the bundled one by default)."""
    source = Path(path) if path is not None else DEFAULT_PATH
    try:
        doc = json.loads(source.read_text())
    except OSError as exc:
        raise PriceTableError(f"{source}: cannot read ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise PriceTableError(f"{source}: not JSON ({exc.msg} at line {exc.lineno})") from None
    return parse(doc, str(source))


def instance_cost(prices: Prices, instance_type: str, instances: float, seconds: float) -> float:
    """Cost of `instances` instances of a type kept for `seconds` (billed by the second)."""
    return prices.instance(instance_type) * instances * seconds / 3600.0

