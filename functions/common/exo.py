"""The Exoscale API wrapper: the `exoscale` v2 client with timeouts and safe retries.

The package itself has neither. Reads (GET) are retried with backoff on 429/5xx and
connection errors; mutations are sent once, because the tick's intent record — not a
blind resend — decides whether a half-known scaling call needs repeating.
"""
from __future__ import annotations

from typing import Any

import requests
from exoscale.api.exceptions import (
    ExoscaleAPIAuthException,
    ExoscaleAPIClientException,
    ExoscaleAPIException,
)
from exoscale.api.v2 import Client
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .config import Config

Json = dict[str, Any]


class _TimeoutSession(requests.Session):
    """A session whose every request has a (connect, read) timeout unless one is given."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__()
        self.default_timeout = timeout

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.default_timeout)
        return super().request(*args, **kwargs)


def retry_policy(total: int = 3, backoff: float = 0.3) -> Retry:
    return Retry(
        total=total,
        connect=total,
        read=total,
        status=total,
        backoff_factor=backoff,
        backoff_max=4.0,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )


def make_client(cfg: Config, *, timeout: tuple[float, float] = (3.0, 10.0),
                retries: Retry | None = None) -> Client:
    client = Client(cfg.key, cfg.secret, url=cfg.api_url)
    session = _TimeoutSession(timeout)
    session.auth = client.http_client.auth
    adapter = HTTPAdapter(max_retries=retries or retry_policy())
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    client.http_client = session
    return client


# What a call can raise besides an answer: the package lets timeouts and dropped connections
# through as requests exceptions, so callers must catch both to fail with one clear line.
API_ERRORS: tuple[type[BaseException], ...] = (ExoscaleAPIException, requests.RequestException)


def is_refusal(exc: BaseException) -> bool:
    """A 4xx answer (quota, validation, auth): recorded, never retried.

    429 is not a refusal: it means "later", and dropping the requests would lose the action.
    """
    response = getattr(exc, "response", None)
    if getattr(response, "status_code", None) == 429:
        return False
    return isinstance(exc, (ExoscaleAPIClientException, ExoscaleAPIAuthException))


class PoolApi:
    """The few calls the handlers make, keyed on one instance pool."""

    def __init__(self, client: Client, pool_id: str) -> None:
        self.client = client
        self.pool_id = pool_id

    @classmethod
    def from_config(cls, cfg: Config) -> PoolApi:
        return cls(make_client(cfg), cfg.pool_id)

    def pool(self) -> Json:
        return self.client.get_instance_pool(id=self.pool_id)

    def members(self) -> list[Json]:
        """The pool's instances with their IPs and states: one call, never N+1."""
        answer = self.client.list_instances(manager_id=self.pool_id, manager_type="instance-pool")
        return list(answer.get("instances", []))

    def scale(self, size: int) -> Json:
        return self.client.scale_instance_pool(id=self.pool_id, size=size)

    def evict(self, instance_ids: list[str]) -> Json:
        return self.client.evict_instance_pool_members(id=self.pool_id, instances=instance_ids)
