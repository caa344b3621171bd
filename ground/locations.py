"""Where sagetop keeps its files, in one place: configuration, remembered view, exports, caches.

The XDG Base Directory specification decides: `$XDG_CONFIG_HOME` (default `~/.config`) for the
configuration, `$XDG_STATE_HOME` (`~/.local/state`) for what the dashboard remembers between runs
(sort, filter, grouping, theme, columns) and the local state store of each watched fleet
(`sagetop cache info`), `$XDG_DATA_HOME` (`~/.local/share`) for exported
profiles, `$XDG_CACHE_HOME` (`~/.cache`) for the refreshed price list. The specification says a
relative path in one of these variables is invalid and must be ignored: it would make the place
depend on the directory sagetop happens to start in (a git checkout, say).
"""

from __future__ import annotations

import os
from pathlib import Path

APP_DIR = "sagetop"
CONFIG_FILE = "config.toml"
VIEW_STATE_FILE = "view.json"
EXPORT_DIR = "profiles"
# Prices and, for instance types newer than the bundled catalogue, their specs (Price List API).
PRICE_CACHE_FILE = "prices.json"
# The local state store: one SQLite file per watched account-and-region set (`fleet-<id>.db`).
STORE_DIR = "store"


def _base(variable: str, default: str) -> Path:
    value = os.environ.get(variable, "")
    if value and Path(value).is_absolute():
        return Path(value)
    return Path.home() / default


def config_dir() -> Path:
    return _base("XDG_CONFIG_HOME", ".config") / APP_DIR


def config_file() -> Path:
    """The user's configuration file (read only if it exists)."""
    return config_dir() / CONFIG_FILE


def state_dir() -> Path:
    return _base("XDG_STATE_HOME", ".local/state") / APP_DIR


def view_state_file() -> Path:
    """The dashboard's remembered view: sort, filter, grouping, theme, column choices."""
    return state_dir() / VIEW_STATE_FILE


def store_dir() -> Path:
    """The state store files (inventory, series, day records) unless `[store] path` says."""
    return state_dir() / STORE_DIR


def data_dir() -> Path:
    return _base("XDG_DATA_HOME", ".local/share") / APP_DIR


def export_dir() -> Path:
    """Where exported profiles go unless `--export-dir` (or `snapshot -o`) says otherwise."""
    return data_dir() / EXPORT_DIR


def default_cache_dir() -> Path:
    """The refreshed price list (`sagetop prices refresh`)."""
    return _base("XDG_CACHE_HOME", ".cache") / APP_DIR


def default_price_cache() -> Path:
    return default_cache_dir() / PRICE_CACHE_FILE


def display(path: Path) -> str:
    """A path as a person reads it: under the home directory as `~/...`."""
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)
