"""The SOS state store: JSON objects in one bucket, with conditional writes.

A thin shell over boto3. Every object carries a `schema` field; compare-and-swap
uses ETags (IfMatch / IfNoneMatch), which SOS honours since 2025-08. Many objects are read
by a bounded pool of threads and deleted 1000 per request (S3 DeleteObjects; SOS allows 1000
per delete-objects operation: https://community.exoscale.com/documentation/storage/simple-object-storage-overview/),
so a backlog costs round trips by the batch, not by the object.
"""
from __future__ import annotations

import base64
import concurrent.futures as futures
import contextlib
import hashlib
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from . import keys
from .config import Config

log = logging.getLogger(__name__)

Json = dict[str, Any]


class StoreError(RuntimeError):
    """SOS could not be read or written (outage, credentials, missing bucket)."""


class Conflict(StoreError):
    """A conditional write lost: somebody else wrote first (HTTP 412 or 409)."""


@dataclass(frozen=True)
class Stored:
    key: str
    body: Json | None  # None when the object is not valid JSON of our shape
    etag: str
    error: str | None = None


DELETE_BATCH = 1000   # the most keys one DeleteObjects request may name (S3 and SOS)
READ_WORKERS = 16     # concurrent GETs when reading many objects


def _content_md5(request: Any, **_: Any) -> None:
    """Give DeleteObjects the Content-MD5 header the S3 API requires for it.

    botocore >= 1.36 sends a CRC32 checksum there instead, which several S3-compatible stores
    refuse with MissingContentMD5 (e.g. s3fs-fuse/s3fs-fuse#2639, cubefs/cubefs#3813); S3
    accepts both. The MD5 is an integrity check here, not a security one.
    """
    body = request.body
    if isinstance(body, bytes) and "Content-MD5" not in request.headers:
        digest = hashlib.md5(body, usedforsecurity=False).digest()
        request.headers["Content-MD5"] = base64.b64encode(digest).decode()


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def encode(body: Json) -> bytes:
    return json.dumps({"schema": keys.SCHEMA, **body}, sort_keys=True, separators=(",", ":")).encode()


def decode(raw: bytes) -> Json:
    body = json.loads(raw)
    if not isinstance(body, dict):
        raise ValueError("not a JSON object")
    return body


class Store:
    """JSON objects in one bucket. Raises StoreError on I/O failures, Conflict on lost races."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3 = s3
        self.bucket = bucket

    @classmethod
    def from_config(cls, cfg: Config, *, connect_timeout: float = 2.0, read_timeout: float = 4.0,
                    attempts: int = 2, pool_connections: int = 10) -> Store:
        """The store over a boto3 S3 client for SOS: path style, SigV4, bounded retries and timeouts.

        `attempts` counts every try, the first included. The defaults keep a failing write
        under ~10 s so the receiver can answer 503 well inside the senders' 30 s timeout.
        """
        client = boto3.client(
            "s3",
            endpoint_url=cfg.sos_endpoint,
            region_name=cfg.zone,
            aws_access_key_id=cfg.key,
            aws_secret_access_key=cfg.secret,
            config=BotoConfig(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                max_pool_connections=pool_connections,
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                retries={"total_max_attempts": attempts, "mode": "standard"},
                # SOS does not need the newer default integrity headers; moto and older
                # S3 clones reject some of them on conditional writes.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )
        client.meta.events.register("before-sign.s3.DeleteObjects", _content_md5)
        return cls(client, cfg.bucket)

    def get(self, key: str) -> Stored | None:
        try:
            resp = self.s3.get_object(Bucket=self.bucket, Key=key)
            raw = resp["Body"].read()
        except ClientError as exc:
            # A missing bucket is a misconfiguration, not an absent object: it must not read
            # as "no state yet".
            if _code(exc) in ("NoSuchKey", "404"):
                return None
            raise StoreError(f"read {key}: {_code(exc) or exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"read {key}: {exc}") from exc
        etag = resp.get("ETag", "")
        try:
            return Stored(key, decode(raw), etag)
        except ValueError as exc:
            return Stored(key, None, etag, error=f"corrupt object: {exc}")

    def put(self, key: str, body: Json, *, if_match: str | None = None,
            if_none_match: bool = False) -> str:
        """Write `body`; with if_match / if_none_match the write is conditional. Returns the ETag."""
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": key, "Body": encode(body),
                                "ContentType": "application/json"}
        if if_match is not None:
            args["IfMatch"] = if_match
        if if_none_match:
            args["IfNoneMatch"] = "*"
        try:
            return str(self.s3.put_object(**args).get("ETag", ""))
        except ClientError as exc:
            if _status(exc) in (409, 412) or _code(exc) in ("PreconditionFailed",
                                                           "ConditionalRequestConflict"):
                raise Conflict(f"write {key}: condition not met") from exc
            raise StoreError(f"write {key}: {_code(exc) or exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"write {key}: {exc}") from exc

    def delete_many(self, keys: Sequence[str]) -> int:
        """Delete every key, DELETE_BATCH per request; an absent key counts as deleted (S3).
        Raises StoreError naming the first key SOS refused: the caller's next run retries."""
        done = 0
        for start in range(0, len(keys), DELETE_BATCH):
            batch = keys[start:start + DELETE_BATCH]
            try:
                answer = self.s3.delete_objects(Bucket=self.bucket, Delete={
                    "Objects": [{"Key": k} for k in batch], "Quiet": True})
            except ClientError as exc:
                raise StoreError(f"delete {len(batch)} objects: {_code(exc) or exc}") from exc
            except BotoCoreError as exc:
                raise StoreError(f"delete {len(batch)} objects: {exc}") from exc
            errors = answer.get("Errors") or []
            if errors:
                first = errors[0]
                raise StoreError(f"delete {first.get('Key')}: {first.get('Code')} "
                                 f"({len(errors)} of {len(batch)} refused)")
            done += len(batch)
        return done

    def list_keys(self, prefix: str, start_after: str = "", limit: int | None = None
                  ) -> Iterator[str]:
        """Keys under `prefix` in order, at most `limit` (listed by the page, 1000 a page)."""
        try:
            pages = self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix, StartAfter=start_after,
                PaginationConfig={"MaxItems": limit} if limit is not None else {})
            for page in pages:
                for item in page.get("Contents", []):
                    yield item["Key"]
        except ClientError as exc:
            raise StoreError(f"list {prefix}: {_code(exc) or exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"list {prefix}: {exc}") from exc

    def read_many(self, keys: Sequence[str], workers: int = READ_WORKERS) -> list[Stored]:
        """The objects at `keys`, in that order, read `workers` at a time; vanished ones skipped."""
        if len(keys) <= 1:
            found = [self.get(k) for k in keys]
        else:
            with futures.ThreadPoolExecutor(min(workers, len(keys)),
                                            thread_name_prefix="sos-read") as pool:
                found = list(pool.map(self.get, keys))
        return [item for item in found if item is not None]

    def read_all(self, prefix: str, start_after: str = "", limit: int | None = None
                 ) -> list[Stored]:
        """Every object under `prefix` (at most `limit`) in key order; vanished ones skipped."""
        return self.read_many(list(self.list_keys(prefix, start_after, limit)))

    def conditions_honoured(self, probe_key: str) -> bool:
        """True when a conditional create of an existing object is refused, as it must be."""
        with contextlib.suppress(Conflict):
            self.put(probe_key, {"probe": True}, if_none_match=True)
        try:
            self.put(probe_key, {"probe": True}, if_none_match=True)
        except Conflict:
            return True
        log.error("SOS accepted a conditional create of an existing object: refusing to act")
        return False
