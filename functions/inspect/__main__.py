"""Entry point of `python -m functions.inspect`."""
from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
