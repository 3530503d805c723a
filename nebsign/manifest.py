"""Release manifests: every file of a release directory, canonical JSON.

A manifest is the release's identity: its own SHA-256 (of the RFC 8785
canonical bytes) is what gets signed. Parsing validates everything (paths,
digests, sizes, ordering, metadata); an invalid manifest never becomes an
object.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nebsign._internal.canonical import canonical_json, parse_json_object
from nebsign._internal.safepath import check_link_target, check_relpath
from nebsign._internal.walk import walk_tree
from nebsign.checksums import format_line
from nebsign.digest import hash_files, sha256_bytes
from nebsign.errors import InputError, VerdictError
from nebsign.versioning import ReleaseVersion

__all__ = [
    "MANIFEST_TYPE",
    "MAX_MANIFEST_BYTES",
    "Change",
    "FileEntry",
    "LinkEntry",
    "Manifest",
    "ManifestMismatch",
    "TreeDiff",
    "build_manifest",
    "diff_manifests",
    "parse_expires",
    "verify_tree",
]

MANIFEST_TYPE = "https://nebsign.dev/manifest/v1"
MAX_MANIFEST_BYTES = 512 * 1024 * 1024
MAX_ENTRIES = 5_000_000
_HEX_RE = re.compile(r"[0-9a-f]{64}")
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")
_EXPIRES_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


class ManifestMismatch(VerdictError):
    """The tree does not match its manifest."""


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One regular file: relative POSIX path, size in bytes, hex SHA-256."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class LinkEntry:
    """One symbolic link, recorded by its target (never followed)."""

    path: str
    target: str


def parse_expires(text: str) -> datetime:
    """Parse ``YYYY-MM-DDTHH:MM:SSZ`` (UTC, whole seconds) or raise InputError."""
    if not _EXPIRES_RE.fullmatch(text):
        raise InputError(
            f"invalid expiry {text!r}", hint="use UTC RFC 3339, e.g. 2027-01-31T00:00:00Z"
        )
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise InputError(f"invalid expiry {text!r}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Manifest:
    """A validated release manifest. Entries are sorted by path, paths unique."""

    files: tuple[FileEntry, ...]
    symlinks: tuple[LinkEntry, ...] = ()
    name: str | None = None
    version: str | None = None
    expires: str | None = None
    _by_path: dict[str, FileEntry | LinkEntry] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.name is not None and not _NAME_RE.fullmatch(self.name):
            raise InputError(
                f"manifest: invalid release name {self.name!r}",
                hint="letters, digits, '.', '_', '+', '-'; at most 128 characters",
            )
        if self.version is not None:
            ReleaseVersion.parse(self.version)
        if self.expires is not None:
            parse_expires(self.expires)
        if len(self.files) + len(self.symlinks) > MAX_ENTRIES:
            raise InputError(f"manifest: more than {MAX_ENTRIES} entries")
        by_path = self._by_path
        for entry in self.files:
            check_relpath(entry.path, "manifest")
            if not _HEX_RE.fullmatch(entry.sha256):
                raise InputError(f"manifest: {entry.path!r}: sha256 is not 64 lowercase hex")
            if isinstance(entry.size, bool) or not isinstance(entry.size, int) or entry.size < 0:
                raise InputError(f"manifest: {entry.path!r}: size is not a non-negative integer")
            if by_path.setdefault(entry.path, entry) is not entry:
                raise InputError(f"manifest: duplicate path {entry.path!r}")
        for link in self.symlinks:
            check_link_target(link.path, link.target, "manifest symlink")
            if by_path.setdefault(link.path, link) is not link:
                raise InputError(f"manifest: duplicate path {link.path!r}")
        for path in by_path:
            # A path cannot be both an entry and a directory of another entry.
            head, _, _ = path.rpartition("/")
            while head:
                if head in by_path:
                    raise InputError(f"manifest: {head!r} is both an entry and a directory")
                head, _, _ = head.rpartition("/")
        if [e.path for e in self.files] != sorted(e.path for e in self.files) or [
            e.path for e in self.symlinks
        ] != sorted(e.path for e in self.symlinks):
            raise InputError("manifest: entries are not sorted by path")

    # -- queries ---------------------------------------------------------

    def get(self, path: str) -> FileEntry | LinkEntry | None:
        """The entry at *path*, if any."""
        return self._by_path.get(path)

    @property
    def release_version(self) -> ReleaseVersion | None:
        """The parsed version, if the manifest names one."""
        return None if self.version is None else ReleaseVersion.parse(self.version)

    @property
    def expires_at(self) -> datetime | None:
        """The expiry as an aware UTC datetime, if set."""
        return None if self.expires is None else parse_expires(self.expires)

    def is_expired(self, now: datetime) -> bool:
        """True when an expiry is set and *now* is at or past it."""
        expires = self.expires_at
        return expires is not None and now >= expires

    @property
    def total_size(self) -> int:
        """Sum of all file sizes."""
        return sum(e.size for e in self.files)

    # -- serialization ---------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The JSON object form (metadata keys only when set)."""
        out: dict[str, Any] = {
            "_type": MANIFEST_TYPE,
            "files": [{"path": e.path, "sha256": e.sha256, "size": e.size} for e in self.files],
        }
        if self.symlinks:
            out["symlinks"] = [{"path": e.path, "target": e.target} for e in self.symlinks]
        for key in ("name", "version", "expires"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out

    def to_json(self) -> bytes:
        """RFC 8785 canonical JSON bytes (stable across machines and runs)."""
        return canonical_json(self.to_dict())

    def digest(self) -> str:
        """Hex SHA-256 of :meth:`to_json` (what gets signed)."""
        return sha256_bytes(self.to_json())

    def to_sha256sum(self) -> bytes:
        """``sha256sum -c`` compatible text for the regular files."""
        return b"".join(format_line(e.sha256, os.fsencode(e.path)) for e in self.files)

    @classmethod
    def from_json(cls, raw: bytes, what: str = "manifest") -> Manifest:
        """Parse and validate manifest bytes; :class:`InputError` if invalid."""
        obj = parse_json_object(raw, what, limit=MAX_MANIFEST_BYTES)
        return cls.from_dict(obj, what)

    @classmethod
    def from_dict(cls, obj: dict[str, Any], what: str = "manifest") -> Manifest:
        """Validate a decoded JSON object."""
        allowed = {"_type", "files", "symlinks", "name", "version", "expires"}
        unknown = sorted(set(obj) - allowed)
        if unknown:
            raise InputError(f"{what}: unknown field {unknown[0]!r}")
        if obj.get("_type") != MANIFEST_TYPE:
            raise InputError(f"{what}: _type must be {MANIFEST_TYPE!r}")
        files_raw = obj.get("files")
        if not isinstance(files_raw, list):
            raise InputError(f"{what}: 'files' must be a list")
        links_raw = obj.get("symlinks", [])
        if not isinstance(links_raw, list):
            raise InputError(f"{what}: 'symlinks' must be a list")
        files = tuple(_file_entry(item, i, what) for i, item in enumerate(files_raw))
        links = tuple(_link_entry(item, i, what) for i, item in enumerate(links_raw))
        meta: dict[str, str | None] = {}
        for key in ("name", "version", "expires"):
            value = obj.get(key)
            if value is not None and not isinstance(value, str):
                raise InputError(f"{what}: {key!r} must be a string")
            meta[key] = value
        try:
            return cls(files, links, meta["name"], meta["version"], meta["expires"])
        except InputError as exc:
            message = exc.message.removeprefix("manifest: ")
            raise InputError(f"{what}: {message}", hint=exc.hint) from exc


def _file_entry(item: object, index: int, what: str) -> FileEntry:
    if not isinstance(item, dict) or set(item) != {"path", "sha256", "size"}:
        raise InputError(f"{what}: files[{index}] must have exactly path, sha256 and size")
    path, sha, size = item["path"], item["sha256"], item["size"]
    if not isinstance(path, str) or not isinstance(sha, str):
        raise InputError(f"{what}: files[{index}]: path and sha256 must be strings")
    if isinstance(size, bool) or not isinstance(size, int):
        raise InputError(f"{what}: files[{index}]: size must be an integer")
    return FileEntry(path, size, sha)


def _link_entry(item: object, index: int, what: str) -> LinkEntry:
    if not isinstance(item, dict) or set(item) != {"path", "target"}:
        raise InputError(f"{what}: symlinks[{index}] must have exactly path and target")
    path, target = item["path"], item["target"]
    if not isinstance(path, str) or not isinstance(target, str):
        raise InputError(f"{what}: symlinks[{index}]: path and target must be strings")
    return LinkEntry(path, target)


def _scan(
    root: str, exclude: frozenset[str], progress: Callable[[int], None] | None
) -> tuple[tuple[FileEntry, ...], tuple[LinkEntry, ...]]:
    listing = walk_tree(root, exclude)
    digests = hash_files([p for _, p in listing.files], progress=progress)
    files = tuple(
        FileEntry(rel, d.size, d.sha256) for (rel, _), d in zip(listing.files, digests, strict=True)
    )
    links = tuple(LinkEntry(rel, target) for rel, target in listing.links)
    return files, links


def build_manifest(
    root: str | os.PathLike[str],
    *,
    name: str | None = None,
    version: str | None = None,
    expires: str | None = None,
    exclude: frozenset[str] = frozenset(),
    progress: Callable[[int], None] | None = None,
) -> Manifest:
    """Hash every regular file under *root* (in parallel) into a manifest.

    Symlinks are recorded, never followed; a link whose target leaves the
    tree, or a special file, is an :class:`InputError`. *progress* is called
    with the number of files done.
    """
    files, links = _scan(os.fspath(root), exclude, progress)
    return Manifest(files, links, name, version, expires)


@dataclass(frozen=True, slots=True)
class Change:
    """One entry present on both sides but different."""

    path: str
    expected: str
    found: str


@dataclass(frozen=True, slots=True)
class TreeDiff:
    """Every difference between a manifest and a tree (or two manifests)."""

    missing: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    changed: tuple[Change, ...] = ()
    checked: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing differs."""
        return not (self.missing or self.extra or self.changed)

    def verify(self) -> None:
        """Raise :class:`ManifestMismatch` summarizing the differences."""
        if self.ok:
            return
        parts = []
        if self.changed:
            parts.append(f"{len(self.changed)} changed (first: {self.changed[0].path!r})")
        if self.missing:
            parts.append(f"{len(self.missing)} missing (first: {self.missing[0]!r})")
        if self.extra:
            parts.append(f"{len(self.extra)} extra (first: {self.extra[0]!r})")
        raise ManifestMismatch("tree does not match manifest: " + ", ".join(parts))


def _describe(entry: FileEntry | LinkEntry) -> str:
    if isinstance(entry, FileEntry):
        return f"file sha256:{entry.sha256} ({entry.size} bytes)"
    return f"symlink -> {entry.target}"


def _diff_entries(
    expected: tuple[FileEntry | LinkEntry, ...], actual: tuple[FileEntry | LinkEntry, ...]
) -> TreeDiff:
    exp = {e.path: e for e in expected}
    act = {e.path: e for e in actual}
    missing = tuple(sorted(p for p in exp if p not in act))
    extra = tuple(sorted(p for p in act if p not in exp))
    changed = tuple(
        Change(p, _describe(exp[p]), _describe(act[p]))
        for p in sorted(exp.keys() & act.keys())
        if exp[p] != act[p]
    )
    return TreeDiff(missing, extra, changed, checked=len(exp))


def diff_manifests(expected: Manifest, actual: Manifest) -> TreeDiff:
    """Compare the entries (not the metadata) of two manifests."""
    return _diff_entries((*expected.files, *expected.symlinks), (*actual.files, *actual.symlinks))


def verify_tree(
    manifest: Manifest,
    root: str | os.PathLike[str],
    *,
    exclude: frozenset[str] = frozenset(),
    progress: Callable[[int], None] | None = None,
) -> TreeDiff:
    """Hash the tree at *root* and report every missing, extra or changed entry."""
    files, links = _scan(os.fspath(root), exclude, progress)
    return _diff_entries((*manifest.files, *manifest.symlinks), (*files, *links))
