"""Reliability and security suite (issue 6): faults, outages, concurrency, on loopback, bounded in time."""
