"""The OpenAPI 3.0 document served at ``/openapi.json`` (written by hand: it is the
contract clients in other languages generate from; tests/test_serve.py checks the
service against it with schemathesis)."""

from __future__ import annotations

from typing import Any

from .. import __version__

_ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "a stable code: too-large, invalid-input, unreadable, ..."},
        "message": {"type": "string"},
        "problems": {
            "type": "array",
            "items": {"type": "object", "required": ["path", "message"],
                      "properties": {"path": {"type": "string"}, "message": {"type": "string"}}},
        },
    },
}


def _err(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


_COMMON_ERRORS = {
    "400": _err("a bad parameter or body"),
    "401": _err("an API key is needed and was not given or is unknown"),
    "413": _err("the body is larger than the limit"),
    "503": _err("every work slot is busy; retry later"),
    "504": _err("the work took longer than the time limit"),
}

_XML_BODY = {
    "required": True,
    "content": {
        "application/xml": {"schema": {"type": "string"}},
        "text/xml": {"schema": {"type": "string"}},
        "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}},
                                           "required": ["file"]}},
    },
}

_JSON_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {"type": "object", "description": "a neutral invoice (see shared/spec/neutral-invoice.md)"}},
        "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}},
                                           "required": ["file"]}},
    },
}

_PROVIDER = {"name": "provider", "in": "query", "required": False, "schema": {"type": "string"},
             "description": "a provider's codes and extra rules (GET /rules lists them)"}
_TYPE = {"name": "type", "in": "query", "required": False, "schema": {"type": "string", "enum": ["efatura", "earchive"]},
         "description": "GİB's type parameter (default from the ProfileID)"}
_STRICT = {"name": "strict", "in": "query", "required": False, "schema": {"type": "boolean"},
           "description": "ubltr's own rules count as errors"}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "ubltr",
            "version": __version__,
            "description": "Turkish e-invoices (UBL-TR 1.2): validate with GİB's rules, build from neutral JSON, "
                           "compute totals, parse, render.  Every error is JSON: {error, message[, problems]}.",
        },
        "paths": {
            "/validate": {"post": {
                "summary": "Validate a UBL-TR document (the report of `ubltr validate --format json`, byte for byte)",
                "parameters": [
                    {"name": "format", "in": "query", "required": False,
                     "schema": {"type": "string", "enum": ["json", "junit"]}},
                    _PROVIDER, _TYPE, _STRICT,
                    {"name": "name", "in": "query", "required": False, "schema": {"type": "string"},
                     "description": "the document's name in the report (default: the uploaded file name, else <body>)"},
                ],
                "requestBody": _XML_BODY,
                "responses": {
                    "200": {"description": "the report (also for an invalid or unreadable document: see valid, readable)",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Report"}},
                                        "application/xml": {"schema": {"type": "string"}}}},
                    **_COMMON_ERRORS,
                },
            }},
            "/build": {"post": {
                "summary": "Neutral JSON → UBL-TR XML",
                "parameters": [{"name": "number", "in": "query", "required": False,
                                "schema": {"type": "integer", "minimum": 1, "maximum": 999999999},
                                "description": "sequence number for an invoice that gives series instead of id"}],
                "requestBody": _JSON_BODY,
                "responses": {
                    "200": {"description": "the UBL-TR XML", "content": {"application/xml": {"schema": {"type": "string"}}}},
                    "422": _err("input errors, each with its JSON path"),
                    **_COMMON_ERRORS,
                },
            }},
            "/totals": {"post": {
                "summary": "The computed totals and tax subtotals of a neutral invoice (as `ubltr totals`)",
                "requestBody": _JSON_BODY,
                "responses": {
                    "200": {"description": "totals, amounts as decimal strings",
                            "content": {"application/json": {"schema": {"type": "object"}}}},
                    "422": _err("input errors, each with its JSON path"),
                    **_COMMON_ERRORS,
                },
            }},
            "/parse": {"post": {
                "summary": "UBL-TR invoice XML → neutral JSON",
                "requestBody": _XML_BODY,
                "responses": {
                    "200": {"description": "the neutral invoice", "content": {"application/json": {"schema": {"type": "object"}}}},
                    "422": _err("not a readable UBL-TR invoice"),
                    **_COMMON_ERRORS,
                },
            }},
            "/render": {"post": {
                "summary": "The document as a page for people (HTML, or PDF printed by headless Chromium)",
                "parameters": [
                    {"name": "format", "in": "query", "required": False, "schema": {"type": "string", "enum": ["html", "pdf"]}},
                    {"name": "default_template", "in": "query", "required": False, "schema": {"type": "boolean"},
                     "description": "ignore the document's embedded XSLT"},
                ],
                "requestBody": _XML_BODY,
                "responses": {
                    "200": {"description": "the page", "content": {"text/html": {"schema": {"type": "string"}},
                                                                   "application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
                    "422": _err("not a readable XML document"),
                    "501": _err("PDF asked for and no Chromium on the server"),
                    "502": _err("Chromium failed to print the PDF"),
                    **_COMMON_ERRORS,
                },
            }},
            "/batch": {"post": {
                "summary": "NDJSON in ({id, xml} or {id, invoice} per line), NDJSON out, one answer per line, in order",
                "parameters": [_PROVIDER, _TYPE, _STRICT],
                "requestBody": {"required": True, "content": {"application/x-ndjson": {"schema": {"type": "string"}}}},
                "responses": {
                    "200": {"description": "one JSON object per line: {line, id, ok, valid, report[, xml]} or "
                                           "{line, id, ok: false, error, message[, problems]}",
                            "content": {"application/x-ndjson": {"schema": {"type": "string"}}}},
                    **_COMMON_ERRORS,
                },
            }},
            "/health": {"get": {
                "summary": "Liveness, version, limits, whether PDF is available",
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["status", "version"],
                    "properties": {"status": {"type": "string"}, "version": {"type": "string"},
                                   "pdf": {"type": "boolean"}, "api_keys": {"type": "boolean"},
                                   "limits": {"type": "object"}}}}}}},
            }},
            "/rules": {"get": {
                "summary": "The GİB rule release and the ubltr rule sets this service runs",
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["gib", "rulesets"],
                    "properties": {"gib": {"type": "object"}, "rulesets": {"type": "object"},
                                   "documents": {"type": "object"}, "providers": {"type": "array", "items": {"type": "string"}}}}}}},
                              **{k: v for k, v in _COMMON_ERRORS.items() if k in ("401", "503", "504")}},
            }},
        },
        "components": {
            "schemas": {
                "Error": _ERROR,
                "Report": {
                    "type": "object",
                    "required": ["name", "valid", "readable", "errors", "warnings", "findings"],
                    "properties": {
                        "name": {"type": "string"}, "valid": {"type": "boolean"}, "readable": {"type": "boolean"},
                        "document": {"type": "string", "nullable": True}, "profile": {"type": "string", "nullable": True},
                        "type_code": {"type": "string", "nullable": True},
                        "schematron_type": {"type": "string", "nullable": True},
                        "layers": {"type": "array", "items": {"type": "string"}},
                        "errors": {"type": "integer"}, "warnings": {"type": "integer"},
                        "findings": {"type": "array", "items": {"$ref": "#/components/schemas/Finding"}},
                        "positions": {"type": "array", "items": {"type": "object"}},
                    },
                },
                "Finding": {
                    "type": "object",
                    "required": ["rule", "severity", "source", "message"],
                    "properties": {
                        "rule": {"type": "string"}, "severity": {"type": "string", "enum": ["error", "warning", "info"]},
                        "source": {"type": "string"}, "message": {"type": "string"},
                        "gib_message": {"type": "string"}, "fix": {"type": "string"},
                        "line": {"type": "integer"}, "location": {"type": "string"},
                        "provider_codes": {"type": "object", "additionalProperties": {"type": "string"}},
                    },
                },
            },
            "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}},
        },
    }
