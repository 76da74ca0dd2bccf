"""The /api/v1 endpoints. Each: authenticate the token -> load -> check rights -> answer."""

import json
import math

import orjson
from flask import Blueprint, g, jsonify, request
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..audit import Actor, Subject
from ..commands import tokens as token_commands
from ..commands.facts import FactsConflict
from ..commands.facts import record_facts as store_facts
from ..domain import checklists, permissions
from ..domain.facts import parse_facts
from ..domain.inputs import SLUG_PATTERN
from ..extensions import db
from ..faults import bookkeeping
from ..metrics import FACTS_STORED, GATE_ANSWERS
from ..models import Decision, ManagementEvent, Review, Service, utcnow
from ..problems import Problem, from_problem
from ..queries import lifecycle as situations
from ..queries import services as service_list
from ..queries import tokens
from ..queries.facts import latest_facts
from ..queries.reviews import review_status
from ..queries.services import ServiceFilter
from .openapi import SERVICE_LIST_PARAMETERS, document
from .parameters import read_query

bp = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_ID = 2**31 - 1
MAX_PER_PAGE = 100


@bp.errorhandler(Problem)
def problem(error):
    return from_problem(error)


@bp.get("/openapi.json")
def openapi():
    return jsonify(document())


CHALLENGE = {"WWW-Authenticate": 'Bearer realm="readiness"'}


def presented_token():
    """The token text of `Authorization: Bearer TOKEN`; a 401 problem without one."""
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise Problem(401, "Unauthorized", "Send an API token: Authorization: Bearer TOKEN. "
                      "Make one on your profile page.", headers=CHALLENGE)
    return presented.strip()


def accept_token(row):
    """Check a token row (queries.tokens.find_token's columns, None if unknown): 401
    unless it is a valid token of an enabled user. Its use is noted after the response
    (note_token_use)."""
    if row is None:
        raise Problem(401, "Unauthorized", "The API token is not valid.", headers=CHALLENGE)
    if row.revoked_at is not None:
        raise Problem(401, "Unauthorized", "The API token was revoked.", headers=CHALLENGE)
    if row.is_disabled:
        raise Problem(401, "Unauthorized", "The token's user is disabled.", headers=CHALLENGE)
    g.api_token = row


@bp.before_request
def authenticate():
    """Every endpoint but the OpenAPI document needs `Authorization: Bearer TOKEN`; the
    fact push checks its token with the user's rights in one statement (record_facts)."""
    if request.endpoint in ("api.openapi", "api.record_facts"):
        return
    accept_token(tokens.find_token(presented_token()))


@bp.after_request
def note_token_use(response):
    """Remember when the request's token was last used, after the endpoint's transaction,
    in one of its own that never waits for a lock and never fails the request
    (faults.bookkeeping): a busy or read-only database skips it until the next call."""
    row = g.pop("api_token", None)
    if row is not None and token_commands.use_is_news(row):  # at most once a minute
        with bookkeeping("a token's last use") as session:
            token_commands.note_use(row, session)
    return response


def read_json():
    """The request's JSON body; a 400 problem when it is not JSON, or nested too deeply
    for the decoder (a RecursionError, which Flask's get_json lets through as a 500).

    orjson reads it in half the time (a thousand facts are ~110 kB). What it refuses
    goes to the standard decoder, so the same bodies are accepted as with it alone:
    NaN and Infinity (refused later, by name, as values), other encodings than UTF-8.
    """
    body = request.get_data(cache=False)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise Problem(400, "Bad Request", "The body is not valid JSON.") from None


def load_service(slug, *, with_team=True):
    query = select(Service).where(Service.slug == slug)
    service = db.session.scalar(query.options(selectinload(Service.team)) if with_team
                                else query)
    if service is None:
        raise Problem(404, "Not Found", f"There is no service '{slug}'.")
    return service


def iso(value):
    return value.isoformat() if value is not None else None


def service_summary(service):
    return {
        "slug": service.slug, "name": service.name, "team": service.team.slug,
        "tier": service.tier, "state": service.state,
        "links": {"repo": service.repo_url, "runbook": service.runbook_url,
                  "dashboard": service.dashboard_url},
    }


@bp.get("/services")
def services():
    args = read_query(request.args, SERVICE_LIST_PARAMETERS)
    page, per_page = args["page"], args["per_page"]
    query = service_list.matching(ServiceFilter(state=args.get("state"),
                                                team=args.get("team")))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.options(selectinload(Service.team))
                              .order_by(Service.slug)
                              .limit(per_page).offset((page - 1) * per_page)).all()
    return jsonify({"services": [service_summary(s) for s in rows], "page": page,
                    "per_page": per_page, "total": total,
                    "pages": max(1, math.ceil(total / per_page))})


def facts_body(facts):
    return {name: {"value": value, "observed_at": iso(at), "source": source}
            for name, (value, at, source) in sorted(facts.items())}


@bp.get("/services/<slug>")
def service(slug):
    found = load_service(slug)
    decision = situations.gate(found.slug).decision
    facts = latest_facts([found.id]).get(found.id, {})
    handback = situations.open_return_conditions(found)
    return jsonify({
        **service_summary(found), "description": found.description,
        "gate": {"allowed": decision.allowed, "reasons": list(decision.reasons)},
        "latest_facts": facts_body(facts),
        "return_conditions": None if handback is None else {
            "handed_back_at": iso(handback.created_at), "reason": handback.reason,
            "conditions": handback.return_conditions, "items": handback.return_items,
            "target_date": handback.target_date.isoformat() if handback.target_date else None,
        },
    })


@bp.get("/services/<slug>/gate")
def gate(slug):
    environment = request.args.get("environment", "production")
    if not SLUG_PATTERN.fullmatch(environment) or len(environment) > 64:
        raise Problem(400, "Bad Request", "environment is a name like production or staging "
                                          "(lowercase letters, digits and dashes).")
    found = situations.gate(slug)
    if found is None:
        raise Problem(404, "Not Found", f"There is no service '{slug}'.")
    body, passes = situations.gate_body(found, environment)
    GATE_ANSWERS.labels("allowed" if passes else "refused").inc()
    return jsonify(body), 200 if passes else 409


@bp.post("/services/<slug>/facts")
def record_facts(slug):
    row = tokens.find_token_for_service(presented_token(), slug)
    accept_token(row)  # 401 before telling whether the service exists
    if row.slug is None:
        raise Problem(404, "Not Found", f"There is no service '{slug}'.")
    if not permissions.can_push_facts(is_ops_lead=row.is_ops_lead, is_admin=row.is_admin,
                                      in_owning_team=row.in_owning_team):
        raise Problem(403, "Forbidden", f"This token's user may not push facts for "
                                        f"'{slug}': only its team, ops leads and admins.")
    service, actor = Subject("service", row.service_id), Actor(row.user_id, row.name, row.email)
    if not request.is_json:
        raise Problem(415, "Unsupported Media Type", "Send JSON: Content-Type: "
                                                     "application/json.")
    payload = read_json()
    facts, errors = parse_facts(payload, utcnow())
    if errors:
        raise Problem(422, "Unprocessable Content",
                      f"{len(errors)} problem(s) in the facts sent; nothing was stored.",
                      errors=errors)
    try:
        stored = store_facts(service, facts, actor=actor)
    except FactsConflict as conflict:
        raise Problem(409, "Conflict", "Some facts were already recorded with another value; "
                      "nothing was stored.",
                      errors=[{"index": facts.index(f), "field": "value",
                               "message": "already recorded with another value"}
                              for f in conflict.conflicts]) from None
    db.session.commit()
    FACTS_STORED.inc(stored)
    return jsonify({"service": slug, "received": len(facts), "stored": stored,
                    "already_stored": len(facts) - stored})


@bp.get("/services/<slug>/events")
def events(slug):
    found = load_service(slug, with_team=False)
    rows = db.session.scalars(
        select(ManagementEvent).where(ManagementEvent.service_id == found.id)
        .options(selectinload(ManagementEvent.actor))
        .order_by(ManagementEvent.created_at, ManagementEvent.id)).all()
    return jsonify({"service": slug, "events": [{
        "kind": e.kind, "from_state": e.from_state, "to_state": e.to_state,
        "at": iso(e.created_at),
        "actor": {"name": e.actor.name, "email": e.actor.email} if e.actor else None,
        "reason": e.reason, "review_id": e.review_id, "facts": e.facts,
        "failing_items": e.failing_items, "return_conditions": e.return_conditions,
        "return_items": e.return_items,
        "target_date": e.target_date.isoformat() if e.target_date else None,
    } for e in rows]})


@bp.get("/reviews/<int:review_id>")
def review(review_id):
    if review_id > MAX_ID:
        raise Problem(404, "Not Found", f"There is no review {review_id}.")
    found = db.session.scalar(select(Review).where(Review.id == review_id).options(
        selectinload(Review.answers), selectinload(Review.service).selectinload(Service.team),
        selectinload(Review.decisions).selectinload(Decision.consultant),
        selectinload(Review.checklist_version), selectinload(Review.waivers)))
    if found is None:
        raise Problem(404, "Not Found", f"There is no review {review_id}.")
    content = found.checklist_version.content
    status = review_status(found)
    checks = status.checks
    answers = {a.item_id: a for a in found.answers}
    items = []
    for section, item in checklists.items_of(content):
        answer = answers.get(item["id"])
        check = checks.get(item["id"])
        items.append({
            "section": section["id"], "item": item["id"], "title": item["title"],
            "required": checklists.is_required(item),
            "status": answer.status if answer else None,
            "evidence": answer.evidence if answer else "",
            "link": answer.link if answer else None,
            "check": None if check is None else {
                "expected": check.expected, "status": check.status, "value": check.value,
                "observed_at": iso(check.observed_at)},
        })
    version = found.checklist_version
    return jsonify({
        "id": found.id, "service": found.service.slug, "state": found.state,
        "checklist": {"id": version.checklist_id, "version": version.version,
                      "title": version.title, "stage": version.stage},
        "created_at": iso(found.created_at), "submitted_at": iso(found.submitted_at),
        "approved_at": iso(found.approved_at), "content_hash": found.content_hash,
        "progress": {"done": status.done, "total": status.total}, "items": items,
        "decisions": [{"verdict": d.verdict, "at": iso(d.created_at), "comment": d.comment,
                       "consultant": d.consultant.name if d.consultant else None,
                       "item_comments": d.item_comments, "content_hash": d.content_hash}
                      for d in found.decisions],
        "waivers": [{"id": w.id, "item": w.item_id, "state": w.state, "reason": w.reason,
                     "control": w.control, "expires_on": w.expires_on.isoformat(),
                     "requested_by": w.requested_by_id, "decided_by": w.decided_by_id,
                     "comment": w.comment} for w in found.waivers],
    })


@bp.get("/unreviewed-in-production")
def unreviewed_in_production():
    found = service_list.unreviewed_in_production()
    return jsonify({"services": [service_summary(s) for s in found.items],
                    "total": found.total})


@bp.get("/handback-candidates")
def handback_candidates():
    return jsonify({"candidates": [{
        "service": c.service.slug, "name": c.service.name,
        "failing": [{"item": item["id"], "title": item["title"], "status": result.status,
                     "expected": result.expected, "value": result.value,
                     "observed_at": iso(result.observed_at), "detail": result.describe()}
                    for item, result in c.failing],
    } for c in situations.handback_candidates().items]})


