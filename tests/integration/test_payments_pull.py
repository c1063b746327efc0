"""Pulling payments from the sandbox over real loopback HTTP into DuckDB files: impact.com
invoices and withdrawal settings, Awin payments and breakdowns, and what the views make of them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from flows import payment_steps, pull_steps
from sandbox.server import SandboxHandle, run_sandbox

PAYMENT_TABLES = ("payments", "payment_items", "payment_changes", "payout_settings",
                  "commission_terms", "commissions", "rejects")  # fmt: skip


def impact_account() -> dict[str, Any]:
    """The implicit impact.com account's checked settings and its name in the ledger."""
    settings = pull_steps.load_settings("impact")
    account = pull_steps.connector_for("impact").account(settings)
    return {"settings": settings, "ledger_account": account}


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[SandboxHandle]:
    """This module's own seed; conftest's `sandbox` resets it and points PASSIVE_* at it."""
    with run_sandbox(23, cj_page_size=400) as handle:
        yield handle


def pull(sandbox: SandboxHandle, db: Path, network: str) -> pull_steps.PullSummary:
    since = sandbox.dataset.start - timedelta(days=1)
    summary = pull_steps.pull(network, db=db, since=since)
    assert summary.status == "completed", summary.message
    return summary


def tables(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            t: con.execute(
                f"SELECT * EXCLUDE (updated_at) FROM {t} ORDER BY ALL"
                if t in ("payout_settings",)
                else f"SELECT * FROM {t} ORDER BY ALL"
            ).fetchall()
            for t in PAYMENT_TABLES
        }


def rows(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def test_pull_impact_also_loads_invoices_and_withdrawal_settings(sandbox, db):
    summary = pull(sandbox, db, "impact")
    assert summary.payments is not None and summary.payments.error is None
    assert summary.exit_code == 0
    invoices = rows(db, "SELECT count(*), sum(amount) FROM payments WHERE network = 'impact'")
    items = rows(db, "SELECT count(*), sum(amount) FROM payment_items WHERE network = 'impact'")
    assert invoices[0][0] > 0 and invoices[0][1] == items[0][1]
    assert rows(db, "SELECT scheduling_type, payment_day FROM payout_settings") == [
        ("FIXED_DAY", 15)
    ]
    # Every line carries its campaign and locking day for the forecast.
    missing = rows(
        db,
        "SELECT count(*) FROM commissions c LEFT JOIN commission_terms t USING"
        " (network, account, line_id) WHERE c.network = 'impact' AND t.locking_date IS NULL",
    )
    assert missing == [(0,)]
    # What the ledger marks paid is exactly what the paid invoice lines say, month by month.
    assert rows(db, "SELECT * FROM payments_reconciliation WHERE difference <> 0") == []
    assert rows(db, "SELECT count(*) FROM payments_reconciliation")[0][0] > 0


def test_pulling_invoices_and_payments_twice_changes_nothing(sandbox, db):
    pull(sandbox, db, "impact")
    pull(sandbox, db, "awin")
    before = tables(db)
    pull(sandbox, db, "impact")
    pull(sandbox, db, "awin")
    after = tables(db)
    for table in PAYMENT_TABLES:
        assert after[table] == before[table], table
    assert before["payments"] and before["payment_changes"]


def test_an_invoice_turning_paid_updates_in_place_and_records_the_change(sandbox, db):
    first = pull(sandbox, db, "impact")
    scheduled = rows(db, "SELECT count(*) FROM payments WHERE status = 'scheduled'")[0][0]
    assert scheduled > 0
    count = rows(db, "SELECT count(*) FROM payments")[0][0]
    # impact.com pays the scheduled invoices: every locked action in them clears.
    with sandbox.state.lock:
        now = sandbox.dataset.now_ts
        for action in sandbox.dataset.impact:
            if action.state == "APPROVED" and action.locking_ts <= now and not action.cleared:
                action.cleared_ts = now - 60
                action.json_cache = None
        sandbox.dataset.version += 1
    second = payment_steps.pull_and_load_payments(
        "impact", **impact_account(), db=db, start=first.plan.start,
        end=first.plan.end + timedelta(days=1),
    )  # fmt: skip
    assert second is not None and second.result is not None and second.result.changed > 0
    turned = rows(
        db,
        "SELECT c.payment_id, p.status FROM payment_changes c JOIN payments p USING"
        " (network, account, payment_id) WHERE c.run_id = ? AND c.change = 'changed'"
        " AND c.old_status = 'scheduled' AND c.new_status = 'paid'",
        second.run_id,
    )
    assert len(turned) == scheduled and all(status == "paid" for _, status in turned)
    # Updated in place: the same invoices, no second row for any of them.
    ids = rows(db, "SELECT count(*), count(DISTINCT payment_id) FROM payments")[0]
    assert ids[0] == ids[1] >= count


def test_pull_awin_links_paid_lines_to_their_payments_and_breakdowns(sandbox, db):
    summary = pull(sandbox, db, "awin")
    assert summary.payments is not None and summary.payments.error is None
    per_payment = rows(
        db,
        "SELECT p.payment_id, p.amount, sum(i.amount) FROM payments p JOIN payment_items i"
        " USING (network, account, payment_id) WHERE p.network = 'awin' GROUP BY ALL",
    )
    assert per_payment and all(amount == items for _, amount, items in per_payment)
    assert rows(db, "SELECT * FROM payments_reconciliation WHERE difference <> 0") == []
    # Approved, unpaid lines are dated by Awin's payment runs (1st or 15th).
    days = rows(
        db,
        "SELECT DISTINCT day(expected_on) FROM payout_lines WHERE network = 'awin'"
        " AND basis = 'awin schedule' AND expected_on IS NOT NULL",
    )
    assert days and {d for (d,) in days} <= {1, 15}


def test_a_missing_awin_payment_shows_in_the_reconciliation(sandbox, db):
    pull(sandbox, db, "awin")
    (payment_id, currency, amount) = rows(
        db, "SELECT payment_id, currency, amount FROM payments ORDER BY payment_id LIMIT 1"
    )[0]
    with duckdb.connect(str(db)) as con:
        con.execute("DELETE FROM payments WHERE payment_id = ?", [payment_id])
    differences = rows(
        db,
        "SELECT sum(difference) FROM payments_reconciliation WHERE currency = ?",
        currency,
    )
    assert differences == [(Decimal(amount),)]


def test_awin_payments_without_the_full_access_role_say_so_in_one_line(sandbox, db):
    sandbox.state.awin_full_access = False
    summary = pull(sandbox, db, "awin")
    assert summary.payments is not None and summary.payments.error is not None
    line = summary.payments.line()
    assert "Full Access" in line and "403" in line and "\n" not in line
    assert summary.exit_code == 1
    # The lines were loaded all the same; the failed payments run is on record.
    assert rows(db, "SELECT count(*) FROM commissions")[0][0] > 0
    assert rows(db, "SELECT count(*) FROM ingest_runs WHERE status = 'failed'") == [(1,)]


def test_cj_lines_remember_an_extension_for_the_forecast(sandbox, db):
    pull(sandbox, db, "cj")
    for _ in range(3):
        sandbox.advance()
    pull(sandbox, db, "cj")
    extended = {str(r.commission_id) for r in sandbox.dataset.cj if r.status == "extended"}
    assert extended
    got = rows(
        db,
        "SELECT line_id, expected_on, event_date FROM payout_lines WHERE network = 'cj'"
        " AND line_id IN (SELECT line_id FROM commission_terms WHERE extended)",
    )
    decided = rows(db, "SELECT line_id FROM commissions WHERE status <> 'pending'")
    assert {line_id for line_id, _, _ in got} >= extended - {line_id for (line_id,) in decided}
    for _, expected_on, event_date in got:
        assert expected_on.day == 20
        assert (expected_on.year * 12 + expected_on.month) - (
            event_date.year * 12 + event_date.month
        ) == 2


def test_invoices_are_paged_like_actions(sandbox, db, monkeypatch):
    from sandbox.networks.payments import impact_invoices

    pull(sandbox, db, "impact")
    expected = {i.body["Id"]: i.body["TotalAmount"] for i in impact_invoices(sandbox.dataset)}
    assert len(expected) > 2
    with duckdb.connect(str(db)) as con:
        con.execute("DELETE FROM payments; DELETE FROM payment_items")
    monkeypatch.setenv("PASSIVE_IMPACT_PAGE_SIZE", "2")
    sandbox.clear_requests()
    end = datetime.now(UTC)
    summary = payment_steps.pull_and_load_payments(
        "impact", **impact_account(), db=db, start=end - timedelta(days=400), end=end
    )
    assert summary is not None and summary.error is None
    pages = [
        r["query"].get("Page")
        for r in sandbox.requests("impact")
        if r["path"].endswith("/Invoices")
    ]
    assert "2" in pages  # @nextpageuri followed
    got = dict(rows(db, "SELECT payment_id, amount::VARCHAR FROM payments"))
    assert got == {key: f"{Decimal(value):.4f}" for key, value in expected.items()}
