"""Small pure rules as tables: the sign-in throttle, bar charts, input formats (RFC 3339
date-times among them), Markdown."""

import statistics
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from readiness.domain import charts, sign_in
from readiness.domain.inputs import InvalidInput, is_http_link, parse_rfc3339, single_line_name
from readiness.markdown import excerpt, render

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(("failures", "oldest_seconds_ago", "wait"), [
    (0, None, 0), (9, 30, 0), (10, 30, 31), (10, 59.5, 1), (25, 1, 60), (10, 0, 61)])
def test_the_sign_in_throttle(failures, oldest_seconds_ago, wait):
    oldest = None if oldest_seconds_ago is None else NOW - timedelta(seconds=oldest_seconds_ago)
    assert sign_in.seconds_to_wait(failures, oldest, NOW) == wait


def test_the_throttle_limit_is_a_parameter():
    assert sign_in.seconds_to_wait(3, NOW, NOW, limit=3) == 61
    assert sign_in.seconds_to_wait(2, NOW, NOW, limit=3) == 0


def test_bars_are_scaled_to_the_largest_value_and_name_their_axis():
    chart = charts.bar_chart("T", "D", [("a", 2), ("b", 4), ("c", None)], unit="x",
                             axis="Month")
    heights = [bar.height for bar in chart.bars]
    plot = charts.HEIGHT - charts.TOP - charts.BOTTOM
    assert heights == [plot / 2, plot, 0]
    assert [bar.shown for bar in chart.bars] == ["2", "4", "no data"]
    assert chart.axis == "Month" and not chart.is_empty
    assert charts.bar_chart("T", "D", [("a", 0), ("b", None)]).is_empty


@pytest.mark.parametrize(("url", "ok"), [
    ("https://example.com/runbook", True), ("http://example.com", True),
    ("ftp://example.com", False), ("javascript:alert(1)", False), ("https://", False),
    ("https://exa mple.com", False), ("https://example.com/\n", False),
    ("https://example.com/<script>", False), ("http://[oops", False), ("", False)])
def test_links(url, ok):
    assert is_http_link(url) is ok


@pytest.mark.parametrize(("name", "error"), [
    ("  Checkout  ", None), ("", "needs a name"), ("a\nb", "one line"), ("a\tb", "one line"),
    ("x" * 121, "too long")])
def test_one_line_names(name, error):
    if error is None:
        assert single_line_name(name, "a service") == name.strip()
    else:
        with pytest.raises(InvalidInput, match=error):
            single_line_name(name, "a service")


@pytest.mark.parametrize(("text", "present", "absent"), [
    ("**bold**", "<strong>bold</strong>", None),
    ("<script>alert(1)</script>", "&lt;script&gt;", "<script>"),
    ("[x](javascript:alert(1))", None, "javascript:"),
    ("[x](https://example.com)", 'rel="noopener noreferrer nofollow"', None),
    ("```\nrate(x[5m]) > 0.01 && p99 < 800ms\n```", "&amp;&amp;", None),
    ('<img src=x onerror="alert(1)">', None, "<img"),
    ("[h](/\\evil.example)", ">h</a>", "href"),
    ("[h](https://ok.example/a\\b)", ">h</a>", "href"),
    ("[h](/reviews/3)", 'href="/reviews/3"', None),
    ("", "", None),
])
def test_markdown_is_rendered_and_sanitised(text, present, absent):
    html = str(render(text))
    if present is not None:
        assert present in html
    if absent is not None:
        assert absent not in html


H9 = datetime(2026, 11, 20, 9, tzinfo=UTC)


@pytest.mark.parametrize(("text", "moment"), [
    ("2026-11-20T09:00:00Z", H9),
    ("2026-11-20t09:00:00z", H9),  # RFC 3339 allows lower case t and z
    ("2026-11-20T10:00:00+01:00", H9),
    ("2026-11-20T04:30:00-04:30", H9),
    ("2026-11-20T09:00:00-00:00", H9),  # "offset unknown": taken as UTC
    ("2026-11-20T09:00:00.5Z", H9 + timedelta(microseconds=500_000)),
    ("2026-11-20T09:00:00.123456789Z", H9 + timedelta(microseconds=123_456)),
    # ISO 8601 forms that are not RFC 3339
    ("20261120T090000Z", None), ("2026-W47-5T09:00:00Z", None), ("2026-324T09:00:00Z", None),
    ("2026-11-20T09Z", None), ("2026-11-20T09:00Z", None), ("2026-11-20T09:00:00,5Z", None),
    ("2026-11-20T09:00:00+05:30:15", None), ("2026-11-20T09:00:00+0100", None),
    ("2026-11-20T09:00:00+01", None), ("2026-11-20 09:00:00Z", None),
    ("2026-11-20T09:00:00", None),  # no offset: not a moment
    ("2026-11-20", None), ("2026-11-20T09:00:00.Z", None),
    # the grammar, but no real moment
    ("2026-13-20T09:00:00Z", None), ("2026-02-30T09:00:00Z", None),
    ("2026-11-20T24:00:00Z", None), ("2026-12-31T23:59:60Z", None),
    ("2026-11-20T09:00:00+24:00", None), ("0001-01-01T00:00:00+01:00", None),
    # not ASCII digits, not text
    ("\uff12026-11-20T09:00:00Z", None), ("2026-11-20T09:00:00Z\n", None), (20261120, None),
    (None, None), ("2026-11-20T09:00:00." + "1" * 100 + "Z", None),
])
def test_rfc_3339_date_times_and_nothing_else(text, moment):
    assert parse_rfc3339(text) == moment


@pytest.mark.parametrize(("text", "shown"), [
    ("![the p99 graph](https://grafana.example/d/1.png)",
     '<a href="https://grafana.example/d/1.png" rel="noopener noreferrer nofollow">'
     "Image: the p99 graph</a>"),
    ("![](https://grafana.example/d/1.png)", ">Image</a>"),
    ("![x](javascript:alert(1))", '<a rel="noopener noreferrer nofollow">Image: x</a>'),
])
def test_an_image_in_markdown_is_a_link_named_by_its_alt_text(text, shown):
    """Issue 19, defect 5: nothing vanishes; no image is loaded from elsewhere."""
    rendered = str(render(text))
    assert shown in rendered and "<img" not in rendered


@pytest.mark.parametrize(("text", "limit", "plain"), [
    ("Pager load **tripled**: `9 pages` a week.", 200, "Pager load tripled: 9 pages a week."),
    ("one two three four five", 14, "one two three…"),
    ("<b>typed tags</b> stay text & so do entities", 200,
     "<b>typed tags</b> stay text & so do entities"),
    ("line one\n\nline two", 200, "line one line two"),
    ("", 10, ""),
])
def test_an_excerpt_is_the_plain_text_cut_at_a_word(text, limit, plain):
    assert excerpt(text, limit) == plain


def test_many_bars_get_short_ticks_and_few_keep_their_labels():
    months = [(f"{m} 26", 1) for m in ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
                                       "Aug", "Sep", "Oct", "Nov", "Dec")]
    chart = charts.bar_chart("Handbacks per month", "", months, unit="handbacks")
    assert [b.tick for b in chart.bars][:3] == ["Jan", "Feb", "Mar"]
    assert chart.bars[0].label == "Jan 26"  # in full in the table and the tooltip
    few = charts.bar_chart("Services by state", "", [("In development", 2)])
    assert few.bars[0].tick == "In development"


def test_a_trend_line_spans_its_box_lowest_at_the_bottom():
    line = charts.trend("pages_per_week", [(1, 3.0), (2, 5.0), (3, 4.0)], width=100,
                        height=20)
    assert line.points == "0.0,18.0 50.0,2.0 100.0,10.0"
    assert (line.latest, line.lowest, line.highest, line.count) == (4.0, 3.0, 5.0, 3)
    flat = charts.trend("x", [(1, 2.0)], width=100, height=20)
    assert flat.points == "0.0,18.0" and flat.count == 1


@given(st.lists(st.tuples(st.integers(0, 400), st.integers(1, 5)), max_size=30))
def test_the_median_of_counted_values_is_the_median_of_the_values(counted):
    counted = sorted(dict(counted).items())
    values = [value for value, many in counted for _ in range(many)]
    expected = statistics.median(values) if values else None
    assert charts.median_of_counted(counted) == expected


@pytest.mark.parametrize(("days", "tenths"), [
    (0, 0), (0.15, 1), (9.99, 99), (10, 100), (10.99, 100), (11, 110), (99.99, 990),
    (100, 1000), (109.9, 1000), (110, 1100), (1234.5, 12300)])
def test_a_cycle_is_kept_to_tenths_below_10_days_days_below_100_then_ten_days(days, tenths):
    assert charts.cycle_tenths(round(days * 86400)) == tenths


def test_the_link_pattern_refuses_exactly_the_characters_of_the_rule():
    from readiness.domain import inputs

    for code in range(0x30000):  # every plane with assigned characters but the private ones
        c = chr(code)
        assert bool(inputs._UNSAFE_IN_LINK.search(c)) == inputs.is_unsafe_in_link(c), hex(code)
