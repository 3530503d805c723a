"""Build manifests from release trees and check trees against them (the I/O side).

:mod:`nebsign.manifest` is the model; this module walks directories
(:mod:`nebsign._internal.walk`) and hashes them in parallel
(:mod:`nebsign._internal.hashpool`), hashing overlapping the walk.
"""

from __future__ import annotations

import array
import itertools
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from nebsign._internal import native
from nebsign._internal.display import display_path
from nebsign._internal.gcpause import paused_gc
from nebsign._internal.hashpool import GroupHasher, Piece, first_error
from nebsign._internal.safepath import MAX_PATH_LEN
from nebsign._internal.walk import iter_tree
from nebsign.errors import InputError, VerdictError
from nebsign.manifest import MAX_MANIFEST_BYTES, FileEntry, LinkEntry, Manifest, files_json

__all__ = [
    "Change",
    "ManifestMismatch",
    "TreeCheck",
    "TreeDiff",
    "build_manifest",
    "diff_manifests",
    "load_and_verify_tree",
    "verify_tree",
]


class ManifestMismatch(VerdictError):
    """The tree does not match its manifest."""

    reason = "manifest-mismatch"


@dataclass(slots=True)
class _Scan:
    """A tree walked and fed to a hasher: groups and links now, entries at finish().

    Each group is one directory run's relative prefix and file names; the
    hasher's pieces of it come back as :class:`FileEntry` tuples and their
    JSON (built by the C loop in the worker threads, or here from the
    pure-Python loop's results as each piece completes).
    """

    hasher: GroupHasher
    groups: list[tuple[str, list[str]]] = field(default_factory=list)
    links: list[LinkEntry] = field(default_factory=list)
    #: files left unread because the expected entries do not name them
    extras: list[str] = field(default_factory=list)
    _files: tuple[FileEntry, ...] | None = None
    _json: bytes | None = None

    def finish(self) -> tuple[FileEntry, ...]:
        """Every file's entry, in path order (hashing errors raise here)."""
        if self._files is None:
            done: list[tuple[Piece, tuple[FileEntry, ...], bytes | None]] = []
            with paused_gc():
                for piece in self.hasher.completed():
                    if piece.errors:
                        done.append((piece, (), None))
                    elif piece.entries is not None:  # built by the C loop
                        json = piece.json if piece.json is not None else _json_bytes(piece.entries)
                        done.append((piece, piece.entries, json))
                    else:
                        prefix, names = self.groups[piece.group]
                        entries = _entries(prefix, names, piece)
                        done.append((piece, entries, _json_bytes(entries)))
                first_error(p for p, _, _ in done)
                done.sort(key=_piece_key)
                self._files = tuple(itertools.chain.from_iterable(e for _, e, _ in done))
            pieces_json = [j for _, e, j in done if e]
            if None not in pieces_json:  # None: a name that is not UTF-8 (refused later)
                self._json = b",".join(pieces_json)  # type: ignore[arg-type]
        return self._files

    @property
    def files_json(self) -> bytes | None:
        """:func:`files_json` of :meth:`finish`'s entries, UTF-8 (None: not all UTF-8)."""
        self.finish()
        return self._json

    def manifest(
        self, name: str | None = None, version: str | None = None, expires: str | None = None
    ) -> Manifest:
        """The manifest of what was walked and hashed."""
        files = self.finish()
        longest = max(
            itertools.chain((len(f.path) for f in files), (len(x.path) for x in self.links)),
            default=0,
        )
        if longest > MAX_PATH_LEN:  # the limit Manifest.from_json applies: one limit
            paths = itertools.chain((f.path for f in files), (x.path for x in self.links))
            path = next(p for p in paths if len(p) > MAX_PATH_LEN)
            raise InputError(
                f"{display_path(path[:80])}...: path longer than {MAX_PATH_LEN} characters"
            )
        return Manifest._from_walk(files, tuple(self.links), name, version, expires, self._json)


def _json_bytes(entries: tuple[FileEntry, ...]) -> bytes | None:
    try:
        return files_json(entries).encode("utf-8")
    except UnicodeEncodeError:
        return None


def _piece_key(item: tuple[Piece, tuple[FileEntry, ...], bytes | None]) -> tuple[int, int]:
    return item[0].group, item[0].offset


def _entries(prefix: str, names: list[str], piece: Piece) -> tuple[FileEntry, ...]:
    """One piece's entries, built at C speed (no Python frame per entry)."""
    count = len(piece.sizes)
    part = names[piece.offset : piece.offset + count]
    paths = [prefix + name for name in part] if prefix else part
    hexes = piece.hexes
    ends = range(64, 64 * count + 64, 64)
    digests = map(hexes.__getitem__, map(slice, range(0, 64 * count, 64), ends))
    rows = zip(paths, piece.sizes, digests, map(bool, piece.execs), strict=True)
    return tuple(map(tuple.__new__, itertools.repeat(FileEntry), rows))


def _start_scan(
    root: str,
    exclude: frozenset[str],
    hasher: GroupHasher,
    expected: dict[str, int] | None = None,
    skip_bundles: bool = False,
) -> _Scan:
    """Walk *root* (paths come out sorted) and feed every file to *hasher*.

    With *expected* (path -> size, from a manifest), a file it does not name
    is only recorded as extra, and a file of another size is not read (the
    hasher reports its size with a zero digest): the reads are bounded by
    the manifest's total size, whatever the tree holds. With *skip_bundles*,
    ``NAME.sigstore.json`` next to a file ``NAME`` is left out.
    """
    scan = _Scan(hasher)

    def groups() -> Iterator[tuple[str, list[str], str] | tuple[str, list[str], str, bytes]]:
        for run in iter_tree(root, exclude, skip_bundles=skip_bundles):
            prefix = run.prefix
            scan.links.extend(LinkEntry(prefix + name, target) for name, target in run.links)
            if not run.files:
                continue
            if expected is None:
                scan.groups.append((prefix, run.files))
                yield root, run.files, prefix  # opened beneath the root, never via a symlink
                continue
            found = list(map(expected.get, map(prefix.__add__, run.files)))
            names = run.files
            if None in found:
                pairs = list(zip(names, found, strict=True))
                scan.extras.extend(prefix + n for n, z in pairs if z is None)
                names = [n for n, z in pairs if z is not None]
            sizes = array.array("q", [z for z in found if z is not None])
            if names:
                scan.groups.append((prefix, names))
                yield root, names, prefix, sizes.tobytes()

    hasher.feed(groups())
    return scan


_PATH_KEY = b'"path":"'
_SHA_KEY = b'","sha256":"'
_SIZE_AT = len(_SHA_KEY) + 64 + len(b'","size":')


def expected_sizes(raw: bytes) -> dict[str, int] | None:
    """Path -> size of every file entry of canonical manifest bytes (a read guide).

    A fast scan, not a parser: it reads canonical JSON as nebsign writes it
    and returns None for anything it does not understand. Callers use it
    only to decide what to read; the verdict comes from the full comparison.
    """
    if native.available():
        fast = native.module.manifest_sizes(raw)
        if fast is not None:
            return fast
    out: dict[str, int] = {}
    try:
        for part in raw.split(_PATH_KEY)[1:]:
            end = part.find(_SHA_KEY)
            if end < 0:
                continue  # a symlink entry (or the metadata after the arrays)
            at = end + _SIZE_AT
            size = int(part[at : part.index(b"}", at)])
            name = part[:end]
            out[json.loads(b'"' + name + b'"') if b"\\" in name else name.decode()] = size
    except (ValueError, RecursionError):
        return None
    return out


def build_manifest(
    root: str | os.PathLike[str],
    *,
    name: str | None = None,
    version: str | None = None,
    expires: str | None = None,
    exclude: frozenset[str] = frozenset(),
    progress: Callable[[int], None] | None = None,
    skip_bundles: bool = False,
) -> Manifest:
    """Hash every regular file under *root* (in parallel) into a manifest.

    Symlinks are recorded, never followed; a link whose target leaves the
    tree, or a special file, is an :class:`InputError`. *progress* is called
    with the number of files done. *skip_bundles* leaves out ``NAME.sigstore.json``
    beside a file NAME (see :func:`~nebsign._internal.walk.iter_tree`).
    """
    with GroupHasher(progress=progress, entry_type=FileEntry) as hasher:
        scan = _start_scan(os.fspath(root), exclude, hasher, skip_bundles=skip_bundles)
        scan.finish()
    return scan.manifest(name, version, expires)


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
            parts.append(
                f"{len(self.changed)} changed (first: {display_path(self.changed[0].path)})"
            )
        if self.missing:
            parts.append(f"{len(self.missing)} missing (first: {display_path(self.missing[0])})")
        if self.extra:
            parts.append(f"{len(self.extra)} extra (first: {display_path(self.extra[0])})")
        raise ManifestMismatch("tree does not match manifest: " + ", ".join(parts))


def _describe(entry: FileEntry | LinkEntry) -> str:
    if isinstance(entry, FileEntry):
        mode = ", executable" if entry.executable else ""
        return f"file sha256:{entry.sha256} ({entry.size} bytes{mode})"
    return f"symlink -> {entry.target}"


def _diff_entries(
    expected: tuple[FileEntry | LinkEntry, ...], actual: tuple[FileEntry | LinkEntry, ...]
) -> TreeDiff:
    exp = {e.path: e for e in expected}
    act = {e.path: e for e in actual}
    missing = tuple(sorted(p for p in exp if p not in act))
    extra = tuple(sorted(p for p in act if p not in exp))
    changed = tuple(
        Change(p, _describe(exp[p]), _describe_found(exp[p], act[p]))
        for p in sorted(exp.keys() & act.keys())
        if exp[p] != act[p]
    )
    return TreeDiff(missing, extra, changed, checked=len(exp))


_UNREAD = -1  # the size of a file not named by the manifest: listed, never read


def _describe_found(expected: FileEntry | LinkEntry, found: FileEntry | LinkEntry) -> str:
    if isinstance(found, FileEntry) and found.size == _UNREAD:
        return "a file (not read: the manifest names no file here)"
    if (
        isinstance(expected, FileEntry)
        and isinstance(found, FileEntry)
        and expected.size != found.size
    ):
        return f"file of {found.size} bytes (not read: the size differs)"
    return _describe(found)


def diff_manifests(expected: Manifest, actual: Manifest) -> TreeDiff:
    """Compare the entries (not the metadata) of two manifests."""
    return _diff_entries((*expected.files, *expected.symlinks), (*actual.files, *actual.symlinks))


def _compare(manifest: Manifest, scan: _Scan) -> TreeDiff:
    found = scan.finish()
    if not scan.extras and manifest.files == found and list(manifest.symlinks) == scan.links:
        return TreeDiff(checked=len(found) + len(scan.links))
    unread = tuple(FileEntry(p, _UNREAD, "0" * 64, False) for p in scan.extras)
    return _diff_entries((*manifest.files, *manifest.symlinks), (*found, *unread, *scan.links))


def _sizes(manifest: Manifest) -> dict[str, int]:
    return {f.path: f.size for f in manifest.files}


def verify_tree(
    manifest: Manifest,
    root: str | os.PathLike[str],
    *,
    exclude: frozenset[str] = frozenset(),
    progress: Callable[[int], None] | None = None,
    skip_bundles: bool = False,
) -> TreeDiff:
    """Hash the tree at *root* and report every missing, extra or changed entry.

    Only files the manifest names, at the size it names, are read.
    """
    with GroupHasher(progress=progress, entry_type=FileEntry) as hasher:
        scan = _start_scan(os.fspath(root), exclude, hasher, _sizes(manifest), skip_bundles)
        return _compare(manifest, scan)


class TreeCheck:
    """Check a tree against manifest bytes: enter first, :meth:`compare` later.

    Nothing is read from the tree before :meth:`compare` gets the (verified)
    manifest bytes, so a caller can enter before checking the manifest's
    signature and a failing signature costs no hashing at all. Then only
    the files the manifest names, at the sizes it names, are read: an extra
    file is reported EXTRA and a file of another size CHANGED without being
    read, so the work is bounded by the manifest's total size (issue 17).
    An error met while walking (an unreadable directory, a special file) is
    raised by :meth:`compare`.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        exclude: frozenset[str] = frozenset(),
        progress: Callable[[int], None] | None = None,
        skip_bundles: bool = False,
    ) -> None:
        self._root = os.fspath(root)
        self._exclude = exclude
        self._progress = progress
        self._skip_bundles = skip_bundles

    def __enter__(self) -> TreeCheck:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def compare(self, raw: bytes, what: str = "manifest") -> tuple[Manifest, TreeDiff]:
        """Parse manifest bytes and check the tree against them.

        The common case, a tree that matches, is decided by comparing bytes:
        the manifest of the tree as walked, given the metadata *raw* names,
        is serialized canonically and compared with *raw*. Equal bytes mean
        *raw* is exactly that manifest (valid by construction: paths from the
        walk, metadata checked), so the slow per-entry validation of a large
        manifest is not needed. Any difference (or anything odd about *raw*)
        takes the full path: :meth:`Manifest.from_json`, then an
        entry-by-entry diff.
        """
        guide = expected_sizes(raw) if len(raw) <= MAX_MANIFEST_BYTES else None
        if guide is None:  # not canonical: parse (and refuse) before reading anything
            manifest = Manifest.from_json(raw, what)
            guide = _sizes(manifest)
        with GroupHasher(progress=self._progress, entry_type=FileEntry) as hasher:
            scan = _start_scan(self._root, self._exclude, hasher, guide, self._skip_bundles)
            scan.finish()
            body = None if scan.extras else scan.files_json
            meta = None if body is None else _metadata(raw, body)
            if meta is not None:
                try:
                    candidate = scan.manifest(*meta)
                except InputError:
                    candidate = None
                if candidate is not None and candidate.to_json() == raw:
                    checked = len(candidate.files) + len(candidate.symlinks)
                    return candidate, TreeDiff(checked=checked)
        manifest = Manifest.from_json(raw, what)
        if _sizes(manifest) != guide:  # pragma: no cover - the scan reads canonical bytes exactly
            return manifest, verify_tree(
                manifest, self._root, exclude=self._exclude, skip_bundles=self._skip_bundles
            )
        return manifest, _compare(manifest, scan)


def load_and_verify_tree(
    raw: bytes,
    root: str | os.PathLike[str],
    *,
    what: str = "manifest",
    exclude: frozenset[str] = frozenset(),
    progress: Callable[[int], None] | None = None,
    skip_bundles: bool = False,
) -> tuple[Manifest, TreeDiff]:
    """Parse manifest bytes and check *root* against them (see :meth:`TreeCheck.compare`)."""
    with TreeCheck(root, exclude=exclude, progress=progress, skip_bundles=skip_bundles) as check:
        return check.compare(raw, what)


_FILES_KEY = b',"files":['


def _metadata(raw: bytes, body: bytes) -> tuple[str | None, str | None, str | None] | None:
    """(name, version, expires) as *raw* gives them around a files array of JSON *body*.

    Only the short head and tail of *raw* are parsed. None when *raw* does
    not have that shape. A wrong answer cannot be accepted: the caller takes
    *raw* only if it equals the canonical bytes of the manifest built with
    these values.
    """
    at = raw.find(_FILES_KEY)
    if len(raw) > MAX_MANIFEST_BYTES or at < 0:
        return None
    end = at + len(_FILES_KEY) + len(body)
    if not raw.startswith(body, at + len(_FILES_KEY)) or raw[end : end + 1] != b"]":
        return None
    rest = raw[end + 1 :]
    try:
        head = json.loads(raw[:at] + b"}")
        tail = json.loads(b"{" + rest[1:]) if rest[:1] == b"," else json.loads(b"{" + rest)
    except (ValueError, RecursionError):
        return None
    if type(head) is not dict or type(tail) is not dict:
        return None
    values = (tail.get("name"), tail.get("version"), head.get("expires"))
    if not all(v is None or type(v) is str for v in values):
        return None
    return values
