"""A review as a Markdown document, with the team's text made inert.

People open exports in other Markdown viewers, which may pass raw HTML through. So in
the team's text, prose has its HTML special characters escaped and any link that is
not http(s) or mailto is defused; code is kept byte for byte and made inert by
Markdown's own means instead: each code span and fenced block is written again with
delimiters of the export's own (longer than any backtick run inside), so a viewer that
follows CommonMark sees code exactly where this module does, and shows it as text.
Backticks that open nothing are escaped, so they cannot pair with anything.
"""

import html
import re

from ..domain import checklists
from ..domain.reviews import REVIEW_STATE_LABELS, STATUS_LABELS
from ..markdown import is_safe_link_target
from ..queries.reviews import review_status

# An inline link or image target, and a reference-style definition.
_INLINE_TARGET = re.compile(r"(\]\(\s*<?)([^)\s>]*)")
_REFERENCE = re.compile(r"^(\s*\[[^\]]+\]:\s*<?)(\S+)", re.MULTILINE)
_SAFE_SCHEME = re.compile(r"^(https?:|mailto:|#|/(?!/))", re.IGNORECASE)
# CommonMark's fence: up to three spaces, then three or more backticks (an info string
# without backticks) or tildes.
_FENCE = re.compile(r"^ {0,3}(?P<fence>`{3,}(?=[^`]*$)|~{3,})(?P<info>.*)$")
_BACKTICKS = re.compile(r"`+")
_INFO = re.compile(r"[A-Za-z0-9_+.#-]{0,40}")


def inert(text):
    """`text` (the team's Markdown) as Markdown that no viewer turns into markup or a
    script link, with its code kept as it is."""
    lines = (text or "").splitlines()
    out = []
    n = 0
    while n < len(lines):
        opening = _FENCE.match(lines[n])
        if opening is None:
            out.append(_inert_line(lines[n]))
            n += 1
            continue
        fence = opening.group("fence")
        code = []
        n += 1
        while n < len(lines):  # an unclosed fence runs to the end, as in CommonMark
            closing = _FENCE.match(lines[n])
            if (closing and closing.group("fence")[0] == fence[0]
                    and len(closing.group("fence")) >= len(fence)
                    and not closing.group("info").strip()):
                n += 1
                break
            code.append(lines[n])
            n += 1
        out += _fenced(code, opening.group("info").strip())
    return "\n".join(out)


def _fenced(code, info):
    longest = max((len(run) for line in code for run in _BACKTICKS.findall(line)), default=0)
    fence = "`" * max(3, longest + 1)
    info = info if _INFO.fullmatch(info) else ""
    return ["", fence + info, *code, fence, ""]


def one_line(text):
    """A one-line text (a title, a name) made inert like the team's text."""
    return _inert_line(" ".join((text or "").split()))


def _inert_line(line):
    """One line outside fences: code spans kept (as CommonMark pairs backtick runs of
    equal length), the rest escaped."""
    parts = []
    position = 0
    runs = list(_BACKTICKS.finditer(line))
    used = set()
    for index, run in enumerate(runs):
        if index in used or run.start() < position:
            continue
        closer = next((j for j in range(index + 1, len(runs))
                       if len(runs[j].group()) == len(run.group())), None)
        if closer is None:
            continue  # no closer: literal backticks, escaped with the prose
        used.add(closer)
        parts.append(_prose(line[position:run.start()]))
        parts.append(_code_span(line[run.end():runs[closer].start()]))
        position = runs[closer].end()
    parts.append(_prose(line[position:]))
    return "".join(parts)


def _code_span(code):
    longest = max((len(run) for run in _BACKTICKS.findall(code)), default=0)
    ticks = "`" * (longest + 1)
    # CommonMark strips one space from each end when both ends have one; add one back.
    pad = " " if code.startswith("`") or code.endswith("`") or (
        code.startswith(" ") and code.endswith(" ") and code.strip()) else ""
    return f"{ticks}{pad}{code}{pad}{ticks}"


def _prose(text):
    escaped = html.escape(text, quote=False).replace("`", "\\`")

    def defuse(match):
        target = match.group(2)
        if not target or (_SAFE_SCHEME.match(target) and is_safe_link_target(target)):
            return match.group(0)
        return match.group(1) + "#unsafe-link-removed"

    return _REFERENCE.sub(defuse, _INLINE_TARGET.sub(defuse, escaped))


def block(text):
    """The team's text as its own blocks: a blank line before and after."""
    return ["", inert(text), ""]


def export_markdown(review):
    content = review.checklist_version.content
    service = review.service
    answers = {a.item_id: a for a in review.answers}
    granted = {w.item_id: w for w in review.waivers if w.state == "granted"}
    lines = [
        f"# {one_line(content['title'])}: {one_line(service.name)}",
        "",
        f"- Service: {one_line(service.name)} (`{service.slug}`), "
        f"team {one_line(service.team.name)}",
        f"- Checklist: `{content['id']}` version {content['version']}",
        f"- Review #{review.id}, {REVIEW_STATE_LABELS[review.state].lower()}",
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
        lines += ["", f"## {one_line(section['title'])}"]
        for item in section["items"]:
            answer = answers.get(item["id"])
            status = STATUS_LABELS.get(answer.status, "Not answered") if answer else \
                "Not answered"
            required = "" if checklists.is_required(item) else " (optional)"
            lines += ["", f"### {one_line(item['title'])}{required}", "", f"**{status}**"]
            if answer and answer.evidence.strip():
                lines += block(answer.evidence)
            if answer and answer.link:
                lines += ["", f"Link: <{answer.link}>" if _SAFE_SCHEME.match(answer.link)
                      and is_safe_link_target(answer.link)
                          else "Link: (removed: not an http(s) address)"]
            waiver = granted.get(item["id"])
            if waiver is not None:
                lines += ["", f"**Waived until {waiver.expires_on.isoformat()}.** Why it "
                              f"cannot be met now:", *block(waiver.reason), "",
                          "Compensating control:", *block(waiver.control)]
    if review.decisions:
        lines += ["", "## Decisions"]
        for decision in review.decisions:
            who = one_line(decision.consultant.name) if decision.consultant else "unknown"
            verdict = "Approved" if decision.verdict == "approve" else "Changes requested"
            lines += ["", f"### {verdict} by {who}, {decision.created_at:%Y-%m-%d %H:%M} UTC"]
            if decision.comment:
                lines += block(decision.comment)
            for item_id, comment in sorted(decision.item_comments.items()):
                lines += ["", f"On `{item_id}`:", *block(comment)]
    return "\n".join(lines) + "\n"
