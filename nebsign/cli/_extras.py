"""``@needs_extra("scan")``: a command refuses early (exit 3) when its extra is missing."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from nebsign._internal.extras import require_extra

__all__ = ["needs_extra"]

F = TypeVar("F", bound=Callable[..., Any])


def needs_extra(extra: str) -> Callable[[F], F]:
    """Check, before the command's body runs, that *extra* is installed.

    Put it directly above the command function (below the click decorators), so
    ``--help`` still works without the extra and ``--format json`` is already known.
    """

    def wrap(func: F) -> F:
        @functools.wraps(func)
        def checked(*args: Any, **kwargs: Any) -> Any:
            require_extra(extra, click.get_current_context().command_path)
            return func(*args, **kwargs)

        return checked  # type: ignore[return-value]

    return wrap
