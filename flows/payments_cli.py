"""The `passive forecast` and `passive payments` commands: when the money arrives, and whether
everything the ledger counts as paid was paid."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any

import typer

from flows.console import console
from flows.options import AsOfOption, DbOption, FormatOption

if TYPE_CHECKING:
    from flows.payment_steps import PaymentsSummary

commands = typer.Typer()
out = console()
err = console(stderr=True)
# How many months `passive forecast` shows unless told (the demo shows as many).
FORECAST_MONTHS = 6


def print_payments_line(summary: PaymentsSummary | None) -> None:
    """What a pull did with the network's payments, one line (stderr when it failed)."""
    if summary is None:
        return
    if summary.error is not None:
        err.print(f"[yellow]{summary.line()}[/]", highlight=False, soft_wrap=True)
    else:
        out.print(summary.line(), highlight=False)


def _day(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


def _thresholds(values: list[str]) -> list[tuple[str, Decimal]]:
    parsed = []
    for value in values:
        account, sep, amount = value.partition("=")
        try:
            number = Decimal(amount)
        except InvalidOperation:
            number = Decimal("NaN")
        if not sep or not account or not number.is_finite() or number < 0:
            raise typer.BadParameter(
                f"{value!r}: expected ACCOUNT=AMOUNT, e.g. my-amazon-de=25",
                param_hint="--threshold",
            )
        parsed.append((account, number))
    return parsed


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


@commands.command()
def forecast(
    db: DbOption = None,
    months: Annotated[int, typer.Option(min=1, max=60, help="Months to show.")] = FORECAST_MONTHS,
    as_of: AsOfOption = None,
    threshold: Annotated[
        list[str] | None,
        typer.Option(
            "--threshold",
            help="Set an Amazon account's payment threshold, ACCOUNT=AMOUNT (kept in the ledger).",
        ),
    ] = None,
    fmt: FormatOption = "table",
) -> None:
    """Money expected per month for the next months, firm (approved) and likely (pending
    discounted by the account's reversal rate), per network and currency."""
    from flows import payment_steps
    from flows.ledger import Ledger
    from flows.output import emit as _emit
    from flows.output import fail as _fail
    from warehouse.connection import LedgerLockedError, resolve_db_path

    books = Ledger(db)
    try:
        if threshold:
            books.set_thresholds(_thresholds(threshold))
        rows, undated = books.forecast(as_of=_day(as_of), months=months)
    except FileNotFoundError as error:
        raise _fail(str(error)) from None
    except LedgerLockedError as error:
        raise _fail(str(error)) from None
    columns = payment_steps.FORECAST_COLUMNS
    if fmt == "json":
        data = {
            "forecast": [dict(zip(columns, map(_plain, r), strict=True)) for r in rows],
            "undated": [dict(zip(payment_steps.UNDATED_COLUMNS, map(_plain, r), strict=True))
                        for r in undated],
        }  # fmt: skip
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    title = (
        f"Money expected, {months} months from {(_day(as_of) or datetime.now(UTC).date()):%Y-%m}"
    )
    _emit(columns, rows, fmt, title)
    if fmt == "table":
        if not rows:
            out.print(f"nothing is expected in that time ({resolve_db_path(db)})")
        for network, currency, basis, lines, amount, likely in undated:
            out.print(
                f"[dim]{network} {currency}: {amount} in {lines} lines not dated yet ({basis}),"
                f" likely {likely}[/]",
                highlight=False,
            )


@commands.command()
def payments(db: DbOption = None, as_of: AsOfOption = None, fmt: FormatOption = "table") -> None:
    """Payments the networks reported, the months whose paid lines no payment accounts for,
    and approved lines more than 30 days past their expected payment day."""
    from flows import payment_steps
    from flows.ledger import Ledger
    from flows.output import emit as _emit
    from flows.output import fail as _fail

    try:
        paid, differences, overdue = Ledger(db).payments(as_of=_day(as_of))
    except FileNotFoundError as error:
        raise _fail(str(error)) from None
    sections = (
        ("payments", payment_steps.PAYMENT_COLUMNS, paid, "Payments"),
        ("differences", payment_steps.DIFFERENCE_COLUMNS, differences,
         "Paid in the ledger, not in the payments (difference = ledger_paid - payments)"),
        ("overdue", payment_steps.OVERDUE_COLUMNS, overdue,
         "Overdue: approved, not paid, 30+ days late"),
    )  # fmt: skip
    if fmt == "json":
        data = {
            key: [dict(zip(columns, map(_plain, r), strict=True)) for r in rows]
            for key, columns, rows, _ in sections
        }
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    for _, columns, rows, title in sections:
        if fmt == "table" and not rows:
            out.print(f"{title}: none")
            continue
        _emit(columns, rows, fmt, title)
