"""Build manifests from release trees and check trees against them (the I/O side).

:mod:`nebsign.manifest` is the model; this module walks directories
(:mod:`nebsign._internal.walk`) and hashes them in parallel
(:mod:`nebsign._internal.hashpool`), hashing overlapping the walk.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from nebsign._internal.hashpool import GroupHasher
from nebsign._internal.walk import iter_tree
from nebsign.errors import VerdictError
from nebsign.manifest import FileEntry, LinkEntry, Manifest

__all__ = [
    "Change",
    "ManifestMismatch",
    "TreeDiff",
    "build_manifest",
    "diff_manifests",
    "load_and_verify_tree",
    "verify_tree",
]


class ManifestMismatch(VerdictError):
    """The tree does not match its manifest."""


@dataclass(slots=True)
class _Scan:
    """A tree walked and fed to a hasher: paths and links now, digests at finish()."""

    hasher: GroupHasher
    paths: list[str] = field(default_factory=list)
    links: list[LinkEntry] = field(default_factory=list)

    def finish(self) -> tuple[list[int], str, list[bool]]:
        """All files' sizes, hex digests concatenated, executable flags (walk order)."""
        packed = self.hasher.finish()
        sizes = [size for group_sizes, _, _ in packed for size in group_sizes]
        execs = list(map(bool, b"".join(x for _, _, x in packed)))
        return sizes, "".join(h for _, h, _ in packed), execs


def _start_scan(root: str, exclude: frozenset[str], hasher: GroupHasher) -> _Scan:
    """Walk *root* (paths come out sorted) and feed every file to *hasher*."""
    scan = _Scan(hasher)

    def groups() -> Iterator[tuple[str, list[str]]]:
        for run in iter_tree(root, exclude):
            prefix = run.prefix
            scan.links.extend(LinkEntry(prefix + name, target) for name, target in run.links)
            scan.paths.extend([prefix + name for name in run.files])
            yield run.path, run.files

    hasher.feed(groups())
    return scan


def _entries(
    paths: list[str], sizes: list[int], hexes: str, execs: list[bool]
) -> tuple[FileEntry, ...]:
    digests = [hexes[i : i + 64] for i in range(0, len(hexes), 64)]
    if not len(paths) == len(sizes) == len(digests) == len(execs):
        raise AssertionError("walk and hash results differ in length")  # pragma: no cover
    return tuple(map(FileEntry, paths, sizes, digests, execs))


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
    with GroupHasher(progress=progress) as hasher:
        scan = _start_scan(os.fspath(root), exclude, hasher)
        sizes, hexes, execs = scan.finish()
    return Manifest._from_walk(
        _entries(scan.paths, sizes, hexes, execs), tuple(scan.links), name, version, expires
    )


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
        Change(p, _describe(exp[p]), _describe(act[p]))
        for p in sorted(exp.keys() & act.keys())
        if exp[p] != act[p]
    )
    return TreeDiff(missing, extra, changed, checked=len(exp))


def diff_manifests(expected: Manifest, actual: Manifest) -> TreeDiff:
    """Compare the entries (not the metadata) of two manifests."""
    return _diff_entries((*expected.files, *expected.symlinks), (*actual.files, *actual.symlinks))


def _compare(manifest: Manifest, scan: _Scan) -> TreeDiff:
    sizes, hexes, execs = scan.finish()
    expected = manifest.files
    if (
        [e.path for e in expected] == scan.paths
        and [e.size for e in expected] == sizes
        and "".join(e.sha256 for e in expected) == hexes
        and [e.executable for e in expected] == execs
        and list(manifest.symlinks) == scan.links
    ):
        return TreeDiff(checked=len(expected) + len(scan.links))
    found = _entries(scan.paths, sizes, hexes, execs)
    return _diff_entries((*expected, *manifest.symlinks), (*found, *scan.links))


def verify_tree(
    manifest: Manifest,
    root: str | os.PathLike[str],
    *,
    exclude: frozenset[str] = frozenset(),
    progress: Callable[[int], None] | None = None,
) -> TreeDiff:
    """Hash the tree at *root* and report every missing, extra or changed entry."""
    with GroupHasher(progress=progress) as hasher:
        return _compare(manifest, _start_scan(os.fspath(root), exclude, hasher))


def load_and_verify_tree(
    raw: bytes,
    root: str | os.PathLike[str],
    *,
    what: str = "manifest",
    exclude: frozenset[str] = frozenset(),
    progress: Callable[[int], None] | None = None,
) -> tuple[Manifest, TreeDiff]:
    """Parse manifest bytes and check *root* against them, in parallel.

    Worker processes hash the tree while this thread parses and validates
    the manifest, so parsing a large manifest costs no wall time. Nothing
    from the tree is trusted or used before the manifest has parsed.
    """
    with GroupHasher(progress=progress) as hasher:
        scan = _start_scan(os.fspath(root), exclude, hasher)
        manifest = Manifest.from_json(raw, what)
        return manifest, _compare(manifest, scan)
