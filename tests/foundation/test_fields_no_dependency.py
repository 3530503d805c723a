"""ADR 0020's claim, held: the validation kit and the parsers built on it import no
schema library. pydantic is installed with the core (sigstore depends on it) but the
verify and agent paths never import it; jsonschema is not a core dependency at all."""

from __future__ import annotations

import subprocess
import sys

PARSE_EVERYTHING = r"""
import sys
from pathlib import Path
from nebsign._internal import fields
from nebsign.bundle import Bundle
from nebsign.channels.model import ChannelStatement
from nebsign.errors import InputError
from nebsign.findings import Finding
from nebsign.policy.host import parse_host_policy
from nebsign.policy.sast import SastPolicy
from nebsign.policy.trust import TrustPolicy
from nebsign.sarif import from_sarif

for parse in (Bundle.from_json, ChannelStatement.from_json, from_sarif, SastPolicy.from_toml):
    try:
        parse(b'{"a": 1}')
    except InputError:
        pass
try:
    Finding.from_dict({"location": {}})
except InputError:
    pass
for text in (b"version = 1\n", b'root = "/x"\ntrust_policy = "t"\nkeep = 1\n'):
    try:
        TrustPolicy.from_toml(text)
        parse_host_policy(text, base_dir=Path("/x"), trust_loader=lambda p: (None, b""))
    except InputError:
        pass
fields.obj({}, "x")
print(sorted(m for m in ("pydantic", "pydantic_core", "jsonschema") if m in sys.modules))
"""


def test_the_parsers_import_no_schema_library() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PARSE_EVERYTHING], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
