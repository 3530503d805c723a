"""Path safety for every path read from untrusted input."""

from __future__ import annotations

from nebsign.errors import InputError

__all__ = ["MAX_PATH_LEN", "check_link_target", "check_relpath"]

MAX_PATH_LEN = 4096


def check_relpath(path: str, what: str = "path") -> str:
    """Return *path* if it is a safe, normalized, relative POSIX path.

    Refused: empty, absolute, ``.`` or ``..`` components, empty components
    (``a//b``, trailing ``/``), NUL, control-free is not required (names may
    hold newlines; they are escaped where printed), over-long paths, lone
    surrogates (names that are not UTF-8).
    """
    if not isinstance(path, str) or not path:
        raise InputError(f"{what}: empty path")
    if len(path) > MAX_PATH_LEN:
        raise InputError(f"{what}: path longer than {MAX_PATH_LEN} characters")
    if "\x00" in path:
        raise InputError(f"{what}: path contains a NUL byte")
    if path.startswith("/"):
        raise InputError(f"{what}: absolute path {path!r} is not allowed")
    for part in path.split("/"):
        if part in ("", ".", ".."):
            raise InputError(f"{what}: unsafe path {path!r} (empty, '.' or '..' component)")
    try:
        path.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(f"{what}: path {path!r} is not valid UTF-8") from exc
    return path


def check_link_target(link_path: str, target: str, what: str = "symlink") -> str:
    """Return *target* if a symlink at *link_path* pointing to it stays inside the root.

    The target must be relative, and all its ``..`` components must come
    first: they climb from the link's own directory (a real directory, since
    links are never followed while walking), and no further than the root;
    the rest only descends. A purely lexical check would be fooled by
    ``l/../..`` when ``l`` is itself a link; this form cannot be, because
    every link it descends through is held to the same rule.
    """
    check_relpath(link_path, what)
    if not target or "\x00" in target or len(target) > MAX_PATH_LEN:
        raise InputError(f"{what} {link_path!r}: invalid target")
    if target.startswith("/"):
        raise InputError(f"{what} {link_path!r} -> {target!r}: absolute target leaves the tree")
    parts = [p for p in target.split("/") if p not in ("", ".")]
    ups = 0
    while ups < len(parts) and parts[ups] == "..":
        ups += 1
    if ".." in parts[ups:]:
        raise InputError(
            f"{what} {link_path!r} -> {target!r}: '..' after a name is not allowed in a target"
        )
    if ups > link_path.count("/"):
        raise InputError(f"{what} {link_path!r} -> {target!r}: target escapes the tree")
    try:
        target.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(f"{what} {link_path!r}: target is not valid UTF-8") from exc
    return target
