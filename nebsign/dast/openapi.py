"""Endpoints from an OpenAPI 3 document (JSON or YAML): paths, parameters, JSON bodies,
and which operations require authentication.

Untrusted input: at most :data:`MAX_SPEC_BYTES`, YAML anchors and aliases
refused (no alias bombs), local ``$ref`` only and at most :data:`MAX_REF_DEPTH`
deep, at most :data:`MAX_OPERATIONS` operations. Anything malformed is an
:class:`OpenApiError` (exit 2).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urljoin

from nebsign.dast.model import Endpoint, Param, ParamKind, join_url
from nebsign.errors import InputError

__all__ = ["MAX_SPEC_BYTES", "OpenApiError", "endpoints_from_openapi", "load_openapi"]

MAX_SPEC_BYTES = 8 * 1024 * 1024
MAX_REF_DEPTH = 20
MAX_OPERATIONS = 5000
_METHODS = ("get", "post", "put", "patch", "delete")
_KINDS = {"query": ParamKind.QUERY, "cookie": ParamKind.COOKIE, "header": ParamKind.HEADER}


class OpenApiError(InputError):
    """The OpenAPI document is malformed or unsupported."""


def load_openapi(raw: bytes, what: str = "OpenAPI document") -> dict[str, Any]:
    """Parse JSON or YAML; an :class:`OpenApiError` for anything but an OpenAPI 3 object."""
    if len(raw) > MAX_SPEC_BYTES:
        raise OpenApiError(f"{what}: larger than {MAX_SPEC_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise OpenApiError(f"{what}: not UTF-8 text") from exc
    doc: object
    if text.lstrip().startswith("{"):
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise OpenApiError(f"{what}: invalid JSON: {str(exc)[:120]}") from exc
    else:
        doc = _load_yaml(text, what)
    if not isinstance(doc, dict) or not str(doc.get("openapi", "")).startswith("3."):
        raise OpenApiError(f"{what}: not an OpenAPI 3 document (no 'openapi: 3.x')")
    if not isinstance(doc.get("paths"), dict):
        raise OpenApiError(f"{what}: 'paths' must be an object")
    return doc


def _load_yaml(text: str, what: str) -> object:
    import yaml  # type: ignore[import-untyped]

    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                raise OpenApiError(f"{what}: YAML aliases are not accepted")
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise OpenApiError(f"{what}: invalid YAML: {' '.join(str(exc).split())[:160]}") from exc
    except RecursionError as exc:
        raise OpenApiError(f"{what}: nested too deeply") from exc


def _resolve(doc: dict[str, Any], node: object, what: str, depth: int = 0) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if depth > MAX_REF_DEPTH:
            raise OpenApiError(f"{what}: $ref chain deeper than {MAX_REF_DEPTH}")
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise OpenApiError(f"{what}: only local $ref ('#/...') are supported")
        target: Any = doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                raise OpenApiError(f"{what}: $ref {ref[:100]!r} points nowhere")
            target = target[part]
        node, depth = target, depth + 1
    return node


def _example(doc: dict[str, Any], schema: object, what: str, depth: int = 0) -> str:
    schema = _resolve(doc, schema, what)
    if not isinstance(schema, dict):
        return "1"
    for key in ("example", "default"):
        if (
            key in schema
            and isinstance(schema[key], str | int | float)
            and not isinstance(schema[key], bool)
        ):
            return str(schema[key])
    enum = schema.get("enum")
    if isinstance(enum, list) and enum and isinstance(enum[0], str | int):
        return str(enum[0])
    kind = schema.get("type")
    if kind in ("integer", "number"):
        return "1"
    if kind == "boolean":
        return "true"
    if schema.get("format") in ("uri", "url"):
        return "http://127.0.0.1/"
    return "test"


def endpoints_from_openapi(doc: dict[str, Any], base_url: str) -> list[Endpoint]:
    """Endpoints of every operation: under the first server, resolved against *base_url*."""
    servers = doc.get("servers")
    server = urljoin(base_url, "/")  # the spec's default server is "/"
    if isinstance(servers, list) and servers and isinstance(servers[0], dict):
        url = servers[0].get("url")
        if isinstance(url, str):
            joined = join_url(base_url, url)
            if joined is None:
                raise OpenApiError("OpenAPI servers[0].url is not a valid URL")
            server = joined
    if not server.endswith("/"):
        server += "/"
    global_security = doc.get("security")
    out: list[Endpoint] = []
    for path, item in doc["paths"].items():
        what = f"OpenAPI paths[{str(path)[:80]!r}]"
        if not isinstance(path, str) or not path.startswith("/"):
            raise OpenApiError(f"{what}: a path must start with '/'")
        item = _resolve(doc, item, what)
        if not isinstance(item, dict):
            raise OpenApiError(f"{what}: must be an object")
        shared = item.get("parameters", [])
        for method in _METHODS:
            op = item.get(method)
            if op is None:
                continue
            op = _resolve(doc, op, what)
            if not isinstance(op, dict):
                raise OpenApiError(f"{what}.{method}: must be an object")
            if len(out) >= MAX_OPERATIONS:
                raise OpenApiError(f"OpenAPI: more than {MAX_OPERATIONS} operations")
            out.append(_operation(doc, server, path, method, op, shared, global_security, what))
    return out


def _operation(
    doc: dict[str, Any],
    server: str,
    path: str,
    method: str,
    op: dict[str, Any],
    shared: object,
    global_security: object,
    what: str,
) -> Endpoint:
    params: list[Param] = []
    concrete = path
    own = op.get("parameters")
    raw_params = (shared if isinstance(shared, list) else []) + (
        own if isinstance(own, list) else []
    )
    for raw in raw_params:
        p = _resolve(doc, raw, what)
        if not isinstance(p, dict) or not isinstance(p.get("name"), str):
            raise OpenApiError(f"{what}: each parameter needs a name")
        value = _example(doc, p.get("schema", {}), what)
        if "example" in p and isinstance(p["example"], str | int):
            value = str(p["example"])
        where = p.get("in")
        if where == "path":
            concrete = concrete.replace("{" + p["name"] + "}", value)
        elif where in ("query", "cookie", "header"):
            params.append(Param(p["name"], value, _KINDS[where]))
    body_type = "form"
    extra: dict[str, Any] = {}
    body = _resolve(doc, op.get("requestBody"), what)
    if isinstance(body, dict) and isinstance(body.get("content"), dict):
        content = body["content"]
        for media, kind, btype in (
            ("application/json", ParamKind.JSON, "json"),
            ("application/x-www-form-urlencoded", ParamKind.FORM, "form"),
        ):
            media_obj = content.get(media)
            if isinstance(media_obj, dict):
                schema = _resolve(doc, media_obj.get("schema", {}), what)
                props = schema.get("properties", {}) if isinstance(schema, dict) else {}
                if isinstance(props, dict):
                    params.extend(
                        Param(str(n), _example(doc, s, what), kind) for n, s in props.items()
                    )
                body_type = btype
                break
        else:
            if any("xml" in str(m) for m in content):
                body_type = "xml"
    security = op.get("security", global_security)
    requires_auth = isinstance(security, list) and any(isinstance(s, dict) and s for s in security)
    url = join_url(server, concrete.lstrip("/"))
    if url is None:
        raise OpenApiError(f"{what}: the path does not make a valid URL")
    return Endpoint(
        method.upper(),
        url,
        tuple(params),
        source="openapi",
        body_type=body_type,
        requires_auth=requires_auth,
        extra=extra,
    )
