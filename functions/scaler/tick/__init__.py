"""The tick: pending requests from the bucket, one decision, at most one scaling call."""
