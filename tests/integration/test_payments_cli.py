"""`passive forecast`, `passive payments` and the ledger summary's payout sections, on the
hand-made ledger of tests/payout_fixture.py (a real DuckDB file)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from flows.artifacts import payouts_markdown
from flows.commands import app
from flows.payment_steps import money_ahead
from tests.payout_fixture import AS_OF, build_ledger

runner = CliRunner()


@pytest.fixture
def ledger_file(tmp_path: Path) -> Path:
    db = tmp_path / "ledger.duckdb"
    build_ledger(db)
    return db


def test_forecast_sums_the_next_months_firm_and_likely(ledger_file: Path) -> None:
    result = runner.invoke(
        app, ["forecast", "--db", str(ledger_file), "--as-of", str(AS_OF), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    got = [
        (r["month"], r["network"], r["currency"], r["firm"], r["likely"], r["lines"])
        for r in data["forecast"]
    ]
    # Nov 2026 to Apr 2027; by hand from tests/payout_fixture.py (see test_payout_forecast).
    assert got == [
        ("2026-11-01", "awin", "GBP", "19.0000", "19.0000", 3),
        ("2026-11-01", "cj", "USD", "60.0000", "62.6666", 2),
        ("2026-11-01", "impact", "USD", "6.0000", "6.0000", 1),
        ("2026-12-01", "cj", "USD", "0.0000", "8.0000", 1),
        ("2027-01-01", "amazon", "USD", "10.5000", "10.5000", 4),
        ("2027-01-01", "awin", "GBP", "4.0000", "4.0000", 1),
        ("2027-01-01", "cj", "USD", "0.0000", "6.2160", 1),
        ("2027-03-01", "amazon", "USD", "20.0000", "20.0000", 1),
    ]
    undated = {(r["network"], r["basis"]) for r in data["undated"]}
    assert undated == {("amazon", "amazon schedule"), ("awin", "awin schedule"),
                       ("impact", "threshold")}  # fmt: skip


def test_forecast_threshold_option_keeps_an_amazon_accounts_threshold(ledger_file: Path) -> None:
    result = runner.invoke(
        app,
        ["forecast", "--db", str(ledger_file), "--as-of", str(AS_OF), "--threshold",
         "amz-de=20", "--format", "json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    # 30 EUR now reaches the account's threshold: paid 60 days after October, Dec 30.
    rows = json.loads(result.stdout)["forecast"]
    assert any(r["network"] == "amazon" and r["currency"] == "EUR" and r["month"] == "2026-12-01"
               for r in rows)  # fmt: skip


def test_forecast_threshold_must_be_account_equals_amount(ledger_file: Path) -> None:
    result = runner.invoke(app, ["forecast", "--db", str(ledger_file), "--threshold", "amz-de"])
    assert result.exit_code == 2


def test_payments_lists_the_missing_payments_and_what_is_overdue(ledger_file: Path) -> None:
    result = runner.invoke(
        app, ["payments", "--db", str(ledger_file), "--as-of", str(AS_OF), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [(d["network"], d["month"], d["difference"]) for d in data["differences"]] == [
        ("awin", "2026-09-01", "7.0000"),
        ("impact", "2026-07-01", "30.0000"),
    ]
    assert [(o["network"], o["lines"], o["most_days"]) for o in data["overdue"]] == [
        ("amazon", 1, 218),
        ("awin", 1, 51),
    ]
    assert {p["payment_id"] for p in data["payments"]} == {"71", "9", "INV-1"}


def test_payments_table_output_names_every_section(ledger_file: Path) -> None:
    result = runner.invoke(app, ["payments", "--db", str(ledger_file), "--as-of", str(AS_OF)])
    assert result.exit_code == 0, result.output
    for title in ("Payments", "Paid in the ledger, not in the payments", "Overdue"):
        assert title in result.stdout


def test_a_missing_ledger_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["forecast", "--db", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 2
    assert "no ledger here yet" in result.output


def test_the_ledger_summary_gains_money_arriving_and_overdue(ledger_file: Path) -> None:
    with duckdb.connect(str(ledger_file), read_only=True) as con:
        con.execute(f"SET VARIABLE passive_as_of = DATE '{AS_OF}'")
        arriving, overdue = money_ahead(con)
    text = payouts_markdown(arriving, overdue)
    assert "## Money arriving in the next 90 days" in text and "## Overdue" in text
    # Nov 5 to Feb 2 2027: awin 2+16+4 (Nov 1 is past), cj 60+3.3333+10+7.77 (likely
    # 60+2.6666+8+6.216), impact 6 (Oct's are past); amazon's Jan 29.
    assert arriving == [
        ("amazon", "USD", *_money("10.5000", "10.5000"), 4),
        ("awin", "GBP", *_money("22.0000", "22.0000"), 3),
        ("cj", "USD", *_money("81.1033", "76.8826"), 4),
        ("impact", "USD", *_money("6.0000", "6.0000"), 1),
    ]
    assert "| awin | aw1 | GBP | 1 | 5.0000 | 51 |" in text


def test_a_ledger_without_payment_views_gives_an_empty_summary(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE commissions (x INTEGER)")
        assert money_ahead(con) == ([], [])
    assert "Nothing is overdue." in payouts_markdown([], [])


def _money(*values: str) -> tuple[object, ...]:
    from decimal import Decimal

    return tuple(Decimal(v) for v in values)
