"""Calendar windows for relative date filters (`today`, `lastXDays`, `currentQuarter`, ...), shared by dialects.

Kind names are EspoCRM's (specs/espocrm.md §2.3, "Date semantics"); other dialects map their own words onto
them. Every window is half-open, `start <= x < end`, with None for an open side, so a filter is at most two
comparisons. Date windows count local calendar days in a time zone; datetime windows are the UTC instants
(naive, as the store keeps them) of those local boundaries, so DST changes move the UTC bounds, never the
local ones. Out-of-calendar results (e.g. `lastXDays` of 10**9) raise ValueError or OverflowError.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any, Callable, Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from polycrm.query.tree import Compare, Node, Op, conjunction

T = TypeVar("T", date, datetime)

DAY = timedelta(days=1)
MAX_ZONE_NAME = 64

# kind -> (today, N) -> (first day, first day after); N is only read by the ...XDays kinds.
_DAY_WINDOWS: dict[str, Callable[[date, int], tuple[date | None, date | None]]] = {
    "today": lambda today, n: (today, today + DAY),
    "past": lambda today, n: (None, today),
    "future": lambda today, n: (today + DAY, None),
    "lastSevenDays": lambda today, n: (today - 7 * DAY, today + DAY),
    "lastXDays": lambda today, n: (today - n * DAY, today + DAY),
    "nextXDays": lambda today, n: (today, today + (n + 1) * DAY),
    "olderThanXDays": lambda today, n: (None, today - n * DAY),
    "afterXDays": lambda today, n: (today + (n + 1) * DAY, None),
}

# kind -> (period length in months, periods away from the current one, aligned to the fiscal year start)
_PERIODS: dict[str, tuple[int, int, bool]] = {
    "currentMonth": (1, 0, False), "lastMonth": (1, -1, False), "nextMonth": (1, 1, False),
    "currentQuarter": (3, 0, False), "lastQuarter": (3, -1, False),
    "currentYear": (12, 0, False), "lastYear": (12, -1, False),
    "currentFiscalYear": (12, 0, True), "lastFiscalYear": (12, -1, True),
    "currentFiscalQuarter": (3, 0, True), "lastFiscalQuarter": (3, -1, True),
}

RELATIVE_KINDS = frozenset(_DAY_WINDOWS) | frozenset(_PERIODS)

# EspoCRM anchors these datetime windows at the current instant instead of a local midnight.
_STARTS_NOW = frozenset({"future", "nextXDays"})
_ENDS_NOW = frozenset({"past", "lastSevenDays", "lastXDays"})


@dataclass(frozen=True, slots=True)
class Window(Generic[T]):
    """`start <= x < end`; None leaves that side open."""

    start: T | None
    end: T | None


def within(attribute: str, window: Window[Any]) -> Node:
    """`attribute >= start AND attribute < end` (a side left out where the window is open)."""
    bounds: list[Node] = []
    if window.start is not None:
        bounds.append(Compare(attribute, Op.GE, window.start))
    if window.end is not None:
        bounds.append(Compare(attribute, Op.LT, window.end))
    return conjunction(bounds)


def time_zone(name: str) -> ZoneInfo:
    """The IANA zone `name`; ValueError for anything zoneinfo cannot load (unknown, path-like, empty)."""
    if not name or len(name) > MAX_ZONE_NAME:
        raise ValueError(f"Unknown time zone {name!r}.")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"Unknown time zone {name!r}.") from None


def utc_naive(moment: datetime) -> datetime:
    """An aware datetime as the naive UTC value the store compares with."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def local_today(now: datetime, zone: tzinfo) -> date:
    """The calendar date in `zone` at the aware instant `now`."""
    return now.astimezone(zone).date()


def local_midnight(day: date, zone: tzinfo) -> datetime:
    """The naive UTC instant at which `day` starts in `zone`."""
    return utc_naive(datetime.combine(day, time(), tzinfo=zone))


def parse_instant(text: str, zone: tzinfo) -> datetime:
    """`YYYY-MM-DD HH:MM[:SS]`, a bare date or ISO 8601 -> naive UTC; text without an offset is wall time
    in `zone`. ValueError if it is none of these."""
    if not 10 <= len(text) <= 40:
        raise ValueError(f"Not a date-time: {text!r}.")
    parsed = datetime.fromisoformat(text)
    return utc_naive(parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone))


def date_window(kind: str, today: date, number: int = 0, *, fiscal_shift: int = 0) -> Window[date]:
    """The local dates a relative `kind` covers on `today`; `number` is N of the ...XDays kinds and
    `fiscal_shift` the months by which the fiscal year starts after January."""
    if kind in _PERIODS:
        months, offset, fiscal = _PERIODS[kind]
        return _period(today, months, offset, fiscal_shift if fiscal else 0)
    start, end = _DAY_WINDOWS[kind](today, number)
    return Window(start, end)


def datetime_window(kind: str, now: datetime, zone: tzinfo, number: int = 0, *,
                    fiscal_shift: int = 0) -> Window[datetime]:
    """The naive UTC instants a relative `kind` covers at the aware instant `now`, days counted in `zone`."""
    today = local_today(now, zone)
    days = date_window(kind, today, number, fiscal_shift=fiscal_shift)
    start = None if days.start is None else local_midnight(days.start, zone)
    end = None if days.end is None else local_midnight(days.end, zone)
    if kind == "afterXDays":
        # EspoCRM: from the midnight N days ahead, where date fields start the day after it.
        start = local_midnight(today + number * DAY, zone)
    if kind in _STARTS_NOW:
        start = utc_naive(now)
    if kind in _ENDS_NOW:
        end = utc_naive(now)
    return Window(start, end)


def calendar_period(today: date, months: int, offset: int = 0) -> Window[date]:
    """The calendar month (`months` 1), quarter (3) or year (12) `offset` periods away from the one holding
    `today`: other dialects' words (Concord's `next_quarter`, `last_year`) that EspoCRM has no kind for."""
    return _period(today, months, offset, 0)


def calendar_week(today: date, offset: int = 0) -> Window[date]:
    """The Monday-to-Sunday week `offset` weeks away from the one holding `today` (ISO weeks, as PHP's
    Carbon counts them by default)."""
    start = today - today.weekday() * DAY + offset * 7 * DAY
    return Window(start, start + 7 * DAY)


def _period(today: date, months: int, offset: int, shift: int) -> Window[date]:
    """The `months`-long period `offset` periods away from the one holding `today`; periods are aligned
    so that one starts in month `shift + 1` of every year."""
    index = today.year * 12 + today.month - 1 - shift  # months since year 0, relative to the alignment
    first = index - index % months + offset * months + shift
    return Window(_month_start(first), _month_start(first + months))


def _month_start(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)
