"""What Python would run, as the scanners must see it, and the source tricks that are findings.

Python runs more than ``*.py``: ``.pyw``, the ``import`` lines of ``.pth``
files (on every interpreter start) and executable scripts with a Python
shebang. :func:`is_python_source` decides, :func:`scan_name` gives each a
``.py`` name the scanners accept, and :func:`prepare` turns its bytes into
what Python executes (universal newlines; only the ``import`` lines of a
``.pth`` file), line for line, so scanner line numbers stay the file's own.

Some forms are read one way by Python and another by the scanners: a lone
``\\r`` (a newline to Python, not to semgrep), a coding declaration other
than UTF-8 (``utf-7``, ``unicode_escape``: Python decodes, scanners do not),
identifiers that are not NFKC-normal (Python folds full-width ``os`` to ``os``).
They have no legitimate use in a trading platform's source, so
:func:`source_hits` reports each as a finding of nebsign's own (tool
``nebsign``), and a file that is not UTF-8 text at all is a scan error.
"""

from __future__ import annotations

import codecs
import io
import re
import tokenize
import unicodedata

from nebsign.findings import Confidence, Severity
from nebsign.sast.interface import Hit
from nebsign.scancoverage import PYTHON_SUFFIXES

__all__ = [
    "PYTHON_SUFFIXES",
    "SOURCE_TOOL",
    "is_python_script",
    "is_python_source",
    "prepare",
    "scan_name",
    "source_hits",
]

#: the tool name of nebsign's own source checks
SOURCE_TOOL = "nebsign"
_SHEBANG = re.compile(rb"#![^\n\r]*[/\s](?:python|pypy)[0-9.]*(?:\s|$)")
_CODING = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")
_NEWLINE = re.compile(r"\r\n|\r|\n")
_PTH_EXEC = re.compile(rb"import[ \t]")
_SCAN_SUFFIX = ".nebsign-script.py"


def is_python_script(head: bytes) -> bool:
    """True if *head* (a file's first bytes) starts with a Python shebang line."""
    return _SHEBANG.match(head) is not None


def is_python_source(path: str, head: bytes, executable: bool) -> bool:
    """Whether Python would run the file at *path* whose first bytes are *head*.

    A shebang counts on an executable file or one without a suffix (what
    pre-commit's ``types: [python]`` and a shell both treat as a script).
    """
    if path.endswith(PYTHON_SUFFIXES):
        return True
    name = path.rsplit("/", 1)[-1]
    return ("." not in name or executable) and is_python_script(head)


def scan_name(path: str) -> str:
    """The name a scanner sees for *path*: the same path, ending in ``.py``."""
    return path if path.endswith(".py") else path + _SCAN_SUFFIX


def _universal(data: bytes) -> bytes:
    """*data* with ``\\r\\n`` and lone ``\\r`` made ``\\n``: lines as Python counts them."""
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n") if b"\r" in data else data


def _python_lines(data: bytes) -> list[bytes]:
    return _universal(data).split(b"\n")


def prepare(path: str, data: bytes) -> bytes:
    """The bytes a scanner should read for *path*: what Python executes, line for line."""
    if not path.endswith(".pth"):
        return _universal(data)
    # site.py exec()s lines starting with "import " or "import\t"; the rest are paths
    lines = _python_lines(data)
    return b"\n".join(line if _PTH_EXEC.match(line) else b"" for line in lines)


def text_lines(data: bytes) -> list[str]:
    """Decoded lines of *data* as Python counts them (for snippets)."""
    return _universal(data).decode("utf-8", errors="replace").split("\n")


def _hit(rule: str, line: int, column: int | None, title: str, message: str, fix: str) -> Hit:
    return Hit(
        rule_id=rule,
        line=line,
        column=column,
        end_line=line,
        end_column=None,
        severity=Severity.HIGH,
        confidence=Confidence.HIGH,
        title=title,
        message=message,
        recommendation=fix,
        cwe=("CWE-1007",) if rule == "non-nfkc-identifier" else ("CWE-436",),
        properties={},
    )


def source_hits(data: bytes) -> tuple[list[Hit], str | None]:
    """(nebsign's findings about *data*, or an error message if it is not UTF-8 text)."""
    hits: list[Hit] = []
    lone_cr = re.search(rb"\r(?!\n)", data)
    if lone_cr is not None:
        line = len(_python_lines(data[: lone_cr.start()]))
        hits.append(
            _hit(
                "carriage-return-line-break",
                line,
                None,
                "carriage return used as a line break",
                "a lone \\r ends a line for Python but not for the scanners, so code after "
                "it is hidden from them",
                "use \\n line endings (\\r\\n is accepted)",
            )
        )
    raw_lines = _python_lines(data[:4096])[:2]
    for number, raw in enumerate(raw_lines, start=1):
        match = _CODING.match(raw.decode("latin-1"))
        if match is None:
            continue
        name = match.group(1)
        try:
            canonical = codecs.lookup(name).name
        except LookupError:
            canonical = ""
        if canonical not in ("utf-8", "utf-8-sig"):
            hits.append(
                _hit(
                    "non-utf8-coding",
                    number,
                    None,
                    "source coding other than UTF-8",
                    f"coding declaration {name!r}: Python decodes this file differently from "
                    "the scanners, which can hide code from them",
                    "remove the coding declaration and store the file as UTF-8",
                )
            )
        break
    try:
        text = data.decode("utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8")
    except UnicodeDecodeError:
        if not any(h.rule_id == "non-utf8-coding" for h in hits):
            return hits, "not UTF-8 text: Python cannot import it as source and no scanner read it"
        return hits, None
    hits.extend(_identifier_hits(text))
    return hits, None


def _identifier_hits(text: str) -> list[Hit]:
    # cheap exits first: the tokenizer is only needed when some word would change
    if text.isascii() or unicodedata.is_normalized("NFKC", text):
        return []
    names: list[tuple[str, int, int]] = []
    try:
        normalized = "\n".join(_NEWLINE.split(text))
        for tok in tokenize.generate_tokens(io.StringIO(normalized).readline):
            if tok.type == tokenize.NAME and not tok.string.isascii():
                names.append((tok.string, tok.start[0], tok.start[1] + 1))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        # not tokenizable: look at every word (a scanner reports the file as an error anyway)
        for number, line in enumerate(_NEWLINE.split(text), start=1):
            names.extend(
                (m.group(0), number, m.start() + 1)
                for m in re.finditer(r"\w+", line)
                if not m.group(0).isascii()
            )
    hits = []
    for name, line, column in names:
        folded = unicodedata.normalize("NFKC", name)
        if folded != name:
            hits.append(
                _hit(
                    "non-nfkc-identifier",
                    line,
                    column,
                    "identifier that Python reads as another name",
                    f"identifier {name!a} is {folded!r} to Python (NFKC): a look-alike "
                    "that hides the real name from reviewers and scanners",
                    f"write it as {folded!r}",
                )
            )
    return hits
