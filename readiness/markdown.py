"""The one place Markdown becomes HTML: Python-Markdown, then nh3 with an allow-list.

User text (evidence, comments, reasons) and checklist text both go through
`render`; templates use the `markdown` filter and never `|safe`.
"""

import html as html_lib

import markdown as markdown_lib
import nh3
from markdown.treeprocessors import Treeprocessor
from markupsafe import Markup

TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "dl", "dt", "em", "h1", "h2",
    "h3", "h4", "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "s", "strong", "sub", "sup",
    "table", "tbody", "td", "th", "thead", "tr", "ul",
}
ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}
EXTENSIONS = ["fenced_code", "tables", "sane_lists"]


def is_safe_link_target(target) -> bool:
    """False for a link target a browser could read otherwise than it looks: a backslash
    (browsers take `/\\evil.example` for `//evil.example`, another site) or a control
    character. A correct URL percent-encodes both."""
    return "\\" not in target and not any(ord(c) < 32 or ord(c) == 127 for c in target)


def _links_as_they_look(tag, attribute, value):
    if attribute == "href" and not is_safe_link_target(value):
        return None  # the link text stays, without the link
    return value


class ImagesAsLinks(Treeprocessor):
    """An image becomes a link to it named by its alt text ("Image: alt"): pages load no
    image from elsewhere (the CSP allows none), and the alt text is what the writer
    meant readers to see. An unsafe address loses its link, as any link's would."""

    def run(self, root):
        for image in root.iter("img"):
            alt = (image.get("alt") or "").strip()
            source = image.get("src") or ""
            image.tag = "a"
            image.attrib.clear()
            image.set("href", source)
            image.text = f"Image: {alt}" if alt else "Image"


def render(text) -> Markup:
    """Safe HTML for the Markdown `text` (None or empty gives an empty string)."""
    if not text:
        return Markup("")
    converter = markdown_lib.Markdown(extensions=EXTENSIONS, output_format="html")
    # Raw HTML in the text is shown as text, not passed through: people paste tags
    # into evidence to talk about them.
    converter.preprocessors.deregister("html_block")
    converter.inlinePatterns.deregister("html")
    converter.treeprocessors.register(ImagesAsLinks(converter), "images_as_links", 0)
    html = converter.convert(text)
    clean = nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, url_schemes=URL_SCHEMES,
                      link_rel="noopener noreferrer nofollow",
                      attribute_filter=_links_as_they_look)
    # Safe: nh3 has sanitised it with the allow-list above.
    return Markup(clean)  # noqa: S704  # nosec B704


def excerpt(text, limit=200) -> str:
    """The Markdown `text` as plain text on one line (what a reader sees, without the
    markup), cut at a word to at most `limit` characters with "…". For places where the
    whole text is shown elsewhere (the service page's "since" line)."""
    plain = html_lib.unescape(nh3.clean(str(render(text)), tags=set()))
    words = " ".join(plain.split())
    if len(words) <= limit:
        return words
    cut = words[:limit - 1]
    if words[limit - 1] != " " and " " in cut:  # not at the end of a word: drop its start
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(",;:.") + "…"
