"""Release versions and their total order.

A release version is ``N(.N)*`` numeric components with an optional
``-prerelease`` (dot-separated identifiers) and optional ``+build`` metadata,
as in SemVer 2.0.0 but with any number of numeric components. Order:

* numeric components compare as integers, missing ones count as 0
  (``1.2 == 1.2.0``), leading zeros are refused;
* a pre-release sorts before its release (``1.0.0-rc.1 < 1.0.0``); pre-release
  identifiers compare numerically when both are numeric, else as ASCII,
  numeric before alphanumeric, and a shorter list of equal prefix first;
* build metadata does not affect order. Two versions that compare equal are
  "the same version" for the agent's downgrade and mix-and-match checks.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from nebsign.errors import InputError

__all__ = ["ReleaseVersion"]

_VERSION_RE = re.compile(
    r"(?P<release>(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*)"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)
_MAX_LEN = 128


@functools.total_ordering
@dataclass(frozen=True, slots=True, eq=False)
class ReleaseVersion:
    """A parsed release version; compare with ``<``, ``==``."""

    text: str
    release: tuple[int, ...]
    pre: tuple[int | str, ...]
    build: str

    @classmethod
    def parse(cls, text: str) -> ReleaseVersion:
        """Parse *text* or raise :class:`InputError`."""
        if len(text) > _MAX_LEN:
            raise InputError(f"release version longer than {_MAX_LEN} characters")
        match = _VERSION_RE.fullmatch(text)
        if match is None:
            raise InputError(
                f"invalid release version {text!r}",
                hint="use numbers separated by dots, e.g. 1.4.2 or 2.0.0-rc.1",
            )
        release = tuple(int(p) for p in match.group("release").split("."))
        pre_text = match.group("pre")
        pre: tuple[int | str, ...] = ()
        if pre_text:
            items: list[int | str] = []
            for ident in pre_text.split("."):
                if ident.isdigit():
                    if len(ident) > 1 and ident.startswith("0"):
                        raise InputError(f"invalid release version {text!r}: leading zero")
                    items.append(int(ident))
                else:
                    items.append(ident)
            pre = tuple(items)
        return cls(text, release, pre, match.group("build") or "")

    def _key(self) -> tuple[tuple[int, ...], int, tuple[tuple[int, int, str], ...]]:
        release = self.release
        while len(release) > 1 and release[-1] == 0:
            release = release[:-1]
        pre = tuple((0, i, "") if isinstance(i, int) else (1, 0, i) for i in self.pre)
        # No pre-release sorts after any pre-release of the same release.
        return release, 0 if self.pre else 1, pre

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ReleaseVersion):
            return NotImplemented
        return self._key() == other._key()

    def __lt__(self, other: ReleaseVersion) -> bool:
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        return self.text
