"""Flow `ledger_summary`: the `passive-income` artifacts, income per month, network and account."""

from __future__ import annotations

import base64
import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from html import escape
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.artifacts import markdown_table, money, payouts_markdown
from flows.fx_steps import base_currency
from flows.hooks import log_failure, name_run
from flows.payment_steps import money_ahead
from warehouse.connection import ledger, ledger_exists, resolve_db_path
from warehouse.fx import latest_fixing_day, tally_in
from warehouse.income import IncomeRow, income_rows

ARTIFACT_KEY = "passive-income"
TABLE_KEY = "passive-income-table"
CHART_MONTHS = 12
TABLE_MONTHS = 24
PARTIAL = "partial month"
BY_NETWORK_MONTHS = 3


@dataclass(frozen=True)
class MonthIncome:
    """One month of one currency, every network and account together."""

    month: date
    currency: str
    earned: Decimal
    pending: Decimal
    reversed: Decimal
    lines: int

    @property
    def net(self) -> Decimal:
        """What is earned or on its way (reversed lines are never in it)."""
        return self.earned + self.pending


def month_incomes(rows: list[IncomeRow]) -> list[MonthIncome]:
    """The rows summed per month and currency (never across currencies), oldest first."""
    sums: dict[tuple[date, str], list[Any]] = defaultdict(
        lambda: [Decimal(0), Decimal(0), Decimal(0), 0]
    )
    for row in rows:
        total = sums[(row.month, row.currency)]
        total[0] += row.earned
        total[1] += row.pending
        total[2] += row.reversed
        total[3] += row.lines
    return [MonthIncome(m, c, *sums[(m, c)]) for m, c in sorted(sums)]


def current_month(today: date) -> date:
    """The first day of the month `today` is in: that month is still partial."""
    return today.replace(day=1)


def _previous_month(month: date) -> date:
    return date(month.year - 1, 12, 1) if month.month == 1 else date(month.year, month.month - 1, 1)


def _last_months(end: date, count: int) -> list[date]:
    months = [end]
    while len(months) < count:
        months.append(_previous_month(months[-1]))
    return months[::-1]


def change(income: MonthIncome, previous: MonthIncome | None, *, today: date) -> str:
    """Net against the month before: only between whole months that both have income lines.

    The current month is partial (comparing 2 days with 30 says -97%), and a month after a
    gap has nothing to compare with (it is not a change from 0).
    """
    if income.month >= current_month(today):
        return PARTIAL
    if previous is None or previous.lines == 0:
        return "–"
    delta = income.net - previous.net
    sign = "+" if delta >= 0 else ""
    if previous.net == 0:
        return f"{sign}{money(delta)}"
    percent = (delta / abs(previous.net) * 100).quantize(Decimal("0.1"))
    return f"{sign}{money(delta)} ({sign}{percent}%)"


def _month_label(month: date, today: date) -> str:
    return f"{month:%Y-%m}" + (" (partial)" if month >= current_month(today) else "")


def chart_svg(nets: list[tuple[date, Decimal]], currency: str, *, today: date) -> str:
    """An SVG bar chart of net per month; the partial month is drawn pale and labelled."""
    width, height, top, bottom, left = 720, 260, 24, 40, 8
    slot = (width - left * 2) / max(len(nets), 1)
    high = max([n for _, n in nets] + [Decimal(0)])
    low = min([n for _, n in nets] + [Decimal(0)])
    span = (high - low) or Decimal(1)
    plot = height - top - bottom

    def y(value: Decimal) -> float:
        return top + float((high - value) / span) * plot

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="14" font-size="13">Net {escape(currency)} per month</text>',
        f'<line x1="{left}" x2="{width - left}" y1="{y(Decimal(0)):.1f}" '
        f'y2="{y(Decimal(0)):.1f}" stroke="#888"/>',
    ]
    for i, (month, net) in enumerate(nets):
        x = left + i * slot + slot * 0.15
        bar_top, bar_bottom = sorted((y(net), y(Decimal(0))))
        partial = month >= current_month(today)
        colour = "#c9d6f2" if partial else ("#c0392b" if net < 0 else "#2f5ec4")
        parts.append(
            f'<rect x="{x:.1f}" y="{bar_top:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{max(bar_bottom - bar_top, 0.5):.1f}" fill="{colour}">'
            f"<title>{_month_label(month, today)}: {money(net)}</title></rect>"
        )
        centre = x + slot * 0.35
        parts.append(
            f'<text x="{centre:.1f}" y="{bar_top - 3:.1f}" text-anchor="middle">{money(net)}</text>'
        )
        label = f"{month:%Y-%m}" + ("*" if partial else "")
        parts.append(
            f'<text x="{centre:.1f}" y="{height - bottom + 14}" text-anchor="middle">{label}</text>'
        )
    if any(m >= current_month(today) for m, _ in nets):
        parts.append(
            f'<text x="{left}" y="{height - 8}" fill="#555">* partial month, so far</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def chart_markdown(nets: list[tuple[date, Decimal]], currency: str, *, today: date) -> str:
    """The chart as a markdown image with a data URI: the UI's markdown renders it inline."""
    svg = chart_svg(nets, currency, today=today).encode("utf-8")
    data = base64.b64encode(svg).decode("ascii")
    return f"![Net {currency} per month](data:image/svg+xml;base64,{data})"


def income_markdown(
    rows: list[IncomeRow], *, today: date, source: str = "", table_link: str | None = None
) -> str:
    """The `passive-income` artifact: per currency, a chart and a table of months."""
    parts = ["# Passive income by month"]
    if source:
        parts.append(
            f"Ledger `{source}`. Earned = approved + paid; net = earned + pending; reversed "
            "lines are never income. The current month is partial: it has no change on last "
            "month."
        )
    if table_link:
        parts.append(f"By network and account: [{TABLE_KEY}]({table_link}).")
    incomes = month_incomes(rows)
    if not incomes:
        parts.append("The ledger has no commission lines yet.")
        return "\n\n".join(parts)
    for currency in sorted({i.currency for i in incomes}):
        mine = {i.month: i for i in incomes if i.currency == currency}
        months = sorted(mine)
        table = [
            [
                _month_label(month, today),
                money(mine[month].earned),
                money(mine[month].pending),
                money(mine[month].reversed),
                money(mine[month].net),
                str(mine[month].lines),
                change(mine[month], mine.get(_previous_month(month)), today=today),
            ]
            for month in months[-TABLE_MONTHS:]
        ]
        last = _last_months(months[-1], CHART_MONTHS)
        nets = [(m, mine[m].net if m in mine else Decimal(0)) for m in last]
        parts += [
            f"## {currency}",
            chart_markdown(nets, currency, today=today),
            markdown_table(
                ["month", "earned", "pending", "reversed", "net", "lines", "change on last month"],
                table[::-1],
            ),
            f"### {currency} by network and account, last {BY_NETWORK_MONTHS} months",
            markdown_table(
                ["month", "network", "account", "earned", "pending", "reversed", "net", "lines"],
                _by_network(rows, currency, months[-BY_NETWORK_MONTHS:], today=today),
            ),
        ]
    return "\n\n".join(parts)


def _by_network(
    rows: list[IncomeRow], currency: str, months: list[date], *, today: date
) -> list[list[str]]:
    """Markdown rows of one currency's months by network and account, newest first."""
    mine = [r for r in rows if r.currency == currency and r.month in months]
    columns = ("month", "network", "account", "earned", "pending", "reversed", "net", "lines")
    return [[row[c] for c in columns] for row in income_table(mine, today=today)]


def income_table(rows: list[IncomeRow], *, today: date) -> list[dict[str, str]]:
    """Rows of the `passive-income-table` artifact, newest month first, money as exact text."""
    return [
        {
            "month": _month_label(r.month, today),
            "network": r.network,
            "account": r.account,
            "currency": r.currency,
            "earned": money(r.earned),
            "pending": money(r.pending),
            "reversed": money(r.reversed),
            "net": money(r.net),
            "lines": str(r.lines),
        }
        for r in sorted(rows, key=lambda r: (r.month, r.currency, r.network, r.account))[::-1]
    ]


def ui_url() -> str | None:
    """The Prefect UI's address, from PREFECT_UI_URL or the API address (`.../api`)."""
    explicit = os.environ.get("PREFECT_UI_URL")
    if explicit:
        return explicit.rstrip("/")
    from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL

    configured = PREFECT_UI_URL.value() or PREFECT_API_URL.value()
    if not configured:
        return None
    return str(configured).rstrip("/").removesuffix("/api")


def summary_link(ui: str | None = None) -> str | None:
    """A stable link to the latest income summary: the UI page of its artifact key."""
    base = ui or ui_url()
    return f"{base}/artifacts/key/{ARTIFACT_KEY}" if base else None


def _cents(value: Decimal) -> str:
    # Converted amounts carry the rate's digits; the ledger's own precision is not theirs.
    return str(value.quantize(Decimal("0.01")))


def base_markdown(rows: list[tuple[object, ...]], columns: tuple[str, ...], base: str) -> str:
    """The months in one base currency (tally_in rows by month): net, and how it was converted."""
    if not rows:
        return (
            f"## All currencies in {base}\n\nNo ECB rates in the ledger yet: `passive fx update` "
            "(or the fx-daily deployment) fetches them."
        )
    at = {name: i for i, name in enumerate(columns)}

    def amount(row: tuple[object, ...], name: str) -> Decimal:
        value = row[at[name]]
        return Decimal(str(value)) if value is not None else Decimal(0)

    table = [
        [
            f"{row[at['month']]:%Y-%m}",
            _cents(amount(row, "approved") + amount(row, "paid")),
            _cents(amount(row, "pending")),
            _cents(amount(row, "net")),
            str(row[at["fallback"]]),
            str(row[at["unconverted"]]),
        ]
        for row in rows[-TABLE_MONTHS:]
    ]
    latest = table[-1]
    return "\n\n".join(
        [
            f"## All currencies in {base}",
            f"**{latest[0]}: net {latest[3]} {base}** across every currency, each line at the ECB "
            "reference rate of its day (or the latest up to 7 days earlier: `fallback`); "
            "`unconverted` lines had no rate in reach and are in no amount.",
            markdown_table(
                ["month", "earned", "pending", "net", "fallback", "unconverted"], table[::-1]
            ),
        ]
    )


@flow(
    name="ledger-summary",
    flow_run_name="ledger summary",
    on_failure=[log_failure],
    on_crashed=[log_failure],
)
def ledger_summary(db: str | None = None, today: date | None = None) -> str:
    """Publish income per month as the `passive-income` (chart + months per currency) and
    `passive-income-table` (months x network x account) artifacts."""
    path = resolve_db_path(db)
    today = today or datetime.now(UTC).date()
    rows: list[IncomeRow] = []
    base = base_currency()
    in_base = ""
    arriving: list[tuple[object, ...]] = []
    overdue: list[tuple[object, ...]] = []
    if ledger_exists(path):
        with ledger(path, read_only=True) as con:
            rows = income_rows(con)
            converted = tally_in(con, "month", base) if latest_fixing_day(con) else None
            arriving, overdue = money_ahead(con)
        if rows:
            in_base = base_markdown(
                converted.rows if converted else [], converted.columns if converted else (), base
            )
    else:
        get_run_logger().info("There is no ledger at %s yet.", path)
    if rows:
        first, last = rows[0].month, rows[-1].month
        name_run(f"ledger summary {first:%Y-%m}..{last:%Y-%m}")
    ui = ui_url()
    table_link = f"{ui}/artifacts/key/{TABLE_KEY}" if ui else None
    markdown = income_markdown(rows, today=today, source=str(path), table_link=table_link)
    if in_base:
        markdown += "\n\n" + in_base
    markdown += "\n\n" + payouts_markdown(arriving, overdue)
    create_markdown_artifact(
        markdown=markdown,
        key=ARTIFACT_KEY,
        description="Income per month and currency: chart, earned, pending, reversed, net",
    )
    create_table_artifact(
        table=income_table(rows, today=today),
        key=TABLE_KEY,
        description="Income per month, network, account and currency",
    )
    return markdown
