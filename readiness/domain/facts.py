"""Telemetry facts as input: one fact or a list, every bad entry named by its index.

The one validity rule for a reading, whoever brings it (the API, an import, a collector)."""

import hashlib
import re
import sys
from array import array
from datetime import datetime, timedelta
from typing import NamedTuple

from .inputs import has_control_characters, parse_rfc3339

MAX_FACTS = 1000
FACT_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
FIELDS = {"name", "value", "observed_at", "source"}
MAX_NAME = 64
MAX_SOURCE = 120
# Clocks drift; an observation further ahead than this is a mistake, not telemetry.
FUTURE_SLACK = timedelta(hours=1)
MAX_ABS_VALUE = 1e15


class FactInput(NamedTuple):
    """A telemetry reading as validated, before it is stored."""

    name: str
    value: float
    observed_at: datetime
    source: str = ""
    # The RFC 3339 text `observed_at` was read from, when it came as text: storage may
    # keep its digits instead of formatting the moment again (a thousand a request).
    observed_text: str | None = None


new_fact = tuple.__new__  # FactInput(...) without NamedTuple's Python-level __new__


def parse_facts(payload, now):
    """(facts, errors): FactInputs, or errors as [{"index", "field", "message"}]."""
    entries = payload if isinstance(payload, list) else [payload]
    if isinstance(payload, list) and not payload:
        return [], [{"index": None, "field": None, "message": "the list of facts is empty"}]
    if len(entries) > MAX_FACTS:
        return [], [{"index": None, "field": None,
                     "message": f"at most {MAX_FACTS} facts per request, not {len(entries)}"}]
    facts, errors = [], []
    seen = {}  # (name, observed_at) -> index in facts
    quick_fact = _QuickCheck(now).fact
    for index, entry in enumerate(entries):
        fact = quick_fact(entry)
        if fact is None:
            fact, problems = _parse_one(entry, now)
            errors.extend({"index": index, "field": field, "message": message}
                          for field, message in problems)
            if fact is None:
                continue
        count = len(facts)
        earlier = seen.setdefault((fact[0], fact[2]), count)  # (name, observed_at)
        if earlier == count:
            facts.append(fact)
        elif facts[earlier].value != fact.value:
            errors.append({"index": index, "field": "value",
                           "message": f"entry {earlier} has the same name and observed_at "
                                      "with another value"})
    return facts, errors


class _QuickCheck:
    """The common case, a well-formed fact, accepted with as little work as possible (a
    request carries up to a thousand): names and sources repeat, so each distinct one is
    checked once. Anything else returns None and goes through _parse_one, which says
    what is wrong. Both accept exactly the same facts (a test compares them)."""

    def __init__(self, now):
        self.latest = now + FUTURE_SLACK
        self.names, self.sources = set(), set()

    def fact(self, entry):
        if type(entry) is not dict:
            return None
        try:
            name, value, observed = entry["name"], entry["value"], entry["observed_at"]
        except KeyError:
            return None
        source = entry.get("source", "")
        if len(entry) != (4 if "source" in entry else 3):  # an unknown field
            return None
        if type(name) is not str or type(source) is not str:
            return None
        if name not in self.names:
            if not (len(name) <= MAX_NAME and FACT_NAME.fullmatch(name)):
                return None
            self.names.add(name)
        if source not in self.sources:
            if not (len(source) <= MAX_SOURCE and not has_control_characters(source)):
                return None
            self.sources.add(source)
        if type(value) is float:
            if not abs(value) <= MAX_ABS_VALUE:  # _in_range
                return None
        elif type(value) is int and abs(value) <= MAX_ABS_VALUE:
            value = float(value)
        else:
            return None
        if (type(observed) is str and len(observed) == 27 and observed[26] == "Z"
                and observed[4:20:3] == "--T::."):
            # The form senders use most, YYYY-MM-DDTHH:MM:SS.ffffffZ, its separators seen:
            # fromisoformat takes exactly ASCII digits at the other places.
            try:
                observed_at = datetime.fromisoformat(observed)
            except ValueError:
                return None
        else:
            observed_at = parse_rfc3339(observed)
            if observed_at is None:
                return None
        if observed_at > self.latest:
            return None
        return new_fact(FactInput, (name, value, observed_at, source, observed))


def _parse_one(entry, now):
    if not isinstance(entry, dict):
        return None, [(None, "a fact is an object with name, value, observed_at and source")]
    problems = [(key, "unknown field") for key in sorted(set(entry) - FIELDS)]
    problems += [(key, "missing") for key in ("name", "value", "observed_at")
                 if key not in entry]
    name, value = entry.get("name"), entry.get("value")
    observed, source = entry.get("observed_at"), entry.get("source", "")
    if "name" in entry and not (isinstance(name, str) and len(name) <= MAX_NAME
                                and FACT_NAME.fullmatch(name)):
        problems.append(("name", "a fact name: lowercase letters, digits and '_', starting "
                                 f"with a letter, at most {MAX_NAME} characters"))
    if "value" in entry and not (isinstance(value, int | float) and not isinstance(value, bool)
                                 and _in_range(value)):
        problems.append(("value", f"a finite number of at most {MAX_ABS_VALUE:g} either way "
                                  "(no NaN, no infinity, not a string)"))
    observed_at = None
    if "observed_at" in entry:
        observed_at = parse_rfc3339(observed)
        if observed_at is None:
            problems.append(("observed_at", "an RFC 3339 date-time with a time zone, e.g. "
                                            "2026-11-26T09:00:00Z"))
        elif observed_at > now + FUTURE_SLACK:
            problems.append(("observed_at", "in the future"))
    if not (isinstance(source, str) and len(source) <= MAX_SOURCE
            and not has_control_characters(source)):
        problems.append(("source", f"text of at most {MAX_SOURCE} characters on one line"))
    if problems:
        return None, problems
    return FactInput(name, float(value), observed_at, source, observed), []


def _in_range(number):
    # Compared before any conversion: a huge JSON integer does not fit a float.
    return abs(number) <= MAX_ABS_VALUE  # False for NaN and the infinities too


def batch_digest(facts, service_ids=None):
    """SHA-256 (hex) of a batch of readings (FactInputs, or rows with the same fields) in
    the order given: kept in the batch's audit entry, so `audit verify` sees a value, a
    time or a source changed behind the app's back. Numbers go in as 8-byte little-endian
    doubles, texts joined by NUL (no stored text holds one): cheap for a thousand facts.
    A batch of several services (a collector's run) names each fact's service too, in
    `service_ids` (8-byte little-endian integers)."""
    count = len(facts)
    values = array("d", [f.value for f in facts])
    times = array("d", [f.observed_at.timestamp() for f in facts])
    if sys.byteorder == "big":
        values.byteswap()
        times.byteswap()
    digest = hashlib.sha256(count.to_bytes(8, "little"))
    digest.update("\0".join(f.name for f in facts).encode() + b"\1")
    digest.update(values.tobytes())
    digest.update(times.tobytes())
    digest.update("\0".join(f.source for f in facts).encode())
    if service_ids is not None:
        ids = array("q", service_ids)
        if sys.byteorder == "big":
            ids.byteswap()
        digest.update(b"\2" + ids.tobytes())
    return digest.hexdigest()
