"""Flow `ledger_summary`: the `passive-income` artifact, commission per month and currency."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows.fx_steps import base_currency
from flows.hooks import log_failure, name_run
from flows.payment_steps import money_ahead, payouts_markdown
from flows.report import markdown_table
from warehouse.connection import ledger, resolve_db_path
from warehouse.fx import latest_fixing_day, tally_in
from warehouse.tally import tally

ARTIFACT_KEY = "passive-income"
CHART_MONTHS = 12
TABLE_MONTHS = 24
BAR_WIDTH = 30
CENT = Decimal("0.01")


@dataclass(frozen=True)
class MonthIncome:
    """One month of one currency: confirmed (approved + paid), pending, reversed and net."""

    month: date
    currency: str
    earned: Decimal
    pending: Decimal
    reversed: Decimal

    @property
    def net(self) -> Decimal:
        """What is earned or on its way (reversals are already out of it)."""
        return self.earned + self.pending


def month_incomes(rows: list[tuple[object, ...]], columns: tuple[str, ...]) -> list[MonthIncome]:
    """Tally-by-month rows (month, currency, pending, approved, paid, reversed, ...) as incomes."""
    at = {name: i for i, name in enumerate(columns)}

    def money(row: tuple[object, ...], name: str) -> Decimal:
        value = row[at[name]]
        return Decimal(str(value)) if value is not None else Decimal(0)

    incomes = []
    for row in rows:
        month = row[at["month"]]
        assert isinstance(month, date)
        incomes.append(
            MonthIncome(
                month=month,
                currency=str(row[at["currency"]]),
                earned=money(row, "approved") + money(row, "paid"),
                pending=money(row, "pending"),
                reversed=money(row, "reversed"),
            )
        )
    return incomes


def _previous_month(month: date) -> date:
    return date(month.year - 1, 12, 1) if month.month == 1 else date(month.year, month.month - 1, 1)


def _last_months(end: date, count: int) -> list[date]:
    months = [end]
    while len(months) < count:
        months.append(_previous_month(months[-1]))
    return months[::-1]


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT))


def _change(net: Decimal, before: Decimal | None) -> str:
    if before is None:
        return "–"
    delta = net - before
    sign = "+" if delta >= 0 else ""
    if before == 0:
        return f"{sign}{_money(delta)}"
    percent = (delta / abs(before) * 100).quantize(Decimal("0.1"))
    return f"{sign}{_money(delta)} ({sign}{percent}%)"


def chart(nets: list[tuple[date, Decimal]], width: int = BAR_WIDTH) -> str:
    """A text bar chart of net per month; months without income show as empty bars."""
    top = max((abs(n) for _, n in nets), default=Decimal(0))
    lines = []
    for month, net in nets:
        length = 0 if top == 0 else int((abs(net) / top * width).to_integral_value())
        bar = ("-" if net < 0 else "") + "█" * length
        lines.append(f"{month:%Y-%m} {bar:<{width + 1}} {_money(net):>12}")
    return "\n".join(lines)


def income_markdown(incomes: list[MonthIncome], *, source: str = "") -> str:
    """The `passive-income` artifact: per currency, a monthly table and a 12-month chart."""
    parts = ["# Passive income by month"]
    if source:
        parts.append(f"Ledger `{source}`. Earned = approved + paid; net = earned + pending.")
    if not incomes:
        parts.append("The ledger has no commission lines yet.")
        return "\n\n".join(parts)
    for currency in sorted({i.currency for i in incomes}):
        mine = {i.month: i for i in incomes if i.currency == currency}
        months = sorted(mine)
        rows = []
        for month in months[-TABLE_MONTHS:]:
            income = mine[month]
            before = mine.get(_previous_month(month))
            previous_net = before.net if before else (Decimal(0) if month != months[0] else None)
            rows.append(
                [
                    f"{month:%Y-%m}",
                    _money(income.earned),
                    _money(income.pending),
                    _money(income.reversed),
                    _money(income.net),
                    _change(income.net, previous_net),
                ]
            )
        last = _last_months(months[-1], CHART_MONTHS)
        nets = [(m, mine[m].net if m in mine else Decimal(0)) for m in last]
        parts += [
            f"## {currency}",
            markdown_table(
                ["month", "earned", "pending", "reversed", "net", "change on last month"],
                rows[::-1],
            ),
            f"Net {currency}, {last[0]:%Y-%m} to {last[-1]:%Y-%m}:",
            "```\n" + chart(nets) + "\n```",
        ]
    return "\n\n".join(parts)


def base_markdown(rows: list[tuple[object, ...]], columns: tuple[str, ...], base: str) -> str:
    """The months in one base currency (tally_in rows by month): net, and how it was converted."""
    if not rows:
        return (
            f"## All currencies in {base}\n\nNo ECB rates in the ledger yet: `passive fx update` "
            "(or the fx-daily deployment) fetches them."
        )
    at = {name: i for i, name in enumerate(columns)}

    def money(row: tuple[object, ...], name: str) -> Decimal:
        value = row[at[name]]
        return Decimal(str(value)) if value is not None else Decimal(0)

    table = [
        [
            f"{row[at['month']]:%Y-%m}",
            _money(money(row, "approved") + money(row, "paid")),
            _money(money(row, "pending")),
            _money(money(row, "net")),
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
def ledger_summary(db: str | None = None) -> str:
    """Publish the monthly income per currency as the `passive-income` artifact."""
    path = resolve_db_path(db)
    incomes: list[MonthIncome] = []
    base = base_currency()
    in_base = ""
    arriving: list[tuple[object, ...]] = []
    overdue: list[tuple[object, ...]] = []
    if Path(path).exists():
        with ledger(path, read_only=True) as con:
            result = tally(con, "month")
            converted = tally_in(con, "month", base) if latest_fixing_day(con) else None
            arriving, overdue = money_ahead(con)
        incomes = month_incomes(result.rows, result.columns)
        if incomes:
            rows = converted.rows if converted else []
            in_base = base_markdown(rows, converted.columns if converted else (), base)
    else:
        get_run_logger().info("no ledger at %s yet", path)
    if incomes:
        first, last = min(i.month for i in incomes), max(i.month for i in incomes)
        name_run(f"ledger summary {first:%Y-%m}..{last:%Y-%m}")
    markdown = income_markdown(incomes, source=str(path))
    if in_base:
        markdown += "\n\n" + in_base
    markdown += "\n\n" + payouts_markdown(arriving, overdue)
    create_markdown_artifact(
        markdown=markdown,
        key=ARTIFACT_KEY,
        description="Commission per month and currency: earned, pending, reversed, net",
    )
    return markdown
