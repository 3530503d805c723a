"""OpenAPI 3: endpoints only in the spec are found and probed; broken documents are exit 2."""

from __future__ import annotations

import contextlib
import json

import pytest
from dast.conftest import SPEC
from hypothesis import given, settings
from hypothesis import strategies as st

from nebsign.dast.engine import EngineLimits
from nebsign.dast.openapi import OpenApiError, endpoints_from_openapi, load_openapi
from nebsign.dast.scan import ScanConfig, run_scan

API_CHECKS = ("sqli-error", "unauthenticated-access")


def _scan(url: str, spec: bytes | None) -> list[tuple[str, str]]:
    out = run_scan(
        ScanConfig(target=url + "/health", checks=API_CHECKS, openapi=spec, limits=EngineLimits())
    )
    return sorted(
        (f.rule_id, (f.location.url or "").split("/", 3)[-1])
        for f in out.findings
        if f.properties.get("kind") == "active"
    )


def test_spec_only_endpoints_are_probed_and_open_admin_is_found(vuln_url: str) -> None:
    assert _scan(vuln_url, None) == []  # /health links nowhere: nothing to probe without the spec
    assert _scan(vuln_url, SPEC) == [
        ("sqli-error", "api/v1/items"),
        ("unauthenticated-access", "api/v1/admin/users"),
    ]


def test_twin_enforces_the_declared_authentication(twin_url: str) -> None:
    assert _scan(twin_url, SPEC) == []


def test_spec_from_a_url_in_scope(vuln_url: str) -> None:
    out = run_scan(
        ScanConfig(
            target=vuln_url + "/health",
            checks=("unauthenticated-access",),
            openapi_url=vuln_url + "/openapi.json",
        )
    )
    assert [f.rule_id for f in out.findings if f.properties.get("kind") == "active"] == [
        "unauthenticated-access"
    ]


def test_yaml_refs_bodies_and_security() -> None:
    doc = load_openapi(
        b"""
openapi: 3.1.0
servers: [{url: /v2}]
security: [{key: []}]
components:
  schemas:
    Order: {type: object, properties: {sku: {type: string, example: A1}, qty: {type: integer}}}
  parameters:
    Id: {name: id, in: path, required: true, schema: {type: integer, example: 7}}
paths:
  /orders/{id}:
    parameters: [{$ref: '#/components/parameters/Id'}]
    put:
      requestBody:
        content:
          application/json: {schema: {$ref: '#/components/schemas/Order'}}
    get:
      security: []
      parameters: [{name: q, in: query, schema: {type: string}}]
"""
    )
    eps = {e.method: e for e in endpoints_from_openapi(doc, "http://127.0.0.1:1/")}
    assert eps["PUT"].url == "http://127.0.0.1:1/v2/orders/7"
    assert [(p.name, p.value, p.kind.value) for p in eps["PUT"].params] == [
        ("sku", "A1", "json"),
        ("qty", "1", "json"),
    ]
    assert eps["PUT"].requires_auth and not eps["GET"].requires_auth
    assert eps["GET"].request().full_url() == "http://127.0.0.1:1/v2/orders/7?q=test"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\xff\xfe",
        b"[]",
        b'{"openapi": "2.0", "paths": {}}',
        b'{"openapi": "3.0.0"}',
        b'{"openapi": "3.0.0", "paths": {"x": {}}}',
        b'{"openapi": "3.0.0", "paths": {"/a": {"get": {"parameters": [{"$ref": "http://evil/"}]}}}}',
        b'{"openapi": "3.0.0", "paths": {"/a": {"$ref": "#/nowhere"}}}',
        b"a: &a [1]\nb: *a\nopenapi: 3.0.0\npaths: {}\n",
        b"openapi: 3.0.0\npaths: {/a: {get: {parameters: [{in: query}]}}}\n",
        b"{" * 100_000,
    ],
)
def test_broken_documents_are_input_errors(raw: bytes) -> None:
    with pytest.raises(OpenApiError):
        endpoints_from_openapi(load_openapi(raw), "http://127.0.0.1:1/")


def test_ref_cycles_end() -> None:
    doc = {
        "openapi": "3.0.0",
        "components": {"a": {"$ref": "#/components/b"}, "b": {"$ref": "#/components/a"}},
        "paths": {"/x": {"$ref": "#/components/a"}},
    }
    with pytest.raises(OpenApiError, match="deeper"):
        endpoints_from_openapi(load_openapi(json.dumps(doc).encode()), "http://127.0.0.1:1/")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000) | st.text(max_size=2000).map(str.encode))
def test_any_bytes_parse_or_raise_openapi_error(raw: bytes) -> None:
    try:
        doc = load_openapi(raw)
        endpoints_from_openapi(doc, "http://127.0.0.1:1/")
    except OpenApiError:
        pass


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=10), kids, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["/a", "/b/{id}", "x", "/c"]), json_values, max_size=3))
def test_any_paths_object_gives_endpoints_or_openapi_error(paths: dict) -> None:
    raw = json.dumps({"openapi": "3.0.0", "paths": paths}).encode()
    with contextlib.suppress(OpenApiError):
        endpoints_from_openapi(load_openapi(raw), "http://127.0.0.1:1/")
