"""`python -m functions.scaler.tick [--dry-run]`: one tick (run.py)."""
import sys

from .run import main

sys.exit(main())
