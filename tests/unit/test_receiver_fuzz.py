"""Hostile input for the receiver: property-based fuzzing of /webhook and raw HTTP garbage.

The property: whatever arrives, the answer is one of the documented statuses, always JSON from
the app, never a 500, and the server keeps serving afterwards.
"""
from __future__ import annotations

import copy
import json
import socket
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from functions.common import config
from functions.common.store import Store
from functions.scaler.receiver import server as receiver
from tests.unit.test_receiver import TOKEN, Served, bearer, call

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DOCUMENTED = {200, 202, 400, 401, 413, 415}
FUZZ = settings(max_examples=300, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=5),
    max_leaves=30)
BASES = [json.loads((FIXTURES / f"{name}.json").read_text()) for name in
         ("grafana_firing_up", "grafana_mixed", "alertmanager_mixed", "grafana_nodata")]


@pytest.fixture(scope="module")
def fuzz_app(moto_endpoint: str) -> Any:
    # One bucket and app for the module: hypothesis runs many examples per test.
    from tests.conftest import create_bucket, handler_env
    name = f"fuzz-{uuid.uuid4().hex[:12]}"
    create_bucket(moto_endpoint, name)
    cfg = config.load(handler_env(moto_endpoint, name, SCALER_TOKEN=TOKEN))
    return receiver.make_app(cfg, Store.from_config(cfg), lambda: 1_700_000_000.0)


def post(app: Any, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    status, _, answer = call(app, "POST", "/webhook", body, bearer() if headers is None else headers)
    assert status in DOCUMENTED, (status, answer)
    assert isinstance(answer, dict)
    return status, answer


@FUZZ
@given(doc=json_values)
def test_random_json(fuzz_app: Any, doc: Any) -> None:
    status, _ = post(fuzz_app, json.dumps(doc).encode())
    assert status in (200, 400)  # random JSON never holds a scale alert


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    """A documented payload with one field, at any depth, replaced by random JSON."""
    doc = copy.deepcopy(draw(st.sampled_from(BASES)))
    paths: list[list[Any]] = []

    def walk(node: Any, path: list[Any]) -> None:
        paths.append(path)
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, [*path, key])
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, [*path, i])

    walk(doc, [])
    path = draw(st.sampled_from(paths[1:]))
    target = doc
    for step in path[:-1]:
        target = target[step]
    if draw(st.booleans()):
        target[path[-1]] = draw(json_values)
    elif isinstance(target, dict):
        del target[path[-1]]
    else:
        target[path[-1]] = draw(json_values)
    return doc


@FUZZ
@given(doc=mutated())
def test_wrong_types_anywhere(fuzz_app: Any, doc: Any) -> None:
    status, answer = post(fuzz_app, json.dumps(doc).encode())
    if status == 400:
        assert answer["error"]
    else:
        assert status in (200, 202) and isinstance(answer["stored"], list)


@FUZZ
@given(raw=st.binary(max_size=2000))
def test_random_bytes(fuzz_app: Any, raw: bytes) -> None:
    assume(raw.strip() != b"")
    post(fuzz_app, raw)


@FUZZ
@given(base=st.sampled_from(BASES), cut=st.integers(min_value=0), junk=st.binary(min_size=1,
                                                                                  max_size=4))
def test_invalid_utf8_and_truncation(fuzz_app: Any, base: Any, cut: int, junk: bytes) -> None:
    raw = json.dumps(base, ensure_ascii=False).encode()
    cut = cut % len(raw)
    status, _ = post(fuzz_app, raw[:cut] + b"\xc3\x28" + junk + raw[cut:])
    assert status == 400


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(depth=st.integers(min_value=33, max_value=200_000), opener=st.sampled_from(["[", '{"a":']),
       where=st.sampled_from(["top", "labels", "extra"]))
def test_deep_nesting(fuzz_app: Any, depth: int, opener: str, where: str) -> None:
    closer = "]" if opener == "[" else "}"
    nest = opener * depth + "1" + closer * depth
    body = {"top": nest,
            "labels": '{"alerts": [{"status": "firing", "labels": ' + nest + "}]}",
            "extra": '{"alerts": [], "x": ' + nest + "}"}[where]
    raw = body.encode()
    if len(raw) > receiver.BODY_LIMIT:
        assert post(fuzz_app, raw)[0] == 413
    else:
        status, _answer = post(fuzz_app, raw)
        assert status == 400


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(count=st.integers(min_value=0, max_value=60_000),
       item=st.sampled_from(["0", "{}", "[]", '"x"', 'null',
                             '{"status":"resolved","labels":{}}']))
def test_huge_arrays(fuzz_app: Any, count: int, item: str) -> None:
    raw = ('{"alerts": [' + ",".join([item] * count) + "]}").encode()
    status, _ = post(fuzz_app, raw)
    if len(raw) > receiver.BODY_LIMIT:
        assert status == 413
    elif count == 0 or (item.startswith('{"status"') and count <= 1000):
        assert status == 200
    else:
        assert status == 400


@settings(max_examples=20, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(extra=st.integers(min_value=1, max_value=4 * 1024 * 1024), declared=st.booleans())
def test_oversized_bodies(fuzz_app: Any, extra: int, declared: bool) -> None:
    import io
    raw = b" " * (receiver.BODY_LIMIT + extra)
    headers = bearer()
    if declared:
        status, _, answer = call(fuzz_app, "POST", "/webhook", raw, headers)
    else:
        headers["Transfer-Encoding"] = "chunked"
        status, _, answer = call(fuzz_app, "POST", "/webhook", None, headers,
                                 stream=io.BytesIO(raw), length=None)
    assert status == 413 and answer["error"]


@FUZZ
@given(auth=st.text(max_size=60).map(lambda s: s.encode("utf-8").decode("latin-1")),
       path=st.sampled_from(["/webhook", "/up", "/down", "/status"]),
       method=st.sampled_from(["GET", "POST"]))
def test_wrong_tokens(fuzz_app: Any, auth: str, path: str, method: str) -> None:
    assume(auth.strip() != f"Bearer {TOKEN}")
    status, _, answer = call(fuzz_app, method, path, b"{}", {"Authorization": auth})
    assert status in (401, 405), answer


@FUZZ
@given(ctype=st.text(max_size=40).map(lambda s: s.encode("utf-8").decode("latin-1")),
       length=st.text(max_size=12))
def test_odd_headers(fuzz_app: Any, ctype: str, length: str) -> None:
    headers = {**bearer(), "Content-Type": ctype}
    status, _, answer = call(fuzz_app, "POST", "/webhook", b'{"alerts": []}', headers,
                             length=length)
    assert status in DOCUMENTED and isinstance(answer, dict)


# ---------------------------------------------------------------------------- raw HTTP


@pytest.fixture(scope="module")
def live(fuzz_app: Any) -> Any:
    srv = Served(fuzz_app)
    yield srv
    srv.stop()


def raw_exchange(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            out = b""
            while chunk := sock.recv(65536):
                out += chunk
            return out
        except OSError:  # a reset on garbage is a fine answer too
            return b""


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=600) | st.builds(
    lambda head, body: b"POST /webhook HTTP/1.1\r\nHost: x\r\n" + head + b"\r\n\r\n" + body,
    st.binary(max_size=200), st.binary(max_size=200)))
def test_raw_garbage_never_takes_the_server_down(live: Any, data: bytes) -> None:
    answer = raw_exchange(live.port, data)
    if answer:
        assert not answer.startswith(b"HTTP/1.1 500"), answer[:300]
    assert live.request("GET", "/healthz", timeout=5)[0] == 200
