"""Strict readers for JSON objects stored in the bucket: one clear error per wrong field.

The one way stored records are read (the scaler state, history and requests, the operator's budget
and schedule rules): a field of the wrong type, a missing required field or a field nobody knows
is a `ShapeError` naming where it is, never a silently guessed value; a record of another schema
version is a `SchemaError`.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class ShapeError(ValueError):
    """A stored object is not of the shape this code reads."""


class SchemaError(ShapeError):
    """A stored object has another schema version than the one this code reads and writes."""


def require_schema(body: Any, version: int, where: str) -> None:
    """SchemaError unless `body` is an object of schema `version`, the one this code reads."""
    schema = body.get("schema") if isinstance(body, dict) else None
    if schema != version:
        raise SchemaError(f"{where}: schema {schema!r}, this code reads only {version}")


class Fields:
    """Reads the fields of one JSON object; `done()` refuses the fields nobody read."""

    def __init__(self, body: Any, where: str) -> None:
        if not isinstance(body, dict):
            raise ShapeError(f"{where}: not a JSON object")
        self.body, self.where, self.seen = body, where, {"schema"}

    def _get(self, name: str) -> Any:
        self.seen.add(name)
        return self.body.get(name)  # None when absent or null

    def _required(self, name: str, value: T | None) -> T:
        if value is None:
            raise ShapeError(f"{self.where}: missing {name!r}")
        return value

    def _bad(self, name: str, expect: str) -> ShapeError:
        return ShapeError(f"{self.where}: {name!r} must be {expect}, got {self.body[name]!r:.60}")

    def number(self, name: str, low: float | None = None) -> float:
        return self._required(name, self.opt_number(name, low))

    def opt_number(self, name: str, low: float | None = None) -> float | None:
        value = self._get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or (low is not None and value < low):
            raise self._bad(name, "a finite number" + ("" if low is None else f" >= {low:g}"))
        return float(value)

    def integer(self, name: str, default: int | None = None, low: int | None = None) -> int:
        value = self.opt_integer(name, low)
        return self._required(name, default if value is None else value)

    def opt_integer(self, name: str, low: int | None = None) -> int | None:
        value = self._get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or (low is not None and value < low):
            raise self._bad(name, "an integer" + ("" if low is None else f" >= {low}"))
        return value

    def text(self, name: str) -> str:
        return self._required(name, self.opt_text(name))

    def opt_text(self, name: str) -> str | None:
        value = self._get(name)
        if value is not None and not isinstance(value, str):
            raise self._bad(name, "a string")
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        value = self._get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self._bad(name, "true or false")
        return value

    def choice(self, name: str, parse: Callable[[str], T]) -> T:
        raw = self.text(name)
        try:
            return parse(raw)
        except ValueError:
            raise self._bad(name, "a known value") from None

    def strs(self, name: str) -> tuple[str, ...]:
        value = self._get(name)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._bad(name, "a list of strings")
        return tuple(value)

    def items(self, name: str) -> list[Any]:
        value = self._get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._bad(name, "a list")
        return value

    def obj(self, name: str, parse: Callable[[Fields], T]) -> T | None:
        value = self._get(name)
        if value is None:
            return None
        inner = Fields(value, f"{self.where}.{name}")
        result = parse(inner)
        inner.done()
        return result

    def done(self) -> None:
        unknown = sorted(set(self.body) - self.seen)
        if unknown:
            raise ShapeError(f"{self.where}: unknown field(s) {', '.join(map(repr, unknown))}")
