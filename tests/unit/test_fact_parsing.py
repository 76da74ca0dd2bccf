"""Reading a facts payload: the quick path for well-formed facts accepts exactly what the
full check accepts, and gives the same facts."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from readiness.domain.facts import FUTURE_SLACK, _parse_one, _QuickCheck, parse_facts

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def canonical(moment):
    """The form most senders use: 2026-11-26T09:00:00.000000Z."""
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


@st.composite
def near_canonical(draw):
    """That form with one character replaced: a digit, a separator, a letter, a space,
    a non-ASCII digit."""
    text = canonical(draw(st.datetimes(min_value=datetime(1, 1, 1),
                                       max_value=datetime(2026, 11, 26), timezones=st.just(UTC))))
    at = draw(st.integers(0, len(text) - 1))
    other = draw(st.sampled_from([*"0123456789-:.TtZz+ ,W/x", "\u0661", "\uff11", "\n"]))
    return text[:at] + other + text[at + 1:]


GOOD = {
    "name": st.sampled_from(["pages_per_week", "x", "a" * 64, "slo_2"]),
    "value": st.one_of(st.integers(-10**15, 10**15),
                       st.floats(-1e15, 1e15, allow_nan=False, allow_infinity=False)),
    "observed_at": st.one_of(
        st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2026, 11, 26),
                     timezones=st.just(UTC)).map(datetime.isoformat),
        st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(2026, 11, 26),
                     timezones=st.just(UTC)).map(canonical),
        st.sampled_from([(NOW + FUTURE_SLACK).isoformat(), "2026-11-26T09:00:00Z",
                         "2026-11-26T09:00:00+02:00", "2026-11-26t09:00:00+00:00"])),
    "source": st.sampled_from(["", "pd", "x" * 120, "héllo"]),
}
BAD = {
    "name": st.sampled_from(["a" * 65, "Pages", "1abc", "", "pages\n", "pages per week", 5,
                             None, [], {"a": 1}, True]),
    "value": st.sampled_from([True, False, "3", None, [], {}, float("nan"), float("inf"),
                              -float("inf"), 1e15 + 1, -(10**15) - 1, 10**400]),
    "observed_at": st.sampled_from([
        (NOW + FUTURE_SLACK + timedelta(microseconds=1)).isoformat(), "2026-11-26T09:00:00",
        "2026-11-26", "yesterday", "", 5, None, [], "2026-11-26T09:00:00+00:00" + " " * 30,
        "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00",
        canonical(NOW + FUTURE_SLACK + timedelta(microseconds=1)), "2026-02-30T09:00:00.000000Z",
        "2026-11-26T24:00:00.000000Z", "2026-11-26T09:00:60.000000Z"]) | near_canonical(),
    "source": st.sampled_from(["x" * 121, "a\nb", "tab\there", "nul\x00", 3, None, []]),
}


@st.composite
def entries(draw):
    """A good fact, or one with exactly one thing wrong (a bad or missing field, an
    unknown field, or not an object at all)."""
    entry = {key: draw(strategy) for key, strategy in GOOD.items()}
    if draw(st.booleans()):
        del entry["source"]  # optional
    fault = draw(st.sampled_from(["none", "none", *GOOD, "missing", "unknown", "not an object"]))
    if fault in BAD:
        entry[fault] = draw(BAD[fault])
    elif fault == "missing":
        del entry[draw(st.sampled_from(["name", "value", "observed_at"]))]
    elif fault == "unknown":
        entry["unit"] = "ms"
    elif fault == "not an object":
        entry = draw(st.sampled_from([[entry], "fact", None, 3]))
    return entry


@settings(max_examples=600)
@given(entries())
def test_the_quick_path_accepts_exactly_what_the_full_check_accepts(entry):
    full, problems = _parse_one(entry, NOW)
    assert (full is None) == bool(problems)
    assert _QuickCheck(NOW).fact(entry) == full


def test_a_name_with_a_line_break_is_refused():
    facts, errors = parse_facts({"name": "pages\n", "value": 1,
                                 "observed_at": "2026-11-26T09:00:00Z"}, NOW)
    assert facts == [] and [e["field"] for e in errors] == ["name"]
