"""Everything the database holds, as JSON Lines, one file per table (infrastructure: it
walks the tables themselves) for `flask --app app export PATH`.

Secrets stay behind: password hashes, session nonces, API token digests and webhook
signing secrets are left out of their tables (a token's first characters, which pages
show to tell tokens apart, stay), and the sign-in throttle's bookkeeping
(`login_attempt`: addresses) is not exported at all. Rows are read in chunks, so an
export of millions of facts needs little memory.
"""

import json
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select

from .extensions import db

LEFT_OUT_COLUMNS = {"user": {"password_hash", "session_nonce"},
                    "api_token": {"digest"}, "subscription": {"secret"}}
LEFT_OUT_TABLES = {"login_attempt"}
CHUNK = 2000


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def export_all(folder):
    """Write `<table>.jsonl` for every table into `folder` (created; it must be empty
    or new); returns {table: rows written}.

    :raise FileExistsError: when `folder` exists and holds files.
    """
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        raise FileExistsError(f"{folder} is not empty: export into a new or empty folder")
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for table in db.metadata.sorted_tables:
        if table.name in LEFT_OUT_TABLES:
            continue
        columns = [c for c in table.columns if c.name not in LEFT_OUT_COLUMNS.get(table.name, ())]
        query = select(*columns).order_by(*table.primary_key.columns)
        count = 0
        with (folder / f"{table.name}.jsonl").open("w", encoding="utf-8") as out:
            for row in db.session.execute(query.execution_options(yield_per=CHUNK)).mappings():
                out.write(json.dumps(dict(row), default=_plain, ensure_ascii=False) + "\n")
                count += 1
        written[table.name] = count
    return written
