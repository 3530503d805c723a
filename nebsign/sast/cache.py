"""Incremental scans: scanner results cached per file content.

One SQLite database (``sast-cache.sqlite3``) in the user cache directory or
in ``--cache DIR``. A row is keyed by everything a scanner's result depends
on: the file content's SHA-256, the path the file is scanned as (rules and
what Python runs depend on it: ``.pth``, scripts), the scanner, its version
with nebsign's, and the digest of the rules and engine it ran with. So an
entry is never served for other bytes, another path, tool version or rules.
Only files the scanner itself confirmed as scanned are stored. A damaged
database is discarded and rebuilt: the cache can only ever save time, never
change a result. Whoever can write the cache can hide findings, so a cache
directory or database owned by another user or writable by group/others is
refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

from nebsign._internal.canonical import canonical_json
from nebsign.errors import InputError
from nebsign.sast.interface import Hit

__all__ = ["CACHE_FILE", "Key", "ResultCache", "default_cache_dir"]

CACHE_FILE = "sast-cache.sqlite3"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS hits_v2 ("
    " content TEXT NOT NULL, path TEXT NOT NULL, tool TEXT NOT NULL, version TEXT NOT NULL,"
    " config TEXT NOT NULL, data BLOB NOT NULL,"
    " PRIMARY KEY (content, path, tool, version, config)) WITHOUT ROWID"
)
#: (content sha256, path scanned as)
Key = tuple[str, str]


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/nebsign`` (platformdirs) for this user."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("nebsign", appauthor=False))


def _check_private(path: Path, *, missing_ok: bool = False) -> None:
    """Refuse *path* unless this user owns it and no one else may write it."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        if missing_ok:
            return
        raise InputError(f"cache {path}: does not exist") from None
    except OSError as exc:
        raise InputError(f"cache {path}: {exc.strerror or exc}") from exc
    hint = "use a private cache (--cache DIR, mode 0700) or --no-cache"
    if stat.S_ISLNK(st.st_mode):
        raise InputError(f"cache {path}: is a symlink; refused", hint=hint)
    if st.st_uid != os.geteuid():
        raise InputError(
            f"cache {path}: owned by uid {st.st_uid}, not by you; whoever writes the cache "
            "can hide findings",
            hint=hint,
        )
    if st.st_mode & 0o022:
        raise InputError(
            f"cache {path}: writable by group or others (mode {stat.S_IMODE(st.st_mode):04o}); "
            "whoever writes the cache can hide findings",
            hint=hint,
        )


class ResultCache:
    """Get and put per-file hits for one (tool, version, config digest)."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / CACHE_FILE
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise InputError(f"cache directory {directory}: {exc.strerror or exc}") from exc
        _check_private(directory)
        with contextlib.suppress(FileExistsError):
            os.close(
                os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            )
        for suffix in ("", "-wal", "-shm"):
            _check_private(Path(f"{self.path}{suffix}"), missing_ok=True)
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
        self, keys: Iterable[Key], tool: str, version: str, config: str
    ) -> dict[Key, list[Hit]]:
        """Cached hits by (content digest, path); missing or unreadable rows are misses."""
        found: dict[Key, list[Hit]] = {}
        query = (
            "SELECT data FROM hits_v2 WHERE content=? AND path=? AND tool=? AND version=?"
            " AND config=?"
        )
        try:
            with self._lock:
                rows = [
                    (key, self._db.execute(query, (*key, tool, version, config)).fetchone())
                    for key in sorted(set(keys))
                ]
        except sqlite3.ProgrammingError:
            raise
        except sqlite3.DatabaseError:
            return found
        for key, row in rows:
            if row is None:
                continue
            try:
                found[key] = [Hit.from_dict(h) for h in json.loads(row[0])["hits"]]
            except (ValueError, KeyError, TypeError, InputError):
                continue
        return found

    def put_many(self, hits: Mapping[Key, list[Hit]], tool: str, version: str, config: str) -> None:
        """Store hits by (content digest, path) (one transaction)."""
        rows = [
            (*key, tool, version, config, canonical_json({"hits": [h.to_dict() for h in hs]}))
            for key, hs in hits.items()
        ]
        if not rows:
            return
        try:
            with self._lock, self._db:
                self._db.execute("BEGIN")
                self._db.executemany("INSERT OR REPLACE INTO hits_v2 VALUES (?,?,?,?,?,?)", rows)
        except sqlite3.ProgrammingError:
            raise
        except sqlite3.DatabaseError:
            return
