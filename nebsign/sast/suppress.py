"""Inline suppressions, honoured only in real comments (never inside string literals).

A file's comments are found with Python's own tokenizer, so ``"# nosec"``
inside a string is text, not a suppression. A suppression may give its
reason after ``--`` (``# nosec B602 -- argv is fixed``); the policy option
``suppression_reason_required`` makes the reason mandatory, and a marker
without one then silences nothing (the finding records why).
"""

from __future__ import annotations

import io
import tokenize
from dataclasses import dataclass

from nebsign.sast.interface import Hit, Scanner

__all__ = ["Comments", "Decision", "decide"]


class Comments:
    """The comment text on each line of a source (1-based), from the tokenizer.

    Tokenizing costs ~20 ms per 1,000 lines, so it happens on first use only:
    for a line that carries a suppression marker at all.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.split("\n")
        self._by_line: dict[int, str] | None = None

    def comment(self, number: int) -> str | None:
        """The comment on line *number*, or None."""
        if self._by_line is None:
            self._by_line = {}
            try:
                for tok in tokenize.generate_tokens(io.StringIO(self.text).readline):
                    if tok.type == tokenize.COMMENT:
                        self._by_line[tok.start[0]] = tok.string
            except (tokenize.TokenError, SyntaxError, IndentationError):
                # an untokenizable file honours no suppression (a scanner reports it anyway)
                self._by_line = {}
        return self._by_line.get(number)


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a hit is suppressed, by which comment, and why one did not count."""

    suppressed: bool
    comment: str = ""
    refused: str = ""


def _split(comment: str) -> tuple[str, str]:
    marker, sep, reason = comment.partition("--")
    return marker, reason.strip() if sep else ""


def decide(scanner: Scanner, comments: Comments, hit: Hit, *, reason_required: bool) -> Decision:
    """Apply *scanner*'s suppression comment to *hit*."""
    refused = ""
    for number in scanner.suppression_window(comments.lines, hit):
        if not scanner.suppression.search(comments.lines[number - 1]):
            continue  # no marker anywhere on the line: no need to find its comment
        comment = comments.comment(number)
        if comment is None:
            continue
        marker, reason = _split(comment)
        if not scanner.suppressed_by([marker], hit):
            continue
        if reason_required and not reason:
            refused = f"suppression without a reason refused: {comment.strip()}"
            continue
        return Decision(True, comment.strip())
    return Decision(False, refused=refused)
