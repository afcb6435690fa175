"""Pure: one line for the operator naming what to check when an SOS call failed (never a secret)."""
from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from functions.common import config
from functions.common.store import StoreError

_CODES = {
    "NoSuchBucket": "bucket {bucket!r} does not exist at {endpoint} (check SOS_BUCKET and "
                    "SOS_ENDPOINT/EXOSCALE_ZONE)",
    "InvalidAccessKeyId": "{endpoint} does not know this key (InvalidAccessKeyId): check "
                          "EXOSCALE_KEY",
    "SignatureDoesNotMatch": "{endpoint} rejected the signature (SignatureDoesNotMatch): check "
                             "EXOSCALE_SECRET",
    "AccessDenied": "access denied to bucket {bucket!r} (AccessDenied): the key lacks "
                    "permission on it",
    "InvalidBucketName": "invalid bucket name {bucket!r}",
}


def describe(exc: StoreError, cfg: config.Config) -> str:
    """One line for an SOS failure, naming what to check; never a secret."""
    cause = exc.__cause__
    fields = {"bucket": cfg.bucket, "endpoint": cfg.sos_endpoint}
    if isinstance(cause, ClientError):
        code = str(cause.response.get("Error", {}).get("Code", ""))
        if code in _CODES:
            return _CODES[code].format(**fields)
        status = cause.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return f"SOS answered {code or 'an error'} (HTTP {status}) at {cfg.sos_endpoint}: {exc}"
    if isinstance(cause, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError,
                          ConnectionClosedError)):
        return f"cannot reach SOS endpoint {cfg.sos_endpoint} ({type(cause).__name__})"
    if isinstance(cause, BotoCoreError):
        return f"SOS request failed at {cfg.sos_endpoint}: {cause}"
    return str(exc)
