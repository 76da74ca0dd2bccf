"""UTCDateTime on SQLite writes and reads exactly the text SQLAlchemy's own DATETIME
type does (the stored data, old and new, compares and sorts as one)."""

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from readiness.domain.inputs import parse_rfc3339
from readiness.models import UTCDateTime

DIALECT = sqlite.dialect()
SQLALCHEMY = sqlite.DATETIME()
zones = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-9,
                                                                              minutes=-30))])
moments = st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30),
                       timezones=zones)


@given(moments)
def test_sqlite_text_is_sqlalchemys_and_reads_back_as_the_same_moment(moment):
    ours = UTCDateTime().bind_processor(DIALECT)(moment)
    theirs = SQLALCHEMY.bind_processor(DIALECT)(moment.astimezone(UTC).replace(tzinfo=None))
    assert ours == theirs
    read = UTCDateTime().result_processor(DIALECT, None)(ours)
    assert read == moment and read.tzinfo is UTC


@given(st.sampled_from(["2026-11-26 09:00:00", "2026-11-26 09:00:00.5",
                        "2026-11-26 09:00:00.123456", "2026-01-02 03:04:05.000001"]))
def test_text_written_by_others_reads_as_sqlalchemy_reads_it(text):
    ours = UTCDateTime().result_processor(DIALECT, None)(text)
    assert ours == SQLALCHEMY.result_processor(DIALECT, None)(text).replace(tzinfo=UTC)


@given(st.lists(moments | st.none(), max_size=20),
       st.sampled_from([DIALECT, postgresql.psycopg.dialect()]))
def test_a_column_of_moments_binds_as_each_moment_does(values, dialect):
    """The column-wise conversion the fact insert uses gives what the type's own bind
    processor gives value by value, whatever the zone, on both databases."""
    column_type = UTCDateTime().dialect_impl(dialect)
    one_by_one = column_type.bind_processor(dialect)
    expected = [one_by_one(v) for v in values] if one_by_one else values
    assert UTCDateTime().bind_column(values, dialect) == expected


@st.composite
def rfc3339_texts(draw):
    """An RFC 3339 text in one of the forms a sender may use (any zone, fraction digits
    from none to nine, lower-case t and z, an offset of +00:00 for UTC)."""
    moment = draw(moments)
    spec = draw(st.sampled_from(["seconds", "milliseconds", "microseconds"]))
    text = moment.isoformat(timespec=spec)
    if draw(st.booleans()):
        text = text.replace("+00:00", "Z")
    if spec == "microseconds" and draw(st.booleans()):  # nanoseconds, the extra dropped
        text = text[:26] + "789" + text[26:]
    if draw(st.booleans()):
        text = text.replace("T", "t").replace("Z", "z")
    return text


@given(st.lists(rfc3339_texts() | st.none(), max_size=20),
       st.sampled_from([DIALECT, postgresql.psycopg.dialect()]))
def test_a_column_bound_from_its_rfc3339_texts_is_the_column_bound_from_its_moments(
        texts, dialect):
    """The fact insert takes the stored text's digits from the text a sender posted:
    what it binds is what the moments bind to, whatever form the text had."""
    values = [parse_rfc3339(t) if t is not None else datetime(2026, 1, 2, tzinfo=UTC)
              for t in texts]
    assert None not in values
    assert (UTCDateTime().bind_rfc3339_column(values, texts, dialect)
            == UTCDateTime().bind_column(values, dialect))
