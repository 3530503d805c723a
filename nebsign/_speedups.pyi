# Type stub for the optional C extension built from _speedups.c (ADR 0005).

def hash_names(
    directory: str, names: list[str], /
) -> tuple[list[int], bytes, bytes, dict[int, int]]: ...
