"""SAST <-> DAST: the DAST finding on /item [id] links to the SAST finding in its handler."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import run_cli

HANDLER = """import sqlite3

from flask import Flask, request

app = Flask(__name__)
db = sqlite3.connect("shop.db")


@app.route("/item")
def item():
    item_id = request.args.get("id")
    rows = db.execute(f"SELECT name FROM items WHERE id = {item_id}").fetchall()
    return str(rows)


@app.route("/other")
def other():
    name = request.args.get("name")
    return db.execute(f"SELECT 1 FROM t WHERE n = '{name}'").fetchall()
"""


def test_one_weakness_proven_twice(vuln_url: str, tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(HANDLER)
    sast = run_cli("scan", "sast", "--no-cache", "--format", "json", cwd=tmp_path)
    assert sast.exit_code == 1, sast.stderr
    (tmp_path / "sast.json").write_text(sast.stdout)
    result = run_cli(
        "scan", "dast", vuln_url + "/item?id=1", "--checks", "sqli-error", "--max-pages", "1",
        "--sast", "sast.json", "--format", "json", cwd=tmp_path,
    )  # fmt: skip
    doc = json.loads(result.stdout)
    finding = next(f for f in doc["findings"] if f["rule_id"] == "sqli-error")
    links = finding["properties"]["sast_links"]
    assert [(x["path"], x["line"], x["rule_id"]) for x in links] == [
        ("app.py", 12, "sql-built-from-strings")
    ]  # the /other handler's SQL is not this weakness
    text = run_cli(
        "scan", "dast", vuln_url + "/item?id=1", "--checks", "sqli-error", "--max-pages", "1",
        "--sast", "sast.json", cwd=tmp_path,
    )  # fmt: skip
    assert "proven twice: SAST sql-built-from-strings at app.py:12" in text.stdout


def test_malformed_sast_result_is_exit_2(vuln_url: str, tmp_path: Path) -> None:
    (tmp_path / "sast.json").write_text('{"nope": 1}')
    result = run_cli(
        "scan", "dast", vuln_url + "/health", "--checks", "sqli-error", "--sast", "sast.json",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.exit_code == 2 and "Traceback" not in result.stderr
