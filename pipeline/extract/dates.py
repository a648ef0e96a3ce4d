"""Parse the date strings found in pages: machine formats (ISO 8601, RFC 2822, compact), URL paths and
human-written dates in the common news languages.

Naive datetimes get the timezone hint of the page (an offset seen in another date on it), else UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime

MIN_YEAR = 1995

_ISO_RE = re.compile(
    r"(?P<y>(?:19|20)\d\d)-?(?P<m>[01]\d)-?(?P<d>[0-3]\d)"
    r"(?:[T\s]+(?P<H>[0-2]\d):?(?P<M>[0-5]\d)(?::?(?P<S>[0-5]\d)(?:[.,]\d+)?)?"
    r"\s*(?P<tz>Z|UTC|GMT|[+-][01]\d(?::?[0-5]\d)?)?)?",
    re.I,
)


def now_utc() -> datetime:
    return datetime.now(UTC)


def plausible(dt: datetime | None, *, now: datetime | None = None) -> bool:
    if dt is None or dt.year < MIN_YEAR:
        return False
    ref = now or now_utc()
    aware = dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    return aware <= ref + timedelta(days=2)


def _tz(text: str | None) -> tzinfo | None:
    if not text:
        return None
    t = text.upper()
    if t in ("Z", "UTC", "GMT"):
        return UTC
    sign = -1 if t[0] == "-" else 1
    digits = t[1:].replace(":", "")
    hours = int(digits[:2])
    minutes = int(digits[2:4]) if len(digits) >= 4 else 0
    if hours > 14:
        return None
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def localise(dt: datetime, tz_hint: tzinfo | None) -> datetime:
    """Give a naive datetime the page's timezone hint, else UTC; aware ones are kept as they are."""
    if dt.tzinfo is not None:
        return dt
    return dt.replace(tzinfo=tz_hint or UTC)


def parse_machine_date(value: object, tz_hint: tzinfo | None = None) -> datetime | None:
    """Parse a machine-readable date (ISO 8601 and relatives, RFC 2822, epoch seconds); None if unsure."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return localise(value, tz_hint) if plausible(value) else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_epoch(float(value))
    text = str(value).strip()
    if not text or len(text) > 80:
        return None
    dt = _parse_iso(text, tz_hint)
    if dt is None and re.search(r"[A-Za-z]{3},?\s+\d", text):
        try:
            dt = parsedate_to_datetime(text)
            dt = localise(dt, tz_hint)
        except (TypeError, ValueError, IndexError):
            dt = None
    if dt is None and re.fullmatch(r"1\d{9}(?:\d{3})?", text):
        dt = _from_epoch(float(text))
    if dt is None:
        dt = parse_human_date(text, tz_hint)
    return dt if plausible(dt) else None


def _from_epoch(value: float) -> datetime | None:
    if value > 1e11:
        value /= 1000
    try:
        dt = datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return dt if plausible(dt) else None


def _parse_iso(text: str, tz_hint: tzinfo | None) -> datetime | None:
    m = _ISO_RE.search(text)
    if not m or m.start() > 12:
        return None
    try:
        dt = datetime(
            int(m["y"]), int(m["m"]), int(m["d"]),
            int(m["H"] or 0), int(m["M"] or 0), int(m["S"] or 0),
        )
    except ValueError:
        return None
    tz = _tz(m["tz"]) if m["tz"] else None
    if tz is not None:
        return dt.replace(tzinfo=tz)
    return localise(dt, tz_hint)


# ---------------------------------------------------------------- URL path dates

_URL_DATE_RES = (
    re.compile(r"/((?:19|20)\d\d)[/_.-]([01]?\d)[/_.-]([0-3]?\d)(?:[/_.-]|\b)"),
    re.compile(r"[/_-]((?:19|20)\d\d)([01]\d)([0-3]\d)(?:[/_.-]|\b)"),
    re.compile(r"[/_-]([0-3]\d)[_.-]([01]\d)[_.-]((?:19|20)\d\d)(?:[/_.-]|\b)"),
)


def date_from_url(url: str | None) -> datetime | None:
    """A day found in the URL path (``/2024/05/03/``, ``-20240503-``, ``/2024-05-03/``), as midnight UTC."""
    if not url:
        return None
    path = url.split("?", 1)[0].split("#", 1)[0]
    for i, rx in enumerate(_URL_DATE_RES):
        for m in rx.finditer(path):
            parts = [int(x) for x in m.groups()]
            y, mo, d = (parts[2], parts[1], parts[0]) if i == 2 else parts
            try:
                dt = datetime(y, mo, d, tzinfo=UTC)
            except ValueError:
                continue
            if plausible(dt):
                return dt
    return None


# ---------------------------------------------------------------- human-written dates

_MONTHS: dict[str, int] = {}


def _add_months(names: str) -> None:
    for i, group in enumerate(names.split()):
        for name in group.split("|"):
            _MONTHS[name] = i + 1


# One language per line: twelve entries, alternatives separated by "|".
_add_months("january|jan february|feb march|mar april|apr may june|jun july|jul august|aug "
            "september|sept|sep october|oct november|nov december|dec")
_add_months("januar|jänner|jän februar|feb märz|mär|maerz april|apr mai juni|jun juli|jul august|aug "
            "september|sep|sept oktober|okt november|nov dezember|dez")
_add_months("janvier|janv février|fevrier|févr|fevr mars avril|avr mai juin juillet|juil août|aout "
            "septembre octobre novembre décembre|decembre|déc")
_add_months("enero|ene febrero marzo abril mayo junio julio agosto septiembre|setiembre octubre noviembre "
            "diciembre|dic")
_add_months("gennaio|gen febbraio marzo aprile maggio|mag giugno|giu luglio|lug agosto|ago settembre|set "
            "ottobre|ott novembre dicembre")
_add_months("janeiro fevereiro|fev março|marco abril maio junho julho agosto setembro outubro|out "
            "novembro dezembro|dez")
_add_months("januari februari maart april mei juni juli augustus september oktober november december")
_add_months("januar februar mars april mai juni juli august september oktober november desember|des")
_add_months("ocak şubat mart nisan mayıs haziran temmuz ağustos eylül ekim kasım aralık")
_add_months("stycznia lutego marca kwietnia maja czerwca lipca sierpnia września października "
            "listopada grudnia")
_add_months("ledna února března dubna května června července srpna září října listopadu prosince")

_MONTH_ALT = "|".join(sorted((re.escape(k) for k in _MONTHS), key=len, reverse=True))
_TIME = r"(?:[,\s]+(?:um\s+|à\s+|at\s+|a\s+las\s+|-\s*)?(?P<H>[0-2]?\d)[:.h](?P<M>[0-5]\d)(?:\s*(?P<ap>[ap]\.?m\.?))?)?"
_HUMAN_RES = (
    # 3 May 2024 / 3. Mai 2024 / 3 de mayo de 2024 / 3 maggio 2024
    re.compile(rf"\b(?P<d>[0-3]?\d)\.?\s*(?:de\s+)?(?P<mon>{_MONTH_ALT})\.?,?\s*(?:de\s+)?(?P<y>(?:19|20)\d\d)\b"
               + _TIME, re.I),
    # May 3, 2024
    re.compile(rf"\b(?P<mon>{_MONTH_ALT})\.?\s+(?P<d>[0-3]?\d)(?:st|nd|rd|th)?,?\s+(?P<y>(?:19|20)\d\d)\b" + _TIME,
               re.I),
    # 2024年5月3日 / 2024년 5월 3일
    re.compile(r"(?P<y>(?:19|20)\d\d)\s*[年년]\s*(?P<m>[01]?\d)\s*[月월]\s*(?P<d>[0-3]?\d)\s*[日일]"
               r"(?:\s*(?:\([^)]{1,3}\)|（[^）]{1,3}）)?\s*(?P<H>[0-2]?\d)[:時시]\s*(?P<M>[0-5]\d))?"),
    # 2024-05-03 / 2024/05/03 / 2024.05.03 / 2024. 5. 3.
    re.compile(r"\b(?P<y>(?:19|20)\d\d)\s*[-/.]\s*(?P<m>[01]?\d)\s*[-/.]\s*(?P<d>[0-3]?\d)\b"
               r"(?:\.?[T\s]+(?P<H>[0-2]?\d):(?P<M>[0-5]\d))?"),
    # 03.05.2024 / 03/05/2024 / 3-5-2024 (day first; month first only when the day is > 12)
    re.compile(r"\b(?P<d>[0-3]?\d)\s*[./-]\s*(?P<m>[01]?\d)\s*[./-]\s*(?P<y>(?:19|20)\d\d)\b"
               + _TIME),
)


def find_human_dates(text: str, tz_hint: tzinfo | None = None, *, month_first: bool = False,
                     limit: int = 20) -> list[tuple[int, datetime]]:
    """All plausible dates written in ``text`` as (position, datetime), in order of position."""
    found: list[tuple[int, datetime]] = []
    seen: set[int] = set()
    for i, rx in enumerate(_HUMAN_RES):
        for m in rx.finditer(text):
            if m.start() in seen:
                continue
            dt = _build(m, i, tz_hint, month_first)
            if dt is not None and plausible(dt):
                found.append((m.start(), dt))
                seen.add(m.start())
                if len(found) >= limit:
                    break
    found.sort(key=lambda x: x[0])
    return found


def parse_human_date(text: str, tz_hint: tzinfo | None = None, *, month_first: bool = False) -> datetime | None:
    found = find_human_dates(text[:300], tz_hint, month_first=month_first, limit=1)
    return found[0][1] if found else None


def _build(m: re.Match[str], kind: int, tz_hint: tzinfo | None, month_first: bool) -> datetime | None:
    gd = m.groupdict()
    try:
        year = int(gd["y"])
        if gd.get("mon"):
            month = _MONTHS.get(gd["mon"].lower().rstrip("."), 0)
        else:
            month = int(gd["m"])
        day = int(gd["d"])
        if kind == 4 and (month_first and day <= 12 or month > 12):
            day, month = month, day
        hour = int(gd["H"]) if gd.get("H") else 0
        minute = int(gd["M"]) if gd.get("M") else 0
        ap = (gd.get("ap") or "").lower()
        if ap.startswith("p") and hour < 12:
            hour += 12
        elif ap.startswith("a") and hour == 12:
            hour = 0
        if hour > 23:
            hour, minute = 0, 0
        return localise(datetime(year, month, day, hour, minute), tz_hint)
    except (TypeError, ValueError):
        return None


def as_day(dt: datetime | None) -> date | None:
    return dt.date() if dt else None
