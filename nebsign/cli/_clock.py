"""The time a command stamps into what it signs: ``$SOURCE_DATE_EPOCH`` or now; durations.

``$SOURCE_DATE_EPOCH`` (reproducible-builds.org) is parsed for ``gate``, ``promote``
and ``rollback`` as ``release`` parses it, by the release pipeline's
:func:`~nebsign.release.pipeline.parse_source_date_epoch`.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta

from nebsign.errors import InputError

__all__ = ["duration", "now", "source_date_epoch"]

_DURATION = re.compile(r"([1-9][0-9]{0,5})([dhm])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def source_date_epoch() -> int | None:
    """``$SOURCE_DATE_EPOCH`` as seconds, None when unset; a malformed value is exit 2."""
    from nebsign.release.pipeline import parse_source_date_epoch

    return parse_source_date_epoch(os.environ.get("SOURCE_DATE_EPOCH"))


def now() -> datetime:
    """``$SOURCE_DATE_EPOCH`` when set, else now (UTC, whole seconds)."""
    from nebsign.release.pipeline import clock

    return clock(source_date_epoch())


def duration(text: str) -> timedelta:
    """``--expires-in``: a number and d, h or m (``7d``, ``12h``, ``30m``)."""
    match = _DURATION.fullmatch(text)
    if match is None:
        raise InputError(f"--expires-in {text[:40]!r}: give a number and d, h or m (e.g. 7d)")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
