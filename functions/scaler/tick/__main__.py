"""`python -m functions.scaler.tick [--dry-run]`: one tick of every configured pool (run.py)."""
import sys

from .run import main

sys.exit(main())
