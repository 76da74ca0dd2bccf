"""Input a person gives: the error for what they must correct, and the formats of slugs,
emails, links, one-line names and RFC 3339 date-times."""

import re
import unicodedata
from datetime import UTC, date, datetime, time
from urllib.parse import urlsplit

from . import yamlfile

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SLUG_PATTERN = re.compile(yamlfile.SLUG_PATTERN)
MIN_PASSWORD_LENGTH = 8
# Characters that a correct URL percent-encodes and that could break out of the
# places a link is written into (HTML attributes, Markdown autolinks).
UNSAFE_IN_LINKS = set('<>"\'`\\{}|^')


class InvalidInput(ValueError):
    """Input a person must correct; the message says what and how.

    `field` names the form field it is about, when there is one, so a form can
    show the message next to it.
    """

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


def is_unsafe_in_link(c):
    """The rule, one character at a time: whitespace, a control character or one of
    UNSAFE_IN_LINKS (_UNSAFE_IN_LINK is it as a pattern, held to it by a test)."""
    return c.isspace() or ord(c) < 32 or ord(c) == 127 or c in UNSAFE_IN_LINKS


# `\s` is str.isspace's whitespace; a catalog import checks tens of thousands of links.
_UNSAFE_IN_LINK = re.compile(r"[\s\x00-\x1f\x7f" + re.escape("".join(sorted(UNSAFE_IN_LINKS)))
                             + "]")


def is_http_link(url):
    """True for a full http:// or https:// address without whitespace or control characters."""
    # Whitespace or control characters inside a URL are a paste gone wrong, or a trick.
    if not url or _UNSAFE_IN_LINK.search(url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. "http://[oops": not a URL at all
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


# Characters that break a line or cannot be stored: C0/C1 controls, DEL, Unicode line and
# paragraph separators, lone surrogates (no UTF-8 encoding exists for them).
_NOT_ON_ONE_LINE = {"Cc", "Zl", "Zp", "Cs"}


def has_control_characters(text):
    """True if `text` holds a character that does not belong in one line of text."""
    return any(unicodedata.category(c) in _NOT_ON_ONE_LINE for c in text)


def is_storable(text):
    """False for text holding a NUL (PostgreSQL cannot store it) or a lone surrogate
    (there is no UTF-8 for it); any other text can be stored."""
    return "\x00" not in text and not any("\ud800" <= c <= "\udfff" for c in text)


def single_line_name(name, what, *, field="name", max_length=120):
    """`name` stripped; a name is one line of visible text.

    :raise InvalidInput: for an empty or too long name, or one with line breaks or other
        control characters (they could forge lines in exports and logs).
    """
    name = (name or "").strip()
    if not name:
        raise InvalidInput(f"{what} needs a name", field)
    if has_control_characters(name):
        raise InvalidInput("a name is one line of text, without line breaks or tabs", field)
    if len(name) > max_length:
        raise InvalidInput(f"the name is too long (at most {max_length} characters)", field)
    return name


# RFC 3339 section 5.6, exactly: full-date "T" partial-time time-offset, where T and Z may
# be lower case, the fraction has one digit or more, and the offset is Z or +hh:mm/-hh:mm.
# (ISO 8601's other forms, such as 20261120T000000Z, week dates, hours without minutes,
# a comma fraction or an offset with seconds, are not RFC 3339.) ASCII digits only.
RFC_3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})", re.ASCII)


def parse_rfc3339(text):
    """The moment RFC 3339 `text` names, as an aware datetime in UTC; None when `text` is
    not an RFC 3339 date-time or names no real moment (month 13, a leap second, year 0
    or 10000 in UTC). Digits past microseconds are dropped."""
    if not isinstance(text, str) or len(text) > 64 or RFC_3339.fullmatch(text) is None:
        return None
    try:  # the grammar is checked; fromisoformat checks the ranges
        value = datetime.fromisoformat(text.upper())
        return value if value.tzinfo is UTC else value.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def day_start(day: date) -> datetime:
    """00:00 UTC of `day`: where a day-dated thing (a waiver's expiry, a trial's end, the
    end of a day asked about) begins."""
    return datetime.combine(day, time(), UTC)
