"""Exoscale v2 API semantics: route matching from the spec, parameter and body validation,
and dispatch of the emulated operations onto the model. No sockets here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

import jsonschema

from . import render, spec
from .entities import ModelError
from .model import Model

API_PREFIX = "/v2"

# Listed only (for ./dev acceptance): objects kept in inventory.Inventory, keyed by response field.
LISTED = {
    "list-load-balancers": "load-balancers",
    "list-security-groups": "security-groups",
    "list-iam-roles": "iam-roles",
    "list-api-keys": "api-keys",
    "list-ssh-keys": "ssh-keys",
}

EMULATED = (
    *LISTED,
    "get-instance-pool",
    "list-instance-pools",
    "scale-instance-pool",
    "evict-instance-pool-members",
    "list-instances",
    "get-instance",
    "get-operation",
)
MUTATIONS = ("scale-instance-pool", "evict-instance-pool-members")


@dataclass(frozen=True)
class Route:
    operation_id: str
    verb: str
    pattern: re.Pattern[str]
    path_params: dict[str, jsonschema.Draft4Validator]
    query_params: dict[str, tuple[bool, jsonschema.Draft4Validator]]  # name -> (required, validator)
    body: jsonschema.Draft4Validator | None


@dataclass(frozen=True)
class Response:
    status: int
    body: dict[str, Any]


def _compile(path: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", path)
    # A path parameter stops at ':' so "/instance-pool/{id}" never swallows ":scale".
    regex = "".join(f"(?P<{p[1:-1].replace('-', '_')}>[^/:]+)" if p.startswith("{") else re.escape(p)
                    for p in parts)
    return re.compile(f"^{re.escape(API_PREFIX)}{regex}$")


class Router:
    """Every path of the spec, so the request log can name any operation and only the
    non-emulated ones answer 501."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        for op_id, entry in spec.operations().items():
            op = entry["operation"] if op_id in EMULATED else {}
            path_params: dict[str, jsonschema.Draft4Validator] = {}
            query_params: dict[str, tuple[bool, jsonschema.Draft4Validator]] = {}
            for param in op.get("parameters", []):
                v = spec.validator(param.get("schema", {}))
                if param["in"] == "path":
                    path_params[param["name"]] = v
                elif param["in"] == "query":
                    query_params[param["name"]] = (bool(param.get("required")), v)
            body = spec.request_body_validator(op_id) if op_id in EMULATED else None
            # Non-emulated routes keep no validators: they only need to be recognised (501).
            self.routes.append(Route(op_id, entry["verb"], _compile(entry["path"]), path_params, query_params, body))

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str]]:
        for route in self.routes:
            if route.verb != method:
                continue
            m = route.pattern.match(path)
            if m:
                groups = m.groupdict()
                names = {n.replace("-", "_"): n for n in route.path_params}
                return route, {names.get(k, k): unquote(v) for k, v in groups.items()}
        return None, {}


class BadRequest(Exception):
    pass


def _first_error(validator: jsonschema.Draft4Validator, value: Any) -> str | None:
    err = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if err is None:
        return None
    where = "/".join(str(p) for p in err.absolute_path)
    return f"{where}: {err.message}" if where else err.message


def parse_request(route: Route, path_params: dict[str, str], query_string: str,
                  body: bytes) -> tuple[dict[str, str], dict[str, Any] | None]:
    """Validate parameters and body against the spec; return (parameters, json body)."""
    for name, value in path_params.items():
        if name not in route.path_params:
            continue
        problem = _first_error(route.path_params[name], value)
        if problem:
            raise BadRequest(f"invalid path parameter {name!r}: {problem}")
    query = parse_qs(query_string, keep_blank_values=True)
    unknown = sorted(set(query) - set(route.query_params))
    if unknown:
        raise BadRequest(f"unknown query parameters: {', '.join(unknown)}")
    params = dict(path_params)
    for name, (required, validator) in route.query_params.items():
        if name not in query:
            if required:
                raise BadRequest(f"missing query parameter {name!r}")
            continue
        if len(query[name]) != 1:
            raise BadRequest(f"query parameter {name!r} given more than once")
        problem = _first_error(validator, query[name][0])
        if problem:
            raise BadRequest(f"invalid query parameter {name!r}: {problem}")
        params[name] = query[name][0]
    if route.body is None:
        return params, None
    if not body.strip():
        raise BadRequest("request body is required")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("request body is not valid JSON") from None
    problem = _first_error(route.body, payload)
    if problem:
        raise BadRequest(f"invalid request body: {problem}")
    return params, payload


Handler = Callable[[Model, dict[str, str], Any, bool], dict[str, Any]]


def _zone(model: Model, pool_id: str) -> str:
    try:
        return model.get_pool(pool_id).zone
    except ModelError:
        return "at-vie-1"  # the member outlived its pool record; any valid zone will do


def _get_pool(model: Model, p: dict[str, str], _b: Any, _s: bool) -> dict[str, Any]:
    return render.pool(model.get_pool(p["id"]))


def _list_pools(model: Model, _p: dict[str, str], _b: Any, _s: bool) -> dict[str, Any]:
    return {"instance-pools": [render.pool(pl) for pl in model.list_pools()]}


def _scale(model: Model, p: dict[str, str], b: Any, stuck: bool) -> dict[str, Any]:
    return render.operation(model.scale(p["id"], b["size"], stuck=stuck), model.clock())


def _evict(model: Model, p: dict[str, str], b: Any, stuck: bool) -> dict[str, Any]:
    if "instances" not in b:
        raise BadRequest("invalid request body: 'instances' is a required property")
    return render.operation(model.evict(p["id"], b["instances"], stuck=stuck), model.clock())


def _list_instances(model: Model, p: dict[str, str], _b: Any, _s: bool) -> dict[str, Any]:
    if "labels" in p:
        raise ModelError(501, "the labels filter is not emulated")
    # manager-type only has the value "instance-pool", and every emulated instance has that manager.
    found = model.list_instances(manager_id=p.get("manager-id"), ip_address=p.get("ip-address"))
    listed = [render.instance(i, _zone(model, i.pool_id), listing=True) for i in found]
    if "manager-id" not in p and "ip-address" not in p:
        # standalone instances (no manager) only appear in an unfiltered listing
        listed += model.inventory.listing("instances", model.clock())
    return {"instances": listed}


def _get_instance(model: Model, p: dict[str, str], _b: Any, _s: bool) -> dict[str, Any]:
    inst = model.get_instance(p["id"])
    return render.instance(inst, _zone(model, inst.pool_id))


def _get_operation(model: Model, p: dict[str, str], _b: Any, _s: bool) -> dict[str, Any]:
    return render.operation(model.get_operation(p["id"]), model.clock())


def _listed(kind: str) -> Handler:
    def handler(model: Model, _p: dict[str, str], _b: Any, _s: bool) -> dict[str, Any]:
        return {kind: model.inventory.listing(kind, model.clock())}
    return handler


HANDLERS: dict[str, Handler] = {
    **{op: _listed(kind) for op, kind in LISTED.items()},
    "get-instance-pool": _get_pool,
    "list-instance-pools": _list_pools,
    "scale-instance-pool": _scale,
    "evict-instance-pool-members": _evict,
    "list-instances": _list_instances,
    "get-instance": _get_instance,
    "get-operation": _get_operation,
}


def serve(model: Model, route: Route, path_params: dict[str, str], query_string: str, body: bytes,
          *, stuck: bool = False) -> Response:
    """Answer one authenticated, fault-free API call."""
    handler = HANDLERS.get(route.operation_id)
    if handler is None:
        return Response(501, render.error(f"operation {route.operation_id} is not emulated"))
    try:
        params, payload = parse_request(route, path_params, query_string, body)
        return Response(200, handler(model, params, payload, stuck))
    except BadRequest as exc:
        return Response(400, render.error(str(exc)))
    except ModelError as exc:
        return Response(exc.status, render.error(exc.message))
