"""Property tests: every importer takes any bytes without a traceback; invariants hold."""

from __future__ import annotations

import contextlib
import copy
import json
from typing import Any

from audit.auditkit import DATA, SLITHER_VAULT, audit_doc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nebsign.audit.check import check_release
from nebsign.audit.importers.auditfile import AuditFileImporter
from nebsign.audit.importers.contest import ContestImporter
from nebsign.audit.importers.sarif import SarifImporter
from nebsign.audit.importers.slither import SlitherImporter
from nebsign.audit.interface import detect
from nebsign.audit.mapping import map_status
from nebsign.audit.model import Audit, ScopeEntry, scrub_local_paths
from nebsign.audit.policy import AuditPolicy
from nebsign.errors import InputError
from nebsign.findings import Status
from nebsign.manifest import FileEntry, Manifest

IMPORTERS = [AuditFileImporter(), SlitherImporter(), SarifImporter(), ContestImporter()]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _try(importer: Any, raw: bytes) -> None:
    try:
        importer.parse(raw, "input")
    except InputError as exc:
        assert exc.exit_code == 2
        assert "\n" not in exc.diagnostics()


@SETTINGS
@given(st.binary(max_size=2000))
def test_any_bytes_never_crash_an_importer(raw: bytes) -> None:
    for importer in IMPORTERS:
        _try(importer, raw)
    with contextlib.suppress(InputError):
        detect(raw, "x")


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


def _replace(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    doc = copy.deepcopy(doc)
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


BASE_AUDIT = audit_doc()
BASE_SLITHER = json.loads(SLITHER_VAULT.read_text())
BASE_SARIF = json.loads((DATA / "slither-vault.sarif").read_text())


@SETTINGS
@given(st.data())
def test_any_field_replaced_by_any_json_is_parsed_or_refused(data: st.DataObject) -> None:
    for importer, base in (
        (AuditFileImporter(), BASE_AUDIT),
        (SlitherImporter(), BASE_SLITHER),
        (SarifImporter(), BASE_SARIF),
    ):
        path = data.draw(st.sampled_from(_paths(base)))
        doc = _replace(base, path, data.draw(JSON))
        _try(importer, json.dumps(doc).encode())


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["H", "M", "L", "QA", "G", "NC", "X"]),
            st.integers(0, 99),
            st.text(max_size=30),
            st.text(max_size=60),
        ),
        max_size=6,
    )
)
def test_contest_markdown_is_parsed_or_refused(items: list[tuple[str, int, str, str]]) -> None:
    text = "# Report\n" + "".join(
        f"\n## [{p}-{n:02d}] {title}\n{body}\n" for p, n, title, body in items
    )
    _try(ContestImporter(), text.encode("utf-8", "surrogatepass"))


@given(st.text(max_size=40))
def test_status_labels_never_turn_refusals_into_fixed(label: str) -> None:
    for refusal in ("Acknowledged", "Declined", "Won't fix", "Risk accepted"):
        assert map_status(refusal, "x") is not Status.FIXED
    try:
        status = map_status(label, "x")
    except InputError:
        return
    low = label.lower()
    if any(w in low for w in ("ack", "declin", "won", "accept")):
        assert status is not Status.FIXED


@given(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40),
    st.sampled_from(["/home/", "/Users/", "C:\\Users\\", "/tmp/"]),
    st.from_regex(r"[a-z]{1,8}(/[A-Za-z0-9_.]{1,8}){0,3}", fullmatch=True),
)
def test_scrubbed_text_holds_no_local_path(prefix: str, home: str, rest: str) -> None:
    out = scrub_local_paths(f"{prefix} {home}{rest} tail")
    assert f"{home}{rest}" not in out


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.from_regex(r"contracts/[a-c]{1,2}\.sol|app/[a-c]\.py", fullmatch=True),
        st.sampled_from(["a" * 64, "b" * 64]),
        max_size=8,
    ),
    st.dictionaries(
        st.from_regex(r"contracts/[a-c]{1,2}\.sol", fullmatch=True),
        st.sampled_from(["a" * 64, "b" * 64]),
        max_size=8,
    ),
)
def test_each_required_file_is_covered_uncovered_or_drifted(
    released: dict[str, str], audited: dict[str, str]
) -> None:
    manifest = Manifest(files=tuple(FileEntry(p, 1, d) for p, d in sorted(released.items())))
    audit = Audit(
        kind="nebsign",
        auditor="x",
        findings=(),
        scope=tuple(ScopeEntry(p, "sha256", d) for p, d in audited.items()),
    )
    policy = AuditPolicy.from_toml(b'[audit]\nrequired = ["contracts/**"]\n')
    cov = check_release(manifest, [audit], policy)
    required = {p for p in released if p.startswith("contracts/")}
    drifted = {d.path for d in cov.drifted}
    assert set(cov.covered) | set(cov.uncovered) | drifted == required
    assert len(cov.covered) + len(cov.uncovered) + len(drifted) == len(required)
    for path in required:
        if path not in audited:
            assert path in cov.uncovered
        elif audited[path] == released[path]:
            assert path in cov.covered
        else:
            assert path in drifted


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            ["required", "fail_on", "accept_sha1", "accept_acknowledged", "severity", "rules", "x"]
        ),
        JSON,
        max_size=5,
    )
)
def test_any_audit_table_is_parsed_or_refused(table: dict[str, Any]) -> None:
    lines = ["[audit]"]
    for key, value in table.items():
        lines.append(f"{key} = {_toml(value)}")
    try:
        AuditPolicy.from_toml("\n".join(lines).encode())
    except InputError as exc:
        assert exc.exit_code == 2 and "\n" not in exc.diagnostics()


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) or value is None:
        return json.dumps(value or "")
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["Critical", "Major", "Medium", "Minor", "Informational", "Gas", "QA"]),
            st.sampled_from(
                ["Resolved", "Acknowledged", "Declined", "Won't Fix", "Mitigated", "Unresolved"]
            ),
        ),
        max_size=12,
    )
)
def test_only_resolved_findings_count_as_fixed(labels: list[tuple[str, str]]) -> None:
    from nebsign.audit.check import judge
    from nebsign.audit.report import predicate

    findings = [
        {"id": f"F-{i}", "title": "t", "severity": sev, "status": status}
        for i, (sev, status) in enumerate(labels)
    ]
    audit = AuditFileImporter().parse(json.dumps(audit_doc(findings=findings)).encode(), "a")
    pred = predicate(judge([audit], AuditPolicy.from_toml(b"[audit]\n")))
    assert pred["counts"]["fixed"] == sum(1 for _, status in labels if status == "Resolved")
    refused = {"Acknowledged", "Declined", "Won't Fix"}
    for f, (_, status) in zip(
        sorted(pred["findings"], key=lambda f: int(f["rule_id"][2:])), labels, strict=True
    ):
        if status in refused:
            assert f["status"] != "fixed"
