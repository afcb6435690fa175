"""EXO2-HMAC-SHA256: the pure verifier against the real signer, and 403s over HTTP."""

from __future__ import annotations

import json
import time

import pytest
import requests
from exoscale.api.exceptions import ExoscaleAPIAuthException
from exoscale.api.v2 import Client
from exoscale_auth import ExoscaleV2Auth

from sandbox.emulator import signature
from sandbox.emulator.signature import MalformedHeader, parse_header, sign, verify

from .emulator_kit import KEY, SECRET, raw_request

NOW = 1_700_000_000


def _real_signed(method: str, url: str, body: object = None, params: dict | None = None) -> requests.PreparedRequest:
    req = requests.Request(method, url, json=body, params=params).prepare()
    ExoscaleV2Auth(KEY, SECRET)._sign_request(req, NOW + 600)
    return req


def _verify_prepared(req: requests.PreparedRequest, **override: object) -> signature.SignatureCheck:
    path, _, query = req.path_url.partition("?")
    args = {"key": KEY, "secret": SECRET, "method": req.method, "path": path, "query_string": query,
                "body": req.body or b"", "authorization": req.headers["Authorization"], "now": NOW}
    args.update(override)
    return verify(**args)


def test_real_client_signature_verifies() -> None:
    req = _real_signed("PUT", "http://127.0.0.1/v2/instance-pool/abc:scale", body={"size": 3})
    assert _verify_prepared(req).ok


def test_real_client_signature_with_query_verifies() -> None:
    req = _real_signed("GET", "http://127.0.0.1/v2/instance",
                       params={"manager-type": "instance-pool", "manager-id": "abc def"})
    assert "signed-query-args=manager-id;manager-type" in req.headers["Authorization"]
    assert _verify_prepared(req).ok


@pytest.mark.parametrize("field,override", [
    ("method", {"method": "POST"}),
    ("path", {"path": "/v2/instance-pool/abd:scale"}),
    ("body", {"body": b'{"size": 30}'}),
    ("signed query value", {"query_string": "manager-id=other&manager-type=instance-pool"}),
    ("added query argument", {"query_string": "manager-id=abc&manager-type=instance-pool&ip-address=1"}),
    ("dropped query argument", {"query_string": "manager-type=instance-pool"}),
    ("key", {"key": "EXOother"}),
    ("secret", {"secret": "other"}),
    ("expired", {"now": NOW + 601}),
])
def test_each_tampered_field_is_refused(field: str, override: dict) -> None:
    req = _real_signed("PUT", "http://127.0.0.1/v2/instance-pool/abc:scale", body={"size": 3},
                       params={"manager-id": "abc", "manager-type": "instance-pool"})
    assert _verify_prepared(req).ok, "baseline must verify"
    verdict = _verify_prepared(req, **override)
    assert not verdict.ok, field


def test_tampered_expiry_in_header_is_refused() -> None:
    req = _real_signed("GET", "http://127.0.0.1/v2/instance-pool")
    header = req.headers["Authorization"].replace(f"expires={NOW + 600}", f"expires={NOW + 9999}")
    assert not _verify_prepared(req, authorization=header).ok


@pytest.mark.parametrize("header", [
    None, "", "Bearer x", "EXO2-HMAC-SHA256", "EXO2-HMAC-SHA256 credential=k",
    "EXO2-HMAC-SHA256 credential=k,expires=soon,signature=x",
    "EXO2-HMAC-SHA256 credential=k,expires=1,signature=x,extra=1",
    "EXO2-HMAC-SHA256 credential=k,credential=k,expires=1,signature=x",
])
def test_malformed_headers(header: str | None) -> None:
    with pytest.raises(MalformedHeader):
        parse_header(header)
    assert not verify(key=KEY, secret=SECRET, method="GET", path="/v2/x", query_string="", body=b"",
                      authorization=header, now=NOW).ok


def test_own_signer_matches_real_signer() -> None:
    req = _real_signed("GET", "http://127.0.0.1/v2/instance", params={"manager-id": "a", "manager-type": "b"})
    ours = sign(KEY, SECRET, "GET", "/v2/instance", b"", "manager-id=a&manager-type=b", NOW + 600)
    assert ours == req.headers["Authorization"]


# ---- over HTTP ------------------------------------------------------------------------

def test_real_client_is_accepted(client: Client, pool_id: str) -> None:
    assert client.get_instance_pool(id=pool_id)["id"] == pool_id


@pytest.mark.parametrize("key,secret", [(KEY, "wrong"), ("EXOwrong", SECRET)])
def test_wrong_credentials_raise_auth_error(emu, pool_id: str, key: str, secret: str) -> None:
    with pytest.raises(ExoscaleAPIAuthException):
        Client(key, secret, url=emu.url).get_instance_pool(id=pool_id)


def _tampered_cases(pool: str) -> list[tuple[str, dict]]:
    path = f"/v2/instance-pool/{pool}:scale"
    body = json.dumps({"size": 3}).encode()
    good = sign(KEY, SECRET, "PUT", path, body, "", int(time.time()) + 600)
    return [
        ("method", {"method": "POST", "path": path, "body": body, "authorization": good}),
        ("path", {"method": "PUT", "path": f"/v2/instance-pool/{pool}:evict", "body": body, "authorization": good}),
        ("body", {"method": "PUT", "path": path, "body": b'{"size": 9}', "authorization": good}),
        ("expired", {"method": "PUT", "path": path, "body": body, "expires": int(time.time()) - 1}),
        ("unsigned query", {"method": "PUT", "path": path, "body": body, "query": "x=1", "authorization": good}),
        ("missing header", {"method": "PUT", "path": path, "body": body, "signed": False}),
    ]


def test_tampered_requests_get_403_and_change_nothing(emu, pool_id: str) -> None:
    for name, kwargs in _tampered_cases(pool_id):
        resp = raw_request(emu, **kwargs)
        assert resp.status == 403, name
        assert "message" in resp.body
    assert emu.operations() == []
    assert emu.model.get_pool(pool_id).size == 2


def test_tampered_signed_query_value_gets_403(emu, pool_id: str) -> None:
    good = sign(KEY, SECRET, "GET", "/v2/instance", b"", f"manager-id={pool_id}", int(time.time()) + 600)
    other = "00000000-0000-4000-8000-000000000000"
    assert raw_request(emu, "GET", "/v2/instance", query=f"manager-id={pool_id}", authorization=good).status == 200
    assert raw_request(emu, "GET", "/v2/instance", query=f"manager-id={other}", authorization=good).status == 403


def test_correctly_signed_raw_request_succeeds(emu, pool_id: str) -> None:
    resp = raw_request(emu, "PUT", f"/v2/instance-pool/{pool_id}:scale", body=b'{"size": 3}')
    assert resp.status == 200 and resp.body["state"] == "pending"
