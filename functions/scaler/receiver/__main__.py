"""`python -m functions.scaler.receiver`: the webhook receiver (server.py)."""
import sys

from .server import main

sys.exit(main())
