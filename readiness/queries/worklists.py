"""A worklist as pages show it: its first entries and how many there are, counted up to
a bound so that neither costs more than the bound, however large the organisation."""

from dataclasses import dataclass

from sqlalchemy import func, literal, select

from ..extensions import db

# Past this many entries a list says "1,000+" instead of counting on.
COUNT_BOUND = 500


@dataclass(frozen=True)
class Worklist:
    """The first entries of a list a page shows, and how many there are in all (at least
    `total` when `capped`: there are more than COUNT_BOUND)."""

    items: list
    total: int
    capped: bool = False

    def __bool__(self):
        return self.total > 0


def count_upto(query, bound=...):
    """(how many rows `query` has, up to `bound` (COUNT_BOUND when not given); True when
    it has more). With `bound` None, all of them are counted."""
    bound = COUNT_BOUND if bound is ... else bound
    # Only a constant per row: the database counts index entries without reading rows.
    query = query.with_only_columns(literal(1), maintain_column_froms=True).order_by(None)
    limited = query if bound is None else query.limit(bound + 1)
    found = db.session.scalar(select(func.count()).select_from(limited.subquery()))
    return (found, False) if bound is None else (min(found, bound), found > bound)
