"""The bucket's objects as views: what the receiver's GET /status and the operator's `inspect` both show."""
