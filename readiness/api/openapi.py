"""The OpenAPI 3.1 document of /api/v1, kept beside the views it describes.

A test runs schemathesis against it, so it must match what the views really do:
every status code, every body, errors included.
"""

from functools import cache

from ..domain.facts import FACT_NAME, MAX_ABS_VALUE, MAX_FACTS, MAX_NAME, MAX_SOURCE
from ..models import SERVICE_STATES

SLUG = {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$", "maxLength": 64}
NULLABLE_STRING = {"type": ["string", "null"]}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}


def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def json_body(schema, description):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def problem(description):
    return {"description": description,
            "content": {"application/problem+json": {"schema": ref("Problem")}}}


UNAUTHORIZED = problem("No token, or a wrong, revoked or disabled user's token.")
NOT_FOUND = problem("No such service or review.")
SLUG_PARAMETER = {"name": "slug", "in": "path", "required": True, "schema": SLUG,
                  "description": "The service's slug."}

# Query parameters are read by api.parameters.read_query from these same definitions, so
# the handlers accept exactly what the document says.
SERVICE_LIST_PARAMETERS = [
    {"name": "state", "in": "query",
     "schema": {"type": "string", "enum": list(SERVICE_STATES)}},
    {"name": "team", "in": "query", "schema": SLUG},
    {"name": "page", "in": "query",
     "schema": {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1}},
    {"name": "per_page", "in": "query",
     "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}},
]
# Every operation may answer these (the app's own limits, docs/api.md).
COMMON_RESPONSES = {
    "414": problem("The address is longer than 4,096 characters."),
}
BUSY = problem("The database is busy (SQLite's write lock; retry after Retry-After "
               "seconds) or takes no changes now (read-only or full). Nothing was stored.")

SCHEMAS = {
    "Problem": {
        "type": "object", "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string"}, "title": {"type": "string"},
            "status": {"type": "integer"}, "detail": {"type": "string"},
            "errors": {"type": "array", "items": ref("EntryError")},
        },
    },
    "EntryError": {
        "type": "object", "required": ["index", "field", "message"],
        "properties": {"index": {"type": ["integer", "null"]}, "field": NULLABLE_STRING,
                       "message": {"type": "string"}},
    },
    "Links": {
        "type": "object", "required": ["repo", "runbook", "dashboard"],
        "properties": {"repo": NULLABLE_STRING, "runbook": NULLABLE_STRING,
                       "dashboard": NULLABLE_STRING},
    },
    "ServiceSummary": {
        "type": "object", "required": ["slug", "name", "team", "tier", "state", "links"],
        "properties": {
            "slug": SLUG, "name": {"type": "string"}, "team": {"type": "string"},
            "tier": {"type": "integer", "minimum": 1, "maximum": 3},
            "state": {"type": "string", "enum": list(SERVICE_STATES)},
            "links": ref("Links"),
        },
    },
    "ServiceList": {
        "type": "object", "required": ["services", "page", "per_page", "total", "pages"],
        "properties": {
            "services": {"type": "array", "items": ref("ServiceSummary")},
            "page": {"type": "integer"}, "per_page": {"type": "integer"},
            "total": {"type": "integer"}, "pages": {"type": "integer"},
        },
    },
    "UnreviewedServices": {
        "type": "object", "required": ["services", "total"],
        "properties": {"services": {"type": "array", "items": ref("ServiceSummary")},
                       "total": {"type": "integer"}},
    },
    "LatestFact": {
        "type": "object", "required": ["value", "observed_at", "source"],
        "properties": {"value": {"type": "number"},
                       "observed_at": {"type": "string", "format": "date-time"},
                       "source": {"type": "string"}},
    },
    "ServiceDetail": {
        "allOf": [ref("ServiceSummary"), {
            "type": "object",
            "required": ["description", "gate", "latest_facts", "return_conditions"],
            "properties": {
                "description": {"type": "string"},
                "gate": {"type": "object", "required": ["allowed", "reasons"], "properties": {
                    "allowed": {"type": "boolean"},
                    "reasons": {"type": "array", "items": {"type": "string"}}}},
                "latest_facts": {"type": "object", "additionalProperties": ref("LatestFact")},
                "return_conditions": {"oneOf": [{"type": "null"}, {
                    "type": "object",
                    "required": ["handed_back_at", "reason", "conditions", "items",
                                 "target_date"],
                    "properties": {
                        "handed_back_at": {"type": "string", "format": "date-time"},
                        "reason": {"type": "string"}, "conditions": {"type": "string"},
                        "items": {"type": "array", "items": {"type": "string"}},
                        "target_date": {"type": ["string", "null"], "format": "date"}}}]},
            },
        }],
    },
    "Gate": {
        "type": "object", "required": ["service", "allowed", "state", "reasons", "waivers",
                                       "environment", "advisory", "override"],
        "properties": {
            "service": SLUG, "allowed": {"type": "boolean"},
            "state": {"type": "string", "enum": list(SERVICE_STATES)},
            "reasons": {"type": "array", "items": {"type": "string"},
                        "description": "Why not, when not allowed; empty when allowed."},
            "environment": {"type": "string"},
            "advisory": {"type": "boolean",
                         "description": "True for a refusal in an advisory environment "
                                        "(answered 200)."},
            "override": {"oneOf": [{"type": "null"}, {
                "type": "object", "required": ["by", "reason", "expires_at"],
                "description": "The break-glass override letting it through (200).",
                "properties": {"by": NULLABLE_STRING, "reason": {"type": "string"},
                               "expires_at": {"type": "string", "format": "date-time"}}}]},
            "waivers": {
                "type": "array",
                "description": "The granted waivers the launch approval leans on.",
                "items": {"type": "object", "required": ["item", "title", "expires_on"],
                          "properties": {"item": {"type": "string"},
                                         "title": {"type": "string"},
                                         "expires_on": {"type": "string",
                                                        "format": "date"}}}},
        },
    },
    "Fact": {
        "type": "object", "additionalProperties": False,
        "required": ["name", "value", "observed_at"],
        "properties": {
            "name": {"type": "string", "pattern": FACT_NAME.pattern, "maxLength": MAX_NAME},
            "value": {"type": "number", "minimum": -MAX_ABS_VALUE, "maximum": MAX_ABS_VALUE},
            "observed_at": {"type": "string", "format": "date-time",
                            "description": "RFC 3339 with a time zone; not in the future."},
            "source": {"type": "string", "maxLength": MAX_SOURCE},
        },
    },
    "FactsResult": {
        "type": "object", "required": ["service", "received", "stored", "already_stored"],
        "properties": {"service": SLUG, "received": {"type": "integer"},
                       "stored": {"type": "integer"}, "already_stored": {"type": "integer"}},
    },
    "Event": {
        "type": "object",
        "required": ["kind", "from_state", "to_state", "at", "actor", "reason", "review_id",
                     "facts", "failing_items", "return_conditions", "return_items",
                     "target_date"],
        "properties": {
            "kind": {"type": "string", "enum": ["launch", "handoff", "handback", "retire"]},
            "from_state": {"type": "string"}, "to_state": {"type": "string"},
            "at": {"type": "string", "format": "date-time"},
            "actor": {"oneOf": [{"type": "null"}, {
                "type": "object", "required": ["name", "email"],
                "properties": {"name": {"type": "string"}, "email": {"type": "string"}}}]},
            "reason": {"type": "string"}, "review_id": {"type": ["integer", "null"]},
            "facts": {"type": "object"}, "failing_items": {"type": "array"},
            "return_conditions": {"type": "string"},
            "return_items": {"type": "array", "items": {"type": "string"}},
            "target_date": {"type": ["string", "null"], "format": "date"},
        },
    },
    "Events": {
        "type": "object", "required": ["service", "events"],
        "properties": {"service": SLUG, "events": {"type": "array", "items": ref("Event")}},
    },
    "Review": {
        "type": "object",
        "required": ["id", "service", "state", "checklist", "created_at", "submitted_at",
                     "approved_at", "content_hash", "progress", "items", "decisions",
                     "waivers"],
        "properties": {
            "id": {"type": "integer"}, "service": SLUG,
            "state": {"type": "string", "enum": ["draft", "submitted", "changes_requested",
                                                 "approved", "withdrawn"]},
            "checklist": {"type": "object", "required": ["id", "version", "title", "stage"],
                          "properties": {"id": {"type": "string"},
                                         "version": {"type": "integer"},
                                         "title": {"type": "string"},
                                         "stage": {"type": "string"}}},
            "created_at": {"type": "string", "format": "date-time"},
            "submitted_at": NULLABLE_TIME, "approved_at": NULLABLE_TIME,
            "content_hash": NULLABLE_STRING,
            "progress": {"type": "object", "required": ["done", "total"],
                         "properties": {"done": {"type": "integer"},
                                        "total": {"type": "integer"}}},
            "waivers": {"type": "array", "description": "Every waiver asked for on the "
                        "review, oldest first; the granted ones are frozen into an approval's "
                        "content hash.", "items": {
                "type": "object",
                "required": ["id", "item", "state", "reason", "control", "expires_on",
                             "requested_by", "decided_by", "comment"],
                "properties": {
                    "id": {"type": "integer"}, "item": {"type": "string"},
                    "state": {"type": "string",
                              "enum": ["requested", "granted", "refused", "withdrawn"]},
                    "reason": {"type": "string"}, "control": {"type": "string"},
                    "expires_on": {"type": "string", "format": "date"},
                    "requested_by": {"type": ["integer", "null"]},
                    "decided_by": {"type": ["integer", "null"]},
                    "comment": {"type": "string"}}}},
            "items": {"type": "array", "items": {
                "type": "object",
                "required": ["section", "item", "title", "required", "status", "evidence",
                             "link", "check"],
                "properties": {
                    "section": {"type": "string"}, "item": {"type": "string"},
                    "title": {"type": "string"}, "required": {"type": "boolean"},
                    "status": {"type": ["string", "null"],
                               "enum": ["met", "not_met", "not_applicable", None]},
                    "evidence": {"type": "string"}, "link": NULLABLE_STRING,
                    "check": {"oneOf": [{"type": "null"}, {
                        "type": "object",
                        "required": ["expected", "status", "value", "observed_at"],
                        "properties": {
                            "expected": {"type": "string"},
                            "status": {"type": "string",
                                       "enum": ["pass", "fail", "stale", "missing"]},
                            "value": {"type": ["number", "null"]},
                            "observed_at": NULLABLE_TIME}}]},
                }}},
            "decisions": {"type": "array", "items": {
                "type": "object",
                "required": ["verdict", "at", "comment", "consultant", "item_comments",
                             "content_hash"],
                "properties": {
                    "verdict": {"type": "string", "enum": ["approve", "request_changes"]},
                    "at": {"type": "string", "format": "date-time"},
                    "comment": {"type": "string"}, "consultant": NULLABLE_STRING,
                    "item_comments": {"type": "object",
                                      "additionalProperties": {"type": "string"}},
                    "content_hash": NULLABLE_STRING}}},
        },
    },
    "Candidates": {
        "type": "object", "required": ["candidates"],
        "properties": {"candidates": {"type": "array", "items": {
            "type": "object", "required": ["service", "name", "failing"],
            "properties": {
                "service": SLUG, "name": {"type": "string"},
                "failing": {"type": "array", "items": {
                    "type": "object",
                    "required": ["item", "title", "status", "expected", "value",
                                 "observed_at", "detail"],
                    "properties": {
                        "item": {"type": "string"}, "title": {"type": "string"},
                        "status": {"type": "string", "enum": ["fail", "stale", "missing"]},
                        "expected": {"type": "string"}, "value": {"type": ["number", "null"]},
                        "observed_at": NULLABLE_TIME, "detail": {"type": "string"}}}},
            }}}},
    },
}


@cache
def document():
    """The document; every operation also lists COMMON_RESPONSES."""
    built = _document()
    for operations in built["paths"].values():
        for operation in operations.values():
            operation["responses"].update(COMMON_RESPONSES)
    return built


def _document():
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "readiness API", "version": "1",
            "description": "Services, the deploy gate, telemetry facts, management events, "
                           "reviews and handback candidates. Authenticate with "
                           "`Authorization: Bearer TOKEN` (make a token on your profile page "
                           "or with `flask --app app tokens create`).",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
        "paths": {
            "/api/v1/openapi.json": {"get": {
                "operationId": "openapi", "summary": "This document.", "security": [],
                "responses": {"200": {"description": "The OpenAPI document.",
                                      "content": {"application/json": {
                                          "schema": {"type": "object"}}}}}}},
            "/api/v1/services": {"get": {
                "operationId": "listServices", "summary": "Services, by slug.",
                "parameters": SERVICE_LIST_PARAMETERS,
                "responses": {"200": json_body(ref("ServiceList"), "A page of services."),
                              "400": problem("A bad query parameter."),
                              "401": UNAUTHORIZED}}},
            "/api/v1/services/{slug}": {"get": {
                "operationId": "getService",
                "summary": "A service with its gate, latest facts and open return conditions.",
                "parameters": [SLUG_PARAMETER],
                "responses": {"200": json_body(ref("ServiceDetail"), "The service."),
                              "401": UNAUTHORIZED, "404": NOT_FOUND}}},
            "/api/v1/services/{slug}/gate": {"get": {
                "operationId": "gate",
                "summary": "May the service take traffic in an environment?",
                "description": "environment (default production) is enforce or advisory "
                               "(GATE_ENVIRONMENTS): an advisory refusal is a 200 with "
                               "advisory true; a break-glass override answers 200.",
                "parameters": [SLUG_PARAMETER, {
                    "name": "environment", "in": "query", "required": False,
                    "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$",
                               "maxLength": 64, "default": "production"}}],
                "responses": {"200": json_body(ref("Gate"), "Allowed, overridden or "
                                                            "advisory."),
                              "409": json_body(ref("Gate"), "Refused, with the reasons."),
                              "400": problem("The environment is not a name."),
                              "401": UNAUTHORIZED, "404": NOT_FOUND}}},
            "/api/v1/services/{slug}/facts": {"post": {
                "operationId": "recordFacts",
                "summary": f"Record one fact or a list of up to {MAX_FACTS}.",
                "description": "Idempotent per (service, name, observed_at). All or nothing: "
                               "one bad entry and nothing is stored.",
                "parameters": [SLUG_PARAMETER],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"oneOf": [ref("Fact"), {"type": "array", "items": ref("Fact"),
                                                        "minItems": 1,
                                                        "maxItems": MAX_FACTS}]}}}},
                "responses": {
                    "200": json_body(ref("FactsResult"), "Stored (or already stored)."),
                    "400": problem("The body is not JSON."),
                    "401": UNAUTHORIZED,
                    "403": problem("The token's user may not push facts for this service."),
                    "404": NOT_FOUND,
                    "409": problem("Some facts were already recorded with another value."),
                    "413": problem("The body is too large."),
                    "415": problem("The body is not sent as application/json."),
                    "422": problem("Bad entries, each named by its index."),
                    "503": BUSY,
                }}},
            "/api/v1/services/{slug}/events": {"get": {
                "operationId": "listEvents",
                "summary": "Launches, handoffs, handbacks and retirements, oldest first.",
                "parameters": [SLUG_PARAMETER],
                "responses": {"200": json_body(ref("Events"), "The events."),
                              "401": UNAUTHORIZED, "404": NOT_FOUND}}},
            "/api/v1/reviews/{review_id}": {"get": {
                "operationId": "getReview",
                "summary": "A review with its answers, checks and decisions.",
                "parameters": [{"name": "review_id", "in": "path", "required": True,
                                "schema": {"type": "integer", "minimum": 1,
                                           "maximum": 2**31 - 1}}],
                "responses": {"200": json_body(ref("Review"), "The review."),
                              "401": UNAUTHORIZED, "404": NOT_FOUND}}},
            "/api/v1/unreviewed-in-production": {"get": {
                "operationId": "unreviewedInProduction",
                "summary": "Services in production per the service catalog that were never "
                           "launched here (no launch review acted on), by name.",
                "responses": {"200": json_body(ref("UnreviewedServices"), "The services."),
                              "401": UNAUTHORIZED}}},
            "/api/v1/handback-candidates": {"get": {
                "operationId": "handbackCandidates",
                "summary": "Ops-managed services failing a required handback criterion.",
                "responses": {"200": json_body(ref("Candidates"), "The candidates."),
                              "401": UNAUTHORIZED}}},
        },
    }
