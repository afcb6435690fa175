"""The webhook receiver: alerts in, durable scale requests in the bucket out."""
