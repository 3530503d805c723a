"""Which files a scan covers, and the scanners a policy asks for."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nebsign.errors import InputError
from nebsign.policy.sast import SastPolicy
from nebsign.sast.bandit import BanditScanner
from nebsign.sast.interface import Scanner
from nebsign.sast.semgrep import SemgrepEngine, SemgrepScanner
from nebsign.sast.sources import PYTHON_SUFFIXES, is_python_source

__all__ = [
    "PRUNED_DIRS",
    "Collected",
    "build_scanners",
    "collect_files",
    "default_jobs",
    "in_scope",
]

#: directories never descended into at the scan root (tool caches, virtualenvs):
#: below the root the same names are ordinary, importable packages
PRUNED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "__pycache__",
        ".tox",
        ".nox",
        "node_modules",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".eggs",
        "site-packages",
    }
)
#: never descended into at any depth: version control data, not importable
_VCS_DIRS = frozenset({".git", ".hg", ".svn"})
_HEAD = 256


@dataclass(frozen=True, slots=True)
class Collected:
    """The files to scan, and the executable files looked at and found not to be Python."""

    files: tuple[str, ...]
    not_python: tuple[str, ...] = ()


def default_jobs() -> int:
    """Cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def build_scanners(
    policy: SastPolicy, policies_dir: Path, *, jobs: int, engine: str | None = None
) -> list[Scanner]:
    """The scanners *policy* names, configured from *policies_dir*."""
    scanners: list[Scanner] = []
    for name in policy.scanners:
        if name == "bandit":
            scanners.append(
                BanditScanner(
                    policies_dir / "bandit.yaml",
                    per_file_timeout=policy.per_file_timeout,
                    jobs=jobs,
                )
            )
        elif name == "semgrep":
            scanners.append(
                SemgrepScanner(
                    policies_dir / "semgrep",
                    engine=SemgrepEngine(engine or policy.semgrep_engine),
                    per_file_timeout=policy.per_file_timeout,
                    jobs=jobs,
                )
            )
    return scanners


def _relative(root: Path, path: Path) -> str:
    top = os.path.normpath(os.path.abspath(root))
    rel = os.path.relpath(os.path.normpath(os.path.abspath(path)), top)
    if rel == ".." or rel.startswith(".." + os.sep):
        raise InputError(
            f"{path} is outside the scan root {root}",
            hint="pass the directory to scan as the only argument, or --root DIR that contains it",
        )
    return rel.replace(os.sep, "/")


def _inside(root_real: str, path: str, rel: str) -> str:
    """The real path of the link *path* (shown as *rel*); a target outside the root is refused."""
    real = os.path.realpath(path)
    if real != root_real and not real.startswith(root_real + os.sep):
        raise InputError(
            f"{rel}: a symlink leading outside the scan root ({real})",
            hint="Python would import what it points to, which no scan covers; "
            "make it a file or a link inside the tree",
        )
    return real


def _head(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(_HEAD)
    except OSError:
        return b""


class _Walk:
    def __init__(self, root: Path, policy: SastPolicy) -> None:
        self.root_real = os.path.realpath(root)
        self.policy = policy
        self.files: set[str] = set()
        self.not_python: set[str] = set()

    def consider(self, full: str, rel: str) -> None:
        """One file (or link to a file) shown as *rel*."""
        if self.policy.excluded(rel):
            return
        if os.path.islink(full):
            real = _inside(self.root_real, full, rel)
            if not os.path.isfile(real):
                return
        elif not os.path.isfile(full):
            return
        if self.policy.includes(rel):
            self.files.add(rel)
            return
        name = rel.rsplit("/", 1)[-1]
        executable = os.access(full, os.X_OK)
        if ("." in name and not executable) or name.endswith(PYTHON_SUFFIXES):
            return
        if is_python_source(rel, _head(full), executable):
            self.files.add(rel)
        elif executable:
            self.not_python.add(rel)

    def walk(self, top: str, base: str, seen: frozenset[str]) -> None:
        """Every file below *top* (shown under *base*), entering in-tree directory links."""
        try:
            entries = sorted(os.scandir(top), key=lambda e: e.name)
        except OSError as exc:
            raise InputError(f"cannot list {base or '.'}: {exc.strerror or exc}") from exc
        for entry in entries:
            rel = f"{base}/{entry.name}" if base else entry.name
            if entry.is_dir(follow_symlinks=False):
                if entry.name in _VCS_DIRS or (not base and entry.name in PRUNED_DIRS):
                    continue
                if not self.policy.excluded(rel + "/"):
                    self.walk(entry.path, rel, seen)
            elif entry.is_symlink() and os.path.isdir(entry.path):
                real = _inside(self.root_real, entry.path, rel)
                if real not in seen and not self.policy.excluded(rel + "/"):
                    self.walk(entry.path, rel, seen | {real})
            else:
                self.consider(entry.path, rel)


def in_scope(policy: SastPolicy, path: str, head: bytes, executable: bool) -> bool:
    """The policy's scope: included by name or a Python script by content, and not excluded."""
    if policy.excluded(path):
        return False
    return policy.includes(path) or is_python_source(path, head, executable)


def collect_files(root: Path, paths: Sequence[Path], policy: SastPolicy) -> Collected:
    """In-scope files under *paths* (files or directories), as relative POSIX paths.

    In scope is what the policy includes, plus scripts with a Python shebang,
    less what it excludes. A file named explicitly is still subject to the
    policy (the pre-commit hook passes every staged file). Symlinks are
    followed inside the root and scanned under the link's name (Python
    imports the target as that module); one leading outside is refused.
    """
    walk = _Walk(root, policy)
    for path in paths:
        rel = _relative(root, path)
        if path.is_dir():
            real = os.path.realpath(path)
            walk.walk(str(path), "" if rel == "." else rel, frozenset({real}))
        elif path.is_symlink() or path.is_file():
            walk.consider(str(path), rel)
        else:
            raise InputError(f"{path}: no such file or directory")
    return Collected(tuple(sorted(walk.files)), tuple(sorted(walk.not_python - walk.files)))
