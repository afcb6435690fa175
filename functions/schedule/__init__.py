"""Scheduled bounds: operator rules (cron + duration + zone) and the bounds in force at a moment."""
