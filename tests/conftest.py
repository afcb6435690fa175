"""Shared fixtures: a real moto S3 server on loopback, fresh buckets, handler environments."""
from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer

from functions.common import config
from functions.common.store import Store

ZONE = "at-vie-1"
KEY = "EXOtestkey0123456789abcdef"
SECRET = "test-secret-not-real"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A real S3 protocol server (moto) for the whole session."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def create_bucket(endpoint: str, name: str) -> None:
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=ZONE,
                      aws_access_key_id=KEY, aws_secret_access_key=SECRET)
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": ZONE})


def handler_env(endpoint: str, bucket: str, **extra: str) -> dict[str, str]:
    """The environment a handler process gets, pointing at moto (and optionally an emulator)."""
    env = {
        "EXOSCALE_KEY": KEY,
        "EXOSCALE_SECRET": SECRET,
        "EXOSCALE_ZONE": ZONE,
        "INSTANCEPOOL_ID": str(uuid.UUID(int=1)),
        "SOS_BUCKET": bucket,
        "SOS_ENDPOINT": endpoint,
        "TEXTFILE_DIR": "",
    }
    env.update(extra)
    return env


@pytest.fixture
def bucket(moto_endpoint: str) -> str:
    name = f"test-{uuid.uuid4().hex[:12]}"
    create_bucket(moto_endpoint, name)
    return name


@pytest.fixture
def env(moto_endpoint: str, bucket: str) -> dict[str, str]:
    return handler_env(moto_endpoint, bucket)


@pytest.fixture
def cfg(env: dict[str, str]) -> config.Config:
    return config.load(env)


@pytest.fixture
def store(cfg: config.Config) -> Store:
    return Store.from_config(cfg)


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    # Never let boto3 pick up a developer's real credentials or config.
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
