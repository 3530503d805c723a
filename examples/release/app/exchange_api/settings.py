"""Runtime settings, read from the environment only."""

import os

DEBUG = False
BIND_HOST = os.environ.get("BIND_HOST", "127.0.0.1")
DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite:///orders.db")
