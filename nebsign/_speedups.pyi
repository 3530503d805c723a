# Type stub for the optional C extension built from _speedups.c (ADR 0005).

from typing import Any

def hash_names(
    directory: str, names: list[str], defer: int = 0, expected: bytes | None = None, /
) -> tuple[list[int], bytes, bytes, dict[int, int]]: ...
def hash_entries(
    root: str,
    names: list[str],
    prefix: str,
    entry_type: type,
    defer: int = 0,
    expected: bytes | None = None,
    /,
) -> tuple[tuple[Any, ...] | None, bytes | None, dict[int, int]]: ...
def list_dir(
    root: str, prefix: str = "", /
) -> tuple[list[str], list[str], list[str], list[str]]: ...
def manifest_sizes(raw: bytes, /) -> dict[str, int] | None: ...
