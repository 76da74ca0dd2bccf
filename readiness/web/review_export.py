"""A review as a Markdown document, with the team's text made inert.

People open exports in other Markdown viewers, which may pass raw HTML through;
so user text has its HTML special characters escaped and any link that is not
http(s) or mailto is defused.
"""

import html
import re

from ..domain import checklists
from ..domain.reviews import STATUS_LABELS
from ..markdown import is_safe_link_target
from ..queries.reviews import review_status

# An inline link or image target, and a reference-style definition.
_INLINE_TARGET = re.compile(r"(\]\(\s*<?)([^)\s>]*)")
_REFERENCE = re.compile(r"^(\s*\[[^\]]+\]:\s*<?)(\S+)", re.MULTILINE)
_SAFE_SCHEME = re.compile(r"^(https?:|mailto:|#|/(?!/))", re.IGNORECASE)


def inert(text):
    """`text` as Markdown that no viewer turns into markup or a script link."""
    escaped = html.escape(text or "", quote=False)

    def defuse(match):
        target = match.group(2)
        if not target or (_SAFE_SCHEME.match(target) and is_safe_link_target(target)):
            return match.group(0)
        return match.group(1) + "#unsafe-link-removed"

    return _REFERENCE.sub(defuse, _INLINE_TARGET.sub(defuse, escaped))


def quoted(text):
    return "\n".join(f"> {line}" if line else ">" for line in inert(text).splitlines())


def export_markdown(review):
    content = review.checklist_version.content
    service = review.service
    answers = {a.item_id: a for a in review.answers}
    lines = [
        f"# {inert(content['title'])}: {inert(service.name)}",
        "",
        f"- Service: {inert(service.name)} (`{service.slug}`), team {inert(service.team.name)}",
        f"- Checklist: `{content['id']}` version {content['version']}",
        f"- State: {review.state.replace('_', ' ')}",
    ]
    if review.submitted_at:
        lines.append(f"- Submitted: {review.submitted_at:%Y-%m-%d %H:%M} UTC")
    if review.approved_at:
        lines.append(f"- Approved: {review.approved_at:%Y-%m-%d %H:%M} UTC")
    if review.content_hash:
        lines.append(f"- Content hash (SHA-256): `{review.content_hash}`")
    status = review_status(review)
    lines.append(f"- Progress: {status.done} of {status.total} required items done")
    for section in content["sections"]:
        lines += ["", f"## {inert(section['title'])}"]
        for item in section["items"]:
            answer = answers.get(item["id"])
            status = STATUS_LABELS.get(answer.status, "Not answered") if answer else \
                "Not answered"
            required = "" if checklists.is_required(item) else " (optional)"
            lines += ["", f"### {inert(item['title'])}{required}", "", f"**{status}**"]
            if answer and answer.evidence.strip():
                lines += ["", quoted(answer.evidence)]
            if answer and answer.link:
                lines += ["", f"Link: <{answer.link}>" if _SAFE_SCHEME.match(answer.link)
                      and is_safe_link_target(answer.link)
                          else "Link: (removed: not an http(s) address)"]
    if review.decisions:
        lines += ["", "## Decisions"]
        for decision in review.decisions:
            who = inert(decision.consultant.name) if decision.consultant else "unknown"
            verdict = "Approved" if decision.verdict == "approve" else "Changes requested"
            lines += ["", f"### {verdict} by {who}, {decision.created_at:%Y-%m-%d %H:%M} UTC"]
            if decision.comment:
                lines += ["", quoted(decision.comment)]
            for item_id, comment in sorted(decision.item_comments.items()):
                lines += ["", f"On `{item_id}`:", "", quoted(comment)]
    return "\n".join(lines) + "\n"
