"""User text comes back inert: in the review page and in the Markdown export."""

from html.parser import HTMLParser

import markdown
import pytest
from markdown_it import MarkdownIt

from readiness.extensions import db

from ..factories import make_checklist_version, make_review, make_service, make_team, make_user

pytestmark = pytest.mark.slow  # left out of the quick run (README)

PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<img src=\"x\" onerror=\"alert(1)\"/>",
    "<body onload=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<iframe src=javascript:alert(1)></iframe>",
    "<a href=\"javascript:alert(1)\">click</a>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click]( javascript:alert(1) )",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![img](javascript:alert(1))",
    "[ref][1]\n\n[1]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "<a href=\"data:text/html,<script>alert(1)</script>\">x</a>",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "<object data=\"javascript:alert(1)\"></object>",
    "<embed src=javascript:alert(1)>",
    "<math><mtext><script>alert(1)</script></mtext></math>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "\"><script>alert(1)</script>",
    "'><img src=x onerror=alert(1)>",
    "<input autofocus onfocus=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<a href=\"&#106;avascript:alert(1)\">x</a>",
    "<<script>script>alert(1)<</script>/script>",
    "<form action=javascript:alert(1)><button>x</button></form>",
    "<style>@import 'https://evil.example/x.css';</style>",
    "<meta http-equiv=refresh content=\"0;url=javascript:alert(1)\">",
    # Code is exported as it is, made inert by Markdown's own means: each of these must
    # still be code (or escaped prose) to a CommonMark viewer.
    "`<script>alert(1)</script>`",
    "```\n<script>alert(1)</script>\n```",
    "~~~html\n<svg onload=alert(1)>\n~~~",
    "```\n<img src=x onerror=alert(1)>",
    "- x\n   ```\n<script>alert(1)</script>\n   ```",
    "`a\n\n<img src=x onerror=alert(1)>`",
    "`` ` <script>alert(1)</script> ` ``",
    "```` ``` ````\n<img src=x onerror=alert(1)>",
    "    ```\n<script>alert(1)</script>\n    ```",
    "> ```\n<script>alert(1)</script>",
    "[`x`](javascript:alert(1))",
]

DANGEROUS_TAGS = {"script", "iframe", "object", "embed", "svg", "math", "style", "meta",
                  "base", "frame", "frameset", "link"}
SAFE_SCHEMES = ("http:", "https:", "mailto:", "/", "#", "?")


class InertCheck(HTMLParser):
    """Collects every way a page could run script or load something foreign."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems = []

    def handle_starttag(self, tag, attrs):
        # The page's own stylesheet and icon, both from this site.
        ours = (tag == "link" and (("rel", "stylesheet") in attrs or ("rel", "icon") in attrs)
                and dict(attrs).get("href", "").startswith("/static/")) or (
            tag == "meta" and not any(name == "http-equiv" for name, _ in attrs))
        if tag in DANGEROUS_TAGS and not ours:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"{tag} {name}=")
            if name == "style":
                self.problems.append(f"{tag} style=")
            if name in ("href", "src", "action", "data", "formaction") and value is not None:
                target = value.strip().lower()
                if target and not target.startswith(SAFE_SCHEMES):
                    self.problems.append(f"{tag} {name}={value}")


def problems_in(html):
    checker = InertCheck()
    checker.feed(html)
    return checker.problems


def test_the_checker_catches_live_markup():
    """The check below can fail: it finds each kind of live markup."""
    assert problems_in("<script>x</script><a href='javascript:x'>a</a><img onerror=x>") == [
        "<script>", "a href=javascript:x", "img onerror="]


@pytest.fixture
def reviewed(app, client, login):
    team = make_team()
    member = make_user(email="member@example.com", teams=[team])
    consultant = make_user(roles=("consultant",))
    version = make_checklist_version()
    service = make_service(team=team, name=PAYLOADS[0])
    review = make_review(service=service, checklist_version=version)
    db.session.commit()
    return {"member": member, "consultant": consultant, "review": review}


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_saved_everywhere_come_back_inert(app, login, client, reviewed, payload):
    review_id = reviewed["review"].id
    login(reviewed["member"])
    saved = client.post(f"/reviews/{review_id}/answers", data={
        "status-pager-load": "met", "evidence-pager-load": payload,
        "status-alert-runbooks": "not_applicable", "evidence-alert-runbooks": payload,
        "link-alert-runbooks": "https://example.com/runbook",
        "status-chaos-drill": "not_met", "evidence-chaos-drill": payload,
        "action": "submit",
    })
    assert saved.status_code == 302
    client.post("/logout")
    login(reviewed["consultant"])
    decided = client.post(f"/reviews/{review_id}/decision", data={
        "verdict": "request_changes", "comment": payload,
        "item-comment-pager-load": payload, "item-comment-alert-runbooks": payload,
    })
    assert decided.status_code == 302

    page = client.get(f"/reviews/{review_id}").get_data(as_text=True)
    assert problems_in(page) == []
    export = client.get(f"/reviews/{review_id}/export.md").get_data(as_text=True)
    # Even a viewer that passes raw HTML through gets nothing live from the export: a
    # CommonMark one, and Python-Markdown with fenced code.
    assert problems_in(MarkdownIt("commonmark", {"html": True}).render(export)) == []
    assert problems_in(markdown.markdown(export, extensions=["fenced_code"])) == []
