"""The bundled Exoscale openapi.json as JSON Schema: loading, OpenAPI 3.0 adaptation, validators.

OpenAPI 3.0 schemas are close to JSON Schema draft 4 (boolean exclusiveMinimum/Maximum,
siblings of `$ref` ignored) but add `nullable`. We rewrite `nullable: true` into a
`"null"` type and validate with Draft4Validator against a registry holding the whole
document, so `$ref: "#/components/schemas/..."` resolves exactly as in the spec.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import ipaddress
import json
import uuid
from pathlib import Path
from typing import Any

import exoscale
import jsonschema
import referencing
from referencing.jsonschema import DRAFT4

SPEC_PATH = Path(exoscale.__file__).parent / "openapi.json"
SPEC_URI = "urn:exoscale:openapi"


@functools.lru_cache(maxsize=1)
def load_spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text())


def adapt(node: Any, *, strict: bool = False) -> Any:
    """Return a JSON Schema draft 4 copy of an OpenAPI 3.0 schema tree.

    strict=True also forbids properties the spec does not declare, which catches a
    misspelt key in an emulator response (the spec itself allows any extra key).
    """
    if isinstance(node, list):
        return [adapt(n, strict=strict) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: adapt(v, strict=strict) for k, v in node.items()}
    if out.pop("nullable", False) is True:
        if "$ref" in out:
            # A $ref ignores its siblings in draft 4, so wrap it to make null acceptable.
            out = {"anyOf": [{"$ref": out.pop("$ref")}, {"type": "null"}], **out}
        elif "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*types, "null"] if "null" not in types else types
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    if strict and "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def _is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        # fromisoformat in 3.11 accepts the RFC 3339 'Z' suffix; require a time part and zone.
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return "T" in value and parsed.tzinfo is not None


def _is_ipv4(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        ipaddress.IPv4Address(value)
        return True
    except ValueError:
        return False


FORMAT_CHECKER = jsonschema.FormatChecker(formats=())
FORMAT_CHECKER.checks("uuid")(_is_uuid)
FORMAT_CHECKER.checks("date-time")(_is_date_time)
FORMAT_CHECKER.checks("ipv4")(_is_ipv4)


@functools.lru_cache(maxsize=2)
def _registry(strict: bool) -> referencing.Registry:
    resource = DRAFT4.create_resource(adapt(load_spec(), strict=strict))
    return referencing.Registry().with_resource(SPEC_URI, resource)


def validator(schema: dict[str, Any], *, strict: bool = False) -> jsonschema.Draft4Validator:
    """A validator for an OpenAPI schema fragment whose `$ref`s point into the bundled spec."""
    local = adapt(copy.deepcopy(schema), strict=strict)
    # Relative '#/components/...' refs must resolve against the spec, not the fragment.
    local = _rebase_refs(local)
    return jsonschema.Draft4Validator(local, registry=_registry(strict), format_checker=FORMAT_CHECKER)


def _rebase_refs(node: Any) -> Any:
    if isinstance(node, list):
        return [_rebase_refs(n) for n in node]
    if isinstance(node, dict):
        return {k: (SPEC_URI + v if k == "$ref" and isinstance(v, str) and v.startswith("#") else _rebase_refs(v))
                for k, v in node.items()}
    return node


def component_validator(name: str, *, strict: bool = False) -> jsonschema.Draft4Validator:
    return validator({"$ref": f"#/components/schemas/{name}"}, strict=strict)


def operations() -> dict[str, dict[str, Any]]:
    """operationId -> {"verb", "path", "operation"} for every operation in the spec."""
    out: dict[str, dict[str, Any]] = {}
    for path, item in load_spec()["paths"].items():
        for verb, op in item.items():
            out[op["operationId"]] = {"verb": verb.upper(), "path": path, "operation": op}
    return out


def response_validator(operation_id: str, status: str = "200", *, strict: bool = False) -> jsonschema.Draft4Validator:
    op = operations()[operation_id]["operation"]
    return validator(op["responses"][status]["content"]["application/json"]["schema"], strict=strict)


def request_body_validator(operation_id: str) -> jsonschema.Draft4Validator | None:
    """Strict validator for an operation's JSON body: unknown keys are rejected like bad types."""
    op = operations()[operation_id]["operation"]
    body = op.get("requestBody")
    if body is None:
        return None
    return validator(body["content"]["application/json"]["schema"], strict=True)
