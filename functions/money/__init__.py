"""What the pool costs and what the operator lets it cost: the spend ledger and the budget cap."""
