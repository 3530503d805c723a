"""Safe extraction of tar and zip archives into a fresh directory.

Refused (:class:`UnsafeArchive`): absolute member names, ``..`` components,
symlinks whose target leaves the tree (checked with
:func:`~nebsign._internal.safepath.check_link_target`), members below a
symlink (writing through a link), hard links to anything but an earlier
regular member, device files, FIFOs, duplicate names, encrypted zip members,
more than *max_files* members and more than *max_bytes* of content (counted
on the bytes actually written, so a zip bomb stops at the limit). Files get
mode 0644 or 0755; set-id bits and ownership are never restored.
"""

from __future__ import annotations

import io
import lzma
import os
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from nebsign._internal.atomic import io_error
from nebsign._internal.safepath import check_link_target, check_relpath
from nebsign.errors import InputError, VerdictError

__all__ = [
    "ARCHIVE_SUFFIXES",
    "MAX_EXT_HEADER",
    "HeaderRefused",
    "UnpackResult",
    "UnsafeArchive",
    "is_archive",
    "safe_extract",
]

ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip")
_CHUNK = 1024 * 1024
_MAX_LINK_TARGET = 4096


class UnsafeArchive(VerdictError):
    """An archive member would escape the target or break a limit."""

    reason = "unsafe-archive"


@dataclass(frozen=True, slots=True)
class UnpackResult:
    """How much was extracted."""

    files: int
    links: int
    bytes: int


def is_archive(name: str) -> bool:
    """True when *name* ends with a suffix :func:`safe_extract` handles."""
    return name.lower().endswith(ARCHIVE_SUFFIXES)


class _Extractor:
    def __init__(self, archive: str, dest: Path, max_bytes: int, max_files: int) -> None:
        self.archive = archive
        self.dest = dest
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.written = 0
        self.count = 0
        self.links = 0
        self.dirs: set[str] = set()
        self.regular: set[str] = set()
        self.symlinks: set[str] = set()

    def refuse(self, member: str, why: str) -> UnsafeArchive:
        return UnsafeArchive(
            f"archive {self.archive}: member {member[:200]!r} refused: {why}",
            hint="the archive is unsafe to unpack; nothing was installed",
        )

    def name(self, raw: str) -> str:
        name = raw[2:] if raw.startswith("./") else raw
        name = name.rstrip("/") if name.endswith("/") else name
        if name.startswith("/"):
            raise self.refuse(raw, "absolute path")
        try:
            check_relpath(name, "archive member")
        except InputError as exc:
            if ".." in name.split("/"):
                raise self.refuse(raw, "path contains '..' (escapes the target)") from exc
            raise self.refuse(raw, exc.message) from exc
        if name in self.dirs or name in self.regular or name in self.symlinks:
            raise self.refuse(raw, "duplicate member name")
        head, _, _ = name.rpartition("/")
        while head:
            if head in self.symlinks:
                raise self.refuse(raw, f"lies below the symlink member {head!r}")
            if head in self.regular:
                raise self.refuse(raw, f"lies below the file member {head!r}")
            head, _, _ = head.rpartition("/")
        self.count += 1
        if self.count > self.max_files:
            raise self.refuse(raw, f"more than {self.max_files} members")
        return name

    def parent(self, name: str) -> None:
        head, _, _ = name.rpartition("/")
        if head and head not in self.dirs:
            parts = head.split("/")
            for i in range(1, len(parts) + 1):
                sub = "/".join(parts[:i])
                if sub not in self.dirs:
                    self._mkdir(sub)

    def _mkdir(self, name: str) -> None:
        try:
            os.mkdir(self.dest / name, 0o755)
        except FileExistsError:
            pass
        except OSError as exc:
            raise io_error(self.dest / name, exc, "create") from exc
        self.dirs.add(name)

    def directory(self, raw: str) -> None:
        name = self.name(raw)
        self.parent(name)
        self._mkdir(name)

    def file(self, raw: str, src: IO[bytes], executable: bool) -> None:
        name = self.name(raw)
        self.parent(name)
        path = self.dest / name
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(path, flags, 0o600)
            os.fchmod(fd, 0o755 if executable else 0o644)
        except OSError as exc:
            raise io_error(path, exc, "create") from exc
        try:
            while chunk := src.read(_CHUNK):
                self.written += len(chunk)
                if self.written > self.max_bytes:
                    raise self.refuse(raw, f"content exceeds the limit of {self.max_bytes} bytes")
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]
            os.fsync(fd)
        except OSError as exc:
            raise io_error(path, exc) from exc
        finally:
            os.close(fd)
        self.regular.add(name)

    def symlink(self, raw: str, target: str) -> None:
        name = self.name(raw)
        try:
            check_link_target(name, target, "archive symlink")
        except InputError as exc:
            raise self.refuse(raw, f"symlink to {target[:200]!r} leaves the target") from exc
        self.parent(name)
        try:
            os.symlink(target, self.dest / name)
        except OSError as exc:
            raise io_error(self.dest / name, exc, "create") from exc
        self.symlinks.add(name)
        self.links += 1

    def hardlink(self, raw: str, target: str) -> None:
        tname = target[2:] if target.startswith("./") else target
        if tname not in self.regular:
            raise self.refuse(raw, f"hard link to {target[:200]!r}, not an earlier regular member")
        name = self.name(raw)
        self.parent(name)
        try:
            os.link(self.dest / tname, self.dest / name, follow_symlinks=False)
        except OSError as exc:
            raise io_error(self.dest / name, exc, "create") from exc
        self.regular.add(name)


#: Largest PAX or GNU long-name/long-link header read into memory (names are < 4 KiB).
MAX_EXT_HEADER = 1024 * 1024
#: Extended headers in a row before one member (tarfile nests them, holding each).
MAX_EXT_CHAIN = 8
_EXT_TYPES = frozenset(
    {
        tarfile.XHDTYPE,
        tarfile.XGLTYPE,
        tarfile.SOLARIS_XHDTYPE,
        tarfile.GNUTYPE_LONGNAME,
        tarfile.GNUTYPE_LONGLINK,
    }
)


class HeaderRefused(UnsafeArchive):
    """A tar header that would be read whole into memory is over the bound."""

    reason = "header-refused"


class _BoundedTarInfo(tarfile.TarInfo):
    """A :class:`tarfile.TarInfo` that checks extended headers *before* reading them.

    ``tarfile`` reads a PAX or GNU long-name header's whole declared size
    into memory, nests a chain of them, and accumulates global PAX headers;
    a few kilobytes of gzip can declare gigabytes. Each is bounded here by
    its declared size first; sparse members (whose maps are read the same
    way) are refused.
    """

    def _proc_member(self, tf: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type == tarfile.GNUTYPE_SPARSE:
            self._refuse_sparse()
        if self.type not in _EXT_TYPES:
            return self._parent_proc(tf)
        if self.size > MAX_EXT_HEADER:
            raise HeaderRefused(
                f"an extended tar header declares {self.size} bytes, over the bound of "
                f"{MAX_EXT_HEADER} (refused before reading it)",
                hint="the archive is unsafe to unpack; nothing was installed",
            )
        depth: int = getattr(tf, "_nebsign_chain", 0)
        if depth >= MAX_EXT_CHAIN:
            raise HeaderRefused(f"more than {MAX_EXT_CHAIN} extended tar headers in a row")
        if self.type == tarfile.XGLTYPE:
            total: int = getattr(tf, "_nebsign_global", 0) + self.size
            if total > MAX_EXT_HEADER:
                raise HeaderRefused(f"global tar headers exceed {MAX_EXT_HEADER} bytes")
            setattr(tf, "_nebsign_global", total)  # noqa: B010 - private counter
        setattr(tf, "_nebsign_chain", depth + 1)  # noqa: B010
        try:
            return self._parent_proc(tf)
        finally:
            setattr(tf, "_nebsign_chain", depth)  # noqa: B010

    def _parent_proc(self, tf: tarfile.TarFile) -> tarfile.TarInfo:
        info: tarfile.TarInfo = super()._proc_member(tf)  # type: ignore[misc]
        return info

    def _refuse_sparse(self, *_args: object) -> None:
        raise HeaderRefused(f"sparse member {self.name[:200]!r} refused (not supported)")

    _proc_gnusparse_00 = _proc_gnusparse_01 = _proc_gnusparse_10 = _refuse_sparse


#: Most memory an xz stream may ask for (its dictionary); ``xz -9`` needs 65 MiB.
XZ_MEMLIMIT = 96 * 1024 * 1024
_XZ_MAGIC = b"\xfd7zXZ\x00"


class _XZReader(io.RawIOBase):
    """An xz stream decoded with a memory limit (``tarfile``'s own xz support has none).

    A stream whose header declares a dictionary above :data:`XZ_MEMLIMIT`
    is refused before anything is allocated for it.
    """

    def __init__(self, fh: IO[bytes], memlimit: int) -> None:
        self.fh = fh
        self.dec = lzma.LZMADecompressor(format=lzma.FORMAT_XZ, memlimit=memlimit)
        self.pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while not self.pending:
            if self.dec.eof:
                return 0
            data = self.fh.read(64 * 1024) if self.dec.needs_input else b""
            if self.dec.needs_input and not data:
                raise EOFError("xz stream ends early")
            self.pending = self.dec.decompress(data, max_length=len(view))
        n = min(len(view), len(self.pending))
        view[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n


def _open_tar(path: Path, fh: IO[bytes]) -> tarfile.TarFile:
    if fh.read(len(_XZ_MAGIC)) == _XZ_MAGIC:
        fh.seek(0)
        stream = io.BufferedReader(_XZReader(fh, XZ_MEMLIMIT), 1024 * 1024)
        return tarfile.open(fileobj=stream, mode="r|", tarinfo=_BoundedTarInfo)
    fh.seek(0)
    return tarfile.open(fileobj=fh, mode="r:*", tarinfo=_BoundedTarInfo)


_CORRUPT = (tarfile.TarError, EOFError, OSError, ValueError, lzma.LZMAError, zlib.error)


def _extract_tar(ex: _Extractor, path: Path) -> None:
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise io_error(path, exc, "read") from exc
    with fh:
        try:
            tf = _open_tar(path, fh)
        except lzma.LZMAError as exc:
            if "limit" in str(exc).lower():
                raise ex.refuse("?", f"its xz stream needs more than {XZ_MEMLIMIT} bytes") from exc
            raise InputError(f"archive {ex.archive}: not a readable tar archive: {exc}") from exc
        except _CORRUPT as exc:
            raise InputError(f"archive {ex.archive}: not a readable tar archive: {exc}") from exc
        with tf:
            try:
                for member in tf:
                    _tar_member(ex, tf, member)
            except lzma.LZMAError as exc:
                raise InputError(f"archive {ex.archive}: corrupt xz stream: {exc}") from exc
            except _CORRUPT as exc:
                if isinstance(exc, OSError) and exc.errno is not None:
                    raise io_error(path, exc, "unpack") from exc
                raise InputError(f"archive {ex.archive}: corrupt tar archive: {exc}") from exc


def _tar_member(ex: _Extractor, tf: tarfile.TarFile, member: tarfile.TarInfo) -> None:
    if member.name in (".", "./"):
        return
    if member.isreg():
        if member.size > ex.max_bytes:
            raise ex.refuse(member.name, f"declares {member.size} bytes, over the limit")
        src = tf.extractfile(member)
        assert src is not None
        with src:
            ex.file(member.name, src, bool(member.mode & 0o111))
    elif member.isdir():
        ex.directory(member.name)
    elif member.issym():
        ex.symlink(member.name, member.linkname)
    elif member.islnk():
        ex.hardlink(member.name, member.linkname)
    elif member.ischr() or member.isblk():
        raise ex.refuse(member.name, "device file")
    elif member.isfifo():
        raise ex.refuse(member.name, "FIFO")
    else:
        raise ex.refuse(member.name, f"unsupported member type {member.type!r}")


def _extract_zip(ex: _Extractor, path: Path) -> None:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(f"archive {ex.archive}: not a readable zip archive: {exc}") from exc
    with zf:
        try:
            for info in zf.infolist():
                _zip_member(ex, zf, info)
        except (
            zipfile.BadZipFile,
            zipfile.LargeZipFile,
            EOFError,
            ValueError,
            zlib.error,  # a corrupt deflate stream
            lzma.LZMAError,
            NotImplementedError,  # a compression method zipfile does not know
        ) as exc:
            raise InputError(f"archive {ex.archive}: corrupt zip archive: {exc}") from exc
        except RuntimeError as exc:  # encrypted members
            raise ex.refuse("?", f"cannot read member: {exc}") from exc


def _zip_member(ex: _Extractor, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    if info.flag_bits & 0x1:
        raise ex.refuse(info.filename, "encrypted member")
    mode = (info.external_attr >> 16) & 0xFFFF
    kind = stat.S_IFMT(mode)
    if info.is_dir():
        ex.directory(info.filename)
    elif kind == stat.S_IFLNK:
        with zf.open(info) as src:
            raw = src.read(_MAX_LINK_TARGET + 1)
        if len(raw) > _MAX_LINK_TARGET:
            raise ex.refuse(info.filename, "symlink target too long")
        try:
            target = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ex.refuse(info.filename, "symlink target is not UTF-8") from exc
        ex.symlink(info.filename, target)
    elif kind in (stat.S_IFCHR, stat.S_IFBLK):
        raise ex.refuse(info.filename, "device file")
    elif kind == stat.S_IFIFO:
        raise ex.refuse(info.filename, "FIFO")
    elif kind in (0, stat.S_IFREG):
        with zf.open(info) as src:
            ex.file(info.filename, src, bool(mode & 0o111))
    else:
        raise ex.refuse(info.filename, f"unsupported member type {kind:o}")


def safe_extract(
    archive: Path,
    dest: Path,
    *,
    max_bytes: int,
    max_files: int,
    display_name: str | None = None,
) -> UnpackResult:
    """Extract *archive* (tar, optionally compressed, or zip) into the empty dir *dest*.

    *dest* is created (it must not exist). Raises :class:`UnsafeArchive` on
    any refused member; the caller removes *dest* then.
    """
    shown = display_name or archive.name
    try:
        os.mkdir(dest, 0o755)
        with open(archive, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise io_error(dest, exc, "create") from exc
    ex = _Extractor(shown, dest, max_bytes, max_files)
    extract: Callable[[_Extractor, Path], None]
    extract = _extract_zip if magic.startswith(b"PK") else _extract_tar
    extract(ex, archive)
    return UnpackResult(len(ex.regular), ex.links, ex.written)
