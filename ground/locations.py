"""Where sagetop keeps files of its own: the cache directory (XDG) and the price cache in it."""

from __future__ import annotations

import os
from pathlib import Path

# Prices and, for instance types newer than the bundled catalogue, their specs (Price List API).
PRICE_CACHE_FILE = "prices.json"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sagetop"


def default_price_cache() -> Path:
    return default_cache_dir() / PRICE_CACHE_FILE
