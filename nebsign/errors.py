"""The one error hierarchy. The exit code lives on the class.

0 ok · 1 a verdict said no · 2 bad input or usage · 3 environment fault.
The CLI catches :class:`NebsignError` once, prints :meth:`diagnostics` on one
line and exits with :attr:`exit_code`.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "EnvironmentFault",
    "InputError",
    "NebsignError",
    "VerdictError",
]


class NebsignError(Exception):
    """Base of every error nebsign raises on purpose."""

    exit_code: ClassVar[int] = 3
    #: A short, stable code for machines (the agent's audit log, ``--format json``).
    #: Every concrete error class names its own.
    reason: ClassVar[str] = "nebsign-error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def diagnostics(self) -> str:
        """What went wrong and, when known, what to do: one line."""
        text = " ".join(self.message.split())
        if self.hint:
            text = f"{text} ({' '.join(self.hint.split())})"
        return text


class VerdictError(NebsignError):
    """A verification, policy or gate said no."""

    exit_code = 1
    reason = "verdict-error"


class InputError(NebsignError):
    """Input is malformed, unreadable or the usage is wrong."""

    exit_code = 2
    reason = "input-error"


class EnvironmentFault(NebsignError):
    """The environment failed us: a tool is missing, the disk is full."""

    exit_code = 3
    reason = "environment-fault"
