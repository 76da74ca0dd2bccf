"""A running Backstage backend's catalog, read page by page (infrastructure: HTTP).

`GET {base}/api/catalog/entities/by-query?filter=kind=<kind>`, then the same path with
`cursor=<pageInfo.nextCursor>` until a page has none: the documented shape
`{"items": [...], "totalItems": n, "pageInfo": {"nextCursor": ...}}`. The token goes in
an `Authorization: Bearer` header and nowhere else (no message repeats it).
"""

import json
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

from .domain.inputs import is_http_link

PAGE = 500  # entities a page
TIMEOUT = 30  # seconds a request may take
MAX_PAGES = 10_000  # a backend that keeps sending cursors is a bug, not a catalog


class BackstageError(Exception):
    """The backend could not be read; the message says why, for a person."""


def entities(base_url, kind, token=None):
    """Yield every entity of `kind` ("component", "group") the backend at `base_url`
    has, following the cursors.

    :raise BackstageError: for an address that is not http(s), a refused token, an
        answer that is not the documented shape, or a backend that cannot be reached.
    """
    base = base_url.rstrip("/")
    if not is_http_link(base):
        raise BackstageError(f"{base_url}: not an http:// or https:// address")
    path = f"{base}/api/catalog/entities/by-query"
    url, seen = f"{path}?{urlencode({'filter': f'kind={kind}', 'limit': PAGE})}", set()
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    for _ in range(MAX_PAGES):
        page = _get(url, headers, base)
        items, info = page.get("items"), page.get("pageInfo") or {}
        if not isinstance(items, list) or not isinstance(info, dict):
            raise BackstageError(f"{base}: the answer to {url} has no list of items: is this "
                                 "a Backstage backend's address?")
        yield from items
        cursor = info.get("nextCursor")
        if not cursor or cursor in seen:
            return
        seen.add(cursor)
        url = f"{path}?{urlencode({'cursor': cursor, 'limit': PAGE})}"
    raise BackstageError(f"{base}: more than {MAX_PAGES:,} pages of {kind} entities")


def _get(url, headers, base):
    try:
        # The address was checked to be http(s) above: no file:// or other schemes.
        with urlopen(Request(url, headers=headers), timeout=TIMEOUT) as response:  # noqa: S310  # nosec B310
            return json.load(response)
    except HTTPError as exc:
        exc.close()  # its body is not read: let the connection go
        if exc.code in (401, 403):
            raise BackstageError(
                f"{base}: the backend refused the request ({exc.code} {exc.reason}): give a "
                "token it accepts with --token or BACKSTAGE_TOKEN") from None
        raise BackstageError(f"{base}: {exc.code} {exc.reason} for {url}") from None
    except URLError as exc:
        raise BackstageError(f"{base}: cannot reach it ({exc.reason})") from None
    except TimeoutError:
        raise BackstageError(f"{base}: no answer within {TIMEOUT} s") from None
    except ValueError:
        raise BackstageError(f"{base}: the answer to {url} is not JSON") from None
