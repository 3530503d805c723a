"""``nebsign report rollout STORE -o DIR``: only verified statements, everything escaped."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

from channelkit import Store, trust_toml
from helpers import assert_one_line_error, run_cli

from nebsign.channels.model import ChannelStatement
from nebsign.channels.publish import publish_statement
from nebsign.keys import generate_key


def _policies(store: Store, tmp_path: Path) -> list[str]:
    out = []
    for name, key in (
        ("channel", store.channel_key),
        ("rollback", store.rollback_key),
        ("gate", store.gate_key),
    ):
        path = tmp_path / f"{name}-trust.toml"
        path.write_text(trust_toml([key]))
        out += [f"--{name}-policy", str(path)]
    return out


def test_rollout_page(store: Store, tmp_path: Path) -> None:
    for v in ("1.0.0", "1.1.0"):
        store.release(v)
    store.publish("1.0.0", 1, channel="canary")
    store.publish("1.0.0", 1, evidence=store.evidence("1.0.0"))
    store.publish("1.1.0", 2, evidence=store.evidence("1.1.0"))
    store.publish(
        "1.0.0", 3, rollback=True, key=store.rollback_key, evidence=store.evidence("1.0.0")
    )
    hostile = store.publish("1.1.0", 2, channel="canary")
    forged = replace(hostile, channel="regional-eu", release="<script>alert(1)</script>")
    publish_statement(store.root, forged, [generate_key()], {})  # not a trusted key
    odd = replace(hostile, channel="staging", release='<img src=x onerror="x">*[a](http://e)*')
    publish_statement(store.root, odd, [store.channel_key], {})
    out = tmp_path / "status"
    r = run_cli("report", "rollout", str(store.root), "-o", str(out), *_policies(store, tmp_path))
    assert r.exit_code == 0, r.stderr
    doc = json.loads((out / "rollout.json").read_text())
    by = {c["channel"]: c for c in doc["channels"]}
    assert set(by) == {"canary", "global", "staging"}  # the forged channel is not rendered
    assert doc["not_verified"] == 1
    g = by["global"]
    assert (g["version"], g["sequence"], g["rollback"]) == ("1.0.0", 3, True)
    assert {e["gate"]: e["verdict"] for e in g["evidence"]} == {
        "canary": "pass",
        "regional": "pass",
    }
    assert all(e["verified"] for e in g["evidence"])
    assert doc["rollbacks"] == [
        {"at": g["issued_at"], "channel": "global", "from": "1.1.0", "sequence": 3, "to": "1.0.0"}
    ]
    html = (out / "index.html").read_text()
    assert "<script>" not in html and "<img" not in html
    assert "&lt;img src=x" in html
    assert "script-src 'none'" in html
    md = (out / "rollout.md").read_text()
    assert "\\<img" in md
    assert not re.search(r"(?<!\\)<", md) and not re.search(r"(?<!\\)\]\(", md)


def test_rollout_page_refuses_a_store_with_nothing_verified(store: Store, tmp_path: Path) -> None:
    store.release("1.0.0")
    store.publish("1.0.0", 1, channel="canary", key=generate_key())
    r = run_cli(
        "report", "rollout", str(store.root), "-o", str(tmp_path / "o"), *_policies(store, tmp_path)
    )
    assert_one_line_error(r, 1)
    assert not (tmp_path / "o").exists()


def test_statement_bytes_round_trip_in_the_store(store: Store) -> None:
    store.release("1.0.0")
    st = store.publish("1.0.0", 1, channel="canary")
    raw = (store.root / "channels" / "canary.json").read_bytes()
    assert ChannelStatement.from_json(raw) == st
