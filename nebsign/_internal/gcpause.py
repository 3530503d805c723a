"""Pause Python's cyclic garbage collector around bulk building of acyclic data."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused_gc"]


@contextmanager
def paused_gc() -> Iterator[None]:
    """Run the body with the cyclic GC off (reference counting still frees everything).

    Building 100,000 manifest entries otherwise triggers dozens of
    collections that scan every live object and find nothing: tuples and
    strings form no cycles. Restores the previous state; overlapping use
    from several threads can only leave the collector on, never off.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
