"""The stored records: scale requests, the tick's state and history, its accounts (read by all, written by one)."""
