"""Which files a scan covers, and the scanners a policy asks for."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from nebsign.errors import InputError
from nebsign.policy.sast import SastPolicy
from nebsign.sast.bandit import BanditScanner
from nebsign.sast.interface import Scanner
from nebsign.sast.semgrep import SemgrepEngine, SemgrepScanner

__all__ = ["PRUNED_DIRS", "build_scanners", "collect_files", "default_jobs"]

#: directories never descended into (tool caches, VCS data, virtualenvs)
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
    try:
        rel = path.resolve().relative_to(root.resolve())
    except ValueError as exc:
        raise InputError(
            f"{path} is outside the scan root {root}", hint="pass --root DIR that contains it"
        ) from exc
    return rel.as_posix()


def collect_files(root: Path, paths: Sequence[Path], policy: SastPolicy) -> list[str]:
    """Relative POSIX paths of in-scope files under *paths* (files or directories).

    A file named explicitly is still subject to the policy's include/exclude
    (the pre-commit hook passes every staged file). Symlinks are not followed.
    """
    out: set[str] = set()
    for path in paths:
        if path.is_symlink():
            continue
        if path.is_file():
            rel = _relative(root, path)
            if policy.selects(rel):
                out.add(rel)
            continue
        if not path.is_dir():
            raise InputError(f"{path}: no such file or directory")
        base = _relative(root, path)
        for dirpath, dirnames, filenames in os.walk(path, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if d not in PRUNED_DIRS)
            rel_dir = os.path.relpath(dirpath, path)
            for name in filenames:
                full = os.path.join(dirpath, name)
                if os.path.islink(full) or not os.path.isfile(full):
                    continue
                rel = os.path.normpath(os.path.join(base, rel_dir, name)).replace(os.sep, "/")
                if rel.startswith("./"):
                    rel = rel[2:]
                if policy.selects(rel):
                    out.add(rel)
    return sorted(out)
