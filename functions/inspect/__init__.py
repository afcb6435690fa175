"""`python -m functions.inspect`: the operator's view of, and steering through, the state bucket."""
