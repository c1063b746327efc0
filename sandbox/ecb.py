"""Generated ECB reference-rate files in the real shapes: the history zip and the XML files.

Shapes as the ECB serves them (affiliate-formats.md section 11): `eurofxref-hist.zip` holds
one CSV, `Date` then one column per currency, newest day first, a trailing empty column and
`N/A` where a currency has no rate (CYP and EEK long gone, HRK since the euro in 2023, RUB
suspended since 2022-03-01); the XML files are gesmes envelopes of `<Cube time=...>` days.
No fixing on weekends or TARGET holidays (New Year, Good Friday, Easter Monday, 1 May, 25
and 26 December). Rates are a deterministic function of the seed and the day.
"""

from __future__ import annotations

import io
import math
import random
import threading
import zipfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from fastapi import FastAPI, Response

FIRST_DAY = date(2019, 1, 2)
# currency -> (per-euro level, decimal places as the ECB publishes it, last day quoted)
CURRENCIES: dict[str, tuple[str, int, date | None]] = {
    "USD": ("1.10", 4, None),
    "JPY": ("150", 2, None),
    "BGN": ("1.9558", 4, None),
    "CYP": ("0.585274", 6, date(2007, 12, 31)),
    "CZK": ("25", 3, None),
    "DKK": ("7.45", 4, None),
    "EEK": ("15.6466", 4, date(2010, 12, 31)),
    "GBP": ("0.86", 5, None),
    "HUF": ("380", 2, None),
    "PLN": ("4.4", 4, None),
    "RON": ("4.9", 4, None),
    "SEK": ("11", 4, None),
    "CHF": ("1.0", 4, None),
    "ISK": ("145", 2, None),
    "NOK": ("11", 4, None),
    "HRK": ("7.5", 4, date(2022, 12, 30)),
    "RUB": ("85", 4, date(2022, 3, 1)),
    "TRY": ("20", 4, None),
    "AUD": ("1.6", 4, None),
    "BRL": ("5.7", 4, None),
    "CAD": ("1.47", 4, None),
    "CNY": ("7.7", 4, None),
    "HKD": ("8.6", 4, None),
    "IDR": ("16500", 2, None),
    "ILS": ("4.0", 4, None),
    "INR": ("88", 4, None),
    "KRW": ("1400", 2, None),
    "MXN": ("20", 4, None),
    "MYR": ("4.9", 4, None),
    "NZD": ("1.75", 4, None),
    "PHP": ("60", 3, None),
    "SGD": ("1.46", 4, None),
    "THB": ("37", 3, None),
    "ZAR": ("19.5", 4, None),
}
_FIXED = frozenset({"BGN", "CYP", "EEK"})  # pegged: the same rate every day
RECENT_DAYS = 90
_ENVELOPE_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" '
    'xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">\n'
    "\t<gesmes:subject>Reference rates</gesmes:subject>\n"
    "\t<gesmes:Sender>\n\t\t<gesmes:name>European Central Bank</gesmes:name>\n"
    "\t</gesmes:Sender>\n\t<Cube>\n"
)
_ENVELOPE_TAIL = "\t</Cube>\n</gesmes:Envelope>\n"


def easter(year: int) -> date:
    """Easter Sunday of a Gregorian year (the anonymous Gregorian computus)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 19 * weekday) // 433
    month = (h + weekday - 7 * m + 90) // 25
    return date(year, month, (h + weekday - 7 * m + 33 * month + 19) % 32)


def target_holiday(day: date) -> bool:
    """A TARGET closing day other than a weekend: no ECB fixing."""
    sunday = easter(day.year)
    return (day.month, day.day) in ((1, 1), (5, 1), (12, 25), (12, 26)) or day in (
        sunday - timedelta(days=2),
        sunday + timedelta(days=1),
    )


def fixing_days(start: date, end: date) -> list[date]:
    """The working days from `start` to `end` inclusive, oldest first."""
    days = []
    day = start
    while day <= end:
        if day.weekday() < 5 and not target_holiday(day):
            days.append(day)
        day += timedelta(days=1)
    return days


class EcbRates:
    """The sandbox's ECB: rates per day and currency, and re-published values for tests."""

    def __init__(self, seed: int = 7, today: date | None = None) -> None:
        self.seed = seed
        self._today = today
        self._revisions: dict[tuple[date, str], Decimal] = {}
        self._lock = threading.Lock()
        self._zipped: tuple[tuple[date, int], bytes] | None = None

    @property
    def today(self) -> date:
        """The last day that can have a fixing (the real date unless fixed for a test)."""
        return self._today or datetime.now(UTC).date()

    def rate(self, day: date, currency: str) -> Decimal | None:
        """The rate of `currency` on a fixing day, or None where the file says N/A."""
        return self.fixing(day).get(currency)

    def fixing(self, day: date) -> dict[str, Decimal | None]:
        """Every currency's rate on a fixing day (None: N/A)."""
        rng = random.Random(self.seed * 1_000_003 + day.toordinal())
        rates: dict[str, Decimal | None] = {}
        for number, (currency, (level, places, last)) in enumerate(CURRENCIES.items()):
            noise = rng.uniform(-0.01, 0.01)
            if last is not None and day > last:
                rates[currency] = None
            elif currency in _FIXED:
                rates[currency] = Decimal(level)
            else:
                wave = 0.06 * math.sin(day.toordinal() / 58.0 + number)
                rates[currency] = Decimal(f"{float(level) * (1 + wave + noise):.{places}f}")
        with self._lock:
            for (revised_day, currency), value in self._revisions.items():
                if revised_day == day:
                    rates[currency] = value
        return rates

    def republish(self, day: date, currency: str, rate: Decimal) -> None:
        """From now on serve `rate` for this fixing (the ECB corrected it)."""
        with self._lock:
            self._revisions[(day, currency)] = rate

    def days(self, start: date | None = None) -> list[date]:
        """Fixing days from `start` (default: the first) to today, oldest first."""
        return fixing_days(start or FIRST_DAY, self.today)

    def history_csv(self) -> str:
        """eurofxref-hist.csv: newest first, a trailing empty column, N/A for no rate."""
        lines = ["Date," + ",".join(CURRENCIES) + ","]
        for day in reversed(self.days()):
            cells = ("N/A" if c is None else str(c) for c in self.fixing(day).values())
            lines.append(f"{day.isoformat()},{','.join(cells)},")
        return "\n".join(lines) + "\n"

    def history_zip(self) -> bytes:
        """eurofxref-hist.zip: the history CSV, zipped (made once a day and per correction)."""
        with self._lock:
            key = (self.today, len(self._revisions))
            if self._zipped is not None and self._zipped[0] == key:
                return self._zipped[1]
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("eurofxref-hist.csv", self.history_csv())
        with self._lock:
            self._zipped = (key, buffer.getvalue())
        return buffer.getvalue()

    def xml(self, days: list[date]) -> str:
        """The gesmes envelope of `days`, newest first; N/A currencies are left out."""
        parts = [_ENVELOPE_HEAD]
        for day in reversed(days):
            parts.append(f'\t\t<Cube time="{day.isoformat()}">\n')
            for currency, value in self.fixing(day).items():
                if value is not None:
                    parts.append(f'\t\t\t<Cube currency="{currency}" rate="{value}"/>\n')
            parts.append("\t\t</Cube>\n")
        parts.append(_ENVELOPE_TAIL)
        return "".join(parts)

    def recent_xml(self) -> str:
        """eurofxref-hist-90d.xml: the fixings of the last 90 days."""
        return self.xml(self.days(self.today - timedelta(days=RECENT_DAYS)))

    def daily_xml(self) -> str:
        """eurofxref-daily.xml: the latest fixing."""
        return self.xml(self.days(self.today - timedelta(days=10))[-1:])


def register(app: FastAPI, rates: EcbRates) -> None:
    """Serve the ECB's files at their real paths under /stats/eurofxref/."""

    @app.get("/stats/eurofxref/eurofxref-hist.zip")
    async def history() -> Response:
        return Response(rates.history_zip(), media_type="application/zip")

    @app.get("/stats/eurofxref/eurofxref-hist-90d.xml")
    async def recent() -> Response:
        return Response(rates.recent_xml(), media_type="text/xml")

    @app.get("/stats/eurofxref/eurofxref-daily.xml")
    async def daily() -> Response:
        return Response(rates.daily_xml(), media_type="text/xml")
