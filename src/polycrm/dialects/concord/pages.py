"""Laravel's length-aware paginator as Concord's API answers it (specs/concord.md §3, §9 "§3 List parameters").

`data`/`links`/`meta` with Concord's own labels ("Previous", "Next") and Laravel's window of page links. Unlike
Concord, page URLs keep the caller's query string (`q`, `filters`, `per_page`, `order`): a client following
`links.next` keeps its filter (§10).
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import quote

from polycrm.dialects.concord.context import DEFAULT_PER_PAGE, MAX_PER_PAGE, ConcordRequest
from polycrm.dialects.concord.envelope import invalid_field
from polycrm.dialects.php_query import php_intval

ON_EACH_SIDE = 3  # Laravel's default window: 3 pages each side of the current one
MAX_PAGE = 1_000_000  # beyond it an offset no store takes (SQLite's is a 64-bit integer)


def page_size(request: ConcordRequest) -> int:
    """`per_page`: 15 when absent, zero or not a number (as Concord); refused above MAX_PER_PAGE or below 0
    (Concord answers 500 for a negative size and serves any size)."""
    raw = request.query.get("per_page")
    if raw is None or isinstance(raw, (list, dict)):
        return DEFAULT_PER_PAGE
    size = php_intval(raw)
    if size < 0 or size > MAX_PER_PAGE:
        raise invalid_field("per_page", f"The per page field must be between 1 and {MAX_PER_PAGE}.")
    return size or DEFAULT_PER_PAGE


def page_number(request: ConcordRequest) -> int:
    """`page`: 1 when absent, below 1 or not a number, as Laravel reads it; refused beyond MAX_PAGE."""
    raw = request.query.get("page")
    number = php_intval(raw) if isinstance(raw, str) else 1
    if number > MAX_PAGE:
        raise invalid_field("page", f"The page field must not be greater than {MAX_PAGE}.")
    return number if number >= 1 else 1


def take_count(request: ConcordRequest, default: int, maximum: int) -> int:
    """`take` (search endpoints): at most `maximum`; `default` when absent, below 1 or not a number (PHP's
    intval reads it, as `page`)."""
    raw = request.query.get("take")
    number = php_intval(raw) if isinstance(raw, str) else 0
    return min(number, maximum) if number >= 1 else default


class PageLinks:
    """URLs of the pages of one list: the request's path and query string with another `page`."""

    def __init__(self, request: ConcordRequest):
        self.path = f"{request.base_url}{request.path}"
        kept = [part for part in request.raw_query.split("&") if part and part.split("=", 1)[0] != "page"]
        self.prefix = f"{self.path}?{'&'.join(kept) + '&' if kept else ''}page="

    def url(self, page: int) -> str:
        return f"{self.prefix}{quote(str(page))}"


def _window(current: int, last: int) -> list[int | None]:
    """Laravel's UrlWindow: every page when there are few, else the ends and the current page's
    neighbourhood, None standing for the "..." between them."""
    window = ON_EACH_SIDE * 2
    if last < window + 8:
        return list(range(1, last + 1))
    if current <= window:
        return [*range(1, window + 3), None, last - 1, last]
    if current > last - window:
        return [1, 2, None, *range(last - (window + 2) + 1, last + 1)]
    return [1, 2, None, *range(current - ON_EACH_SIDE, current + ON_EACH_SIDE + 1), None, last - 1, last]


def paginated(rows: list[dict[str, Any]], *, total: int, page: int, per_page: int,
              links: PageLinks) -> dict[str, Any]:
    last = max(1, math.ceil(total / per_page))
    first_row = (page - 1) * per_page + 1
    prev_url = links.url(page - 1) if page > 1 else None
    next_url = links.url(page + 1) if page < last else None
    meta_links: list[dict[str, Any]] = [{"url": prev_url, "label": "Previous", "active": False}]
    for number in _window(page, last):
        if number is None:
            meta_links.append({"url": None, "label": "...", "active": False})
        else:
            meta_links.append({"url": links.url(number), "label": str(number), "active": number == page})
    meta_links.append({"url": next_url, "label": "Next", "active": False})
    return {
        "data": rows,
        "links": {"first": links.url(1), "last": links.url(last), "prev": prev_url, "next": next_url},
        "meta": {"current_page": page, "from": first_row if rows else None, "last_page": last,
                 "links": meta_links, "path": links.path, "per_page": per_page,
                 "to": first_row + len(rows) - 1 if rows else None, "total": total},
    }
