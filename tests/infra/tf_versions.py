"""Terraform's version-constraint language, evaluated in pure Python (stable X.Y.Z releases only).

Semantics as documented at https://developer.hashicorp.com/terraform/language/expressions/version-constraints:
a comma-separated conjunction of `=`, `!=`, `>`, `>=`, `<`, `<=` and `~>` (pessimistic: `~> 1.2`
means >= 1.2.0 and < 2.0.0, `~> 1.2.3` means >= 1.2.3 and < 1.3.0); a bare version means `=`.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

Version = tuple[int, int, int]

_TERM = re.compile(r"^\s*(=|!=|>=|<=|>|<|~>)?\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?\s*$")


def parse_version(text: str) -> Version:
    m = re.fullmatch(r"v?(\d+)\.(\d+)\.(\d+)", text.strip())
    if not m:
        raise ValueError(f"not a release version: {text!r}")
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def _term_admits(term: str, v: Version) -> bool:
    m = _TERM.match(term)
    if not m:
        raise ValueError(f"not a version constraint: {term!r}")
    op = m.group(1) or "="
    given = [int(p) for p in m.group(2, 3, 4) if p is not None]
    major, minor, patch = [*given, 0, 0][:3]
    ref: Version = (major, minor, patch)
    if op == "~>":
        if len(given) == 1:
            return v >= ref  # `~> 1` allows any later version
        upper = (ref[0] + 1, 0, 0) if len(given) == 2 else (ref[0], ref[1] + 1, 0)
        return ref <= v < upper
    return {"=": v == ref, "!=": v != ref, ">": v > ref, ">=": v >= ref,
            "<": v < ref, "<=": v <= ref}[op]


def admits(constraint: str, version: str) -> bool:
    """Whether `version` satisfies every comma-separated term of `constraint`."""
    v = parse_version(version)
    return all(_term_admits(term, v) for term in constraint.split(","))


def matching(constraint: str, versions: Iterable[str]) -> list[str]:
    """The released versions a constraint admits, in the given order."""
    return [v for v in versions if admits(constraint, v)]
