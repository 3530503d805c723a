"""Incremental scans: scanner results cached per file content.

One SQLite database (``sast-cache.sqlite3``) in the user cache directory or
in ``--cache DIR``. A row is keyed by the file content's SHA-256, the scanner,
its version and the digest of the rules it ran with, so an entry can never be
served for other bytes, another tool version or other rules. Values are the
path-independent hits as canonical JSON. Only files a scanner finished
without error are stored. A damaged database is discarded and rebuilt: the
cache can only ever save time, never change a result.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

from nebsign._internal.canonical import canonical_json
from nebsign.errors import InputError
from nebsign.sast.interface import Hit

__all__ = ["CACHE_FILE", "ResultCache", "default_cache_dir"]

CACHE_FILE = "sast-cache.sqlite3"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS hits ("
    " content TEXT NOT NULL, tool TEXT NOT NULL, version TEXT NOT NULL,"
    " config TEXT NOT NULL, data BLOB NOT NULL,"
    " PRIMARY KEY (content, tool, version, config)) WITHOUT ROWID"
)


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/nebsign`` (platformdirs) for this user."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("nebsign", appauthor=False))


class ResultCache:
    """Get and put per-file hits for one (tool, version, config digest)."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / CACHE_FILE
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise InputError(f"cache directory {directory}: {exc.strerror or exc}") from exc
        self._db = self._open()
        self._lock = threading.Lock()  # scanners run in threads; one connection, serialized

    def _open(self) -> sqlite3.Connection:
        for attempt in range(2):
            try:
                db = sqlite3.connect(
                    self.path, timeout=30, isolation_level=None, check_same_thread=False
                )
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute(_SCHEMA)
                return db
            except sqlite3.DatabaseError as exc:
                if attempt:
                    raise InputError(f"cache {self.path}: unusable: {exc}") from exc
                for suffix in ("", "-wal", "-shm"):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(f"{self.path}{suffix}")
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ResultCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get_many(
        self, contents: Iterable[str], tool: str, version: str, config: str
    ) -> dict[str, list[Hit]]:
        """Cached hits by content digest; missing or unreadable rows are misses."""
        found: dict[str, list[Hit]] = {}
        query = "SELECT data FROM hits WHERE content=? AND tool=? AND version=? AND config=?"
        try:
            with self._lock:
                rows = [
                    (content, self._db.execute(query, (content, tool, version, config)).fetchone())
                    for content in sorted(set(contents))
                ]
        except sqlite3.ProgrammingError:
            raise
        except sqlite3.DatabaseError:
            return found
        for content, row in rows:
            if row is None:
                continue
            try:
                found[content] = [Hit.from_dict(h) for h in json.loads(row[0])["hits"]]
            except (ValueError, KeyError, TypeError, InputError):
                continue
        return found

    def put_many(self, hits: Mapping[str, list[Hit]], tool: str, version: str, config: str) -> None:
        """Store hits by content digest (one transaction)."""
        rows = [
            (content, tool, version, config, canonical_json({"hits": [h.to_dict() for h in hs]}))
            for content, hs in hits.items()
        ]
        if not rows:
            return
        try:
            with self._lock, self._db:
                self._db.execute("BEGIN")
                self._db.executemany("INSERT OR REPLACE INTO hits VALUES (?,?,?,?,?)", rows)
        except sqlite3.ProgrammingError:
            raise
        except sqlite3.DatabaseError:
            return
