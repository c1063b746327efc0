from __future__ import annotations

import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.commission import CommissionLine
from schemas.validation import Reject, ValidatedBatch
from tests.conftest import assert_ledger_keys_unique
from warehouse.connection import LedgerLockedError, ledger, open_ledger
from warehouse.load import Slice, load_batches, new_run_id

JAN = Slice("amazon", "site-us", date(2026, 1, 1), date(2026, 1, 31))


def line(
    key: str, amount: str, day: str = "2026-01-10", status: str = "approved", **kw
) -> CommissionLine:
    return CommissionLine(
        network=kw.pop("network", "amazon"),
        account=kw.pop("account", "site-us"),
        line_id=key,
        event_date=day,
        status=status,
        sale_amount=Decimal(amount) * 10,
        commission_amount=amount,
        currency=kw.pop("currency", "USD"),
        **kw,
    )


def batch(*lines: CommissionLine, rejects: tuple[Reject, ...] = ()) -> ValidatedBatch:
    return ValidatedBatch(
        lines=list(lines),
        source_lines=list(range(3, 3 + len(lines))),
        rejects=list(rejects),
        records_read=len(lines) + len(rejects),
    )


def load_report(db: Path, *batches: ValidatedBatch, part: Slice = JAN) -> None:
    with ledger(db) as con:
        load_batches(
            con,
            batches,
            run_id=new_run_id(),
            network=part.network,
            account=part.account,
            mode="replace_slice",
            replace=part,
        )


def upsert(db: Path, *batches: ValidatedBatch, network: str = "impact") -> None:
    with ledger(db) as con:
        load_batches(
            con, batches, run_id=new_run_id(), network=network, account="acct", mode="upsert"
        )


def monthly(db: Path) -> list[tuple]:
    with ledger(db, read_only=True) as con:
        return con.execute(
            "SELECT month, currency, status, commission, lines FROM revenue_monthly ORDER BY ALL"
        ).fetchall()


def test_reloading_the_same_report_leaves_the_ledger_byte_for_byte_equal(db, snapshot):
    report = batch(line("a", "1.10"), line("b", "2.25"))
    load_report(db, report)
    before = snapshot(db)
    load_report(db, report)
    after = snapshot(db)
    assert after["commissions"] == before["commissions"]
    assert after["commission_changes"] == before["commission_changes"]


def test_identical_report_lines_are_two_sales_not_one(db):
    load_report(db, batch(line("same", "3.33"), line("same", "3.33")))
    assert monthly(db) == [(date(2026, 1, 1), "USD", "approved", Decimal("6.6600"), 2)]


def test_restated_report_replaces_only_its_own_period(db):
    feb = Slice("amazon", "site-us", date(2026, 2, 1), date(2026, 2, 28))
    load_report(db, batch(line("jan1", "5.00"), line("jan2", "1.00")))
    load_report(db, batch(line("feb1", "7.00", day="2026-02-03")), part=feb)
    load_report(db, batch(line("jan1", "5.00"), line("jan3", "0.50")))  # restated January
    assert monthly(db) == [
        (date(2026, 1, 1), "USD", "approved", Decimal("5.5000"), 2),
        (date(2026, 2, 1), "USD", "approved", Decimal("7.0000"), 1),
    ]
    with ledger(db, read_only=True) as con:
        changes = con.execute(
            "SELECT change, count(*) FROM commission_changes GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    assert changes == [("inserted", 4), ("removed", 1)]


def test_a_later_return_nets_its_month(db):
    load_report(db, batch(line("sale", "4.00"), line("return", "-4.00"), line("other", "1.25")))
    assert monthly(db) == [(date(2026, 1, 1), "USD", "approved", Decimal("1.2500"), 3)]


def test_failure_in_the_middle_of_a_load_leaves_the_ledger_exactly_as_before(db, snapshot):
    load_report(db, batch(line("kept", "9.99")))
    before = snapshot(db)

    def exploding():
        yield batch(line("new1", "1.00"), rejects=(Reject("f.csv:4", "x", ("bad",)),))
        raise OSError("disk went away mid-file")

    with pytest.raises(OSError, match="mid-file"), ledger(db) as con:
        load_batches(
            con,
            exploding(),
            run_id="r",
            network="amazon",
            account="site-us",
            mode="replace_slice",
            replace=JAN,
        )
    assert snapshot(db) == before


def test_failure_while_committing_bookkeeping_rolls_back_the_lines_too(db, snapshot):
    before = snapshot(db) if db.exists() else None

    def broken_bookkeeping(con: duckdb.DuckDBPyConnection) -> None:
        raise RuntimeError("cursor write failed")

    with pytest.raises(RuntimeError), ledger(db) as con:
        load_batches(
            con,
            [batch(line("x", "1"))],
            run_id="r",
            network="impact",
            account="acct",
            mode="upsert",
            before_commit=broken_bookkeeping,
        )
    assert before is None or snapshot(db) == before
    assert snapshot(db)["commissions"] == []


def test_upsert_updates_in_place_and_records_old_and_new_status(db):
    upsert(db, batch(line("A1", "10.00", status="pending", network="impact", account="acct")))
    upsert(db, batch(line("A1", "0.00", status="reversed", network="impact", account="acct")))
    with ledger(db, read_only=True) as con:
        rows = con.execute("SELECT line_id, status, commission_amount FROM commissions").fetchall()
        change = con.execute(
            "SELECT old_status, new_status, old_commission_amount, new_commission_amount"
            " FROM commission_changes WHERE change = 'changed'"
        ).fetchall()
    assert rows == [("A1", "reversed", Decimal("0.0000"))]
    assert change == [("pending", "reversed", Decimal("10.0000"), Decimal("0.0000"))]


def test_the_last_record_of_an_id_within_one_pull_wins(db):
    upsert(
        db,
        batch(
            line("A1", "1.00", status="pending", network="impact", account="acct"),
            line("A1", "2.00", status="approved", network="impact", account="acct"),
        ),
    )
    with ledger(db, read_only=True) as con:
        assert con.execute("SELECT status, commission_amount FROM commissions").fetchall() == [
            ("approved", Decimal("2.0000"))
        ]


def test_the_last_record_of_an_id_wins_when_it_comes_on_a_later_page(db):
    # Each page numbers its records from 0 again: the later page must still win.
    first = batch(
        line("B2", "5.00", status="pending", network="impact", account="acct"),
        line("A1", "1.00", status="pending", network="impact", account="acct"),
    )
    second = batch(line("A1", "2.00", status="approved", network="impact", account="acct"))
    upsert(db, first, second)
    with ledger(db, read_only=True) as con:
        rows = con.execute(
            "SELECT line_id, status, commission_amount FROM commissions ORDER BY line_id"
        ).fetchall()
    assert rows == [
        ("A1", "approved", Decimal("2.0000")),
        ("B2", "pending", Decimal("5.0000")),
    ]


def test_rejects_are_stored_with_locator_and_reasons_while_good_lines_load(db):
    load_report(
        db, batch(line("ok", "1.00"), rejects=(Reject("r.csv:9", "a,b,c", ("price: bad",)),))
    )
    with ledger(db, read_only=True) as con:
        assert con.execute("SELECT locator, raw, reasons FROM rejects").fetchall() == [
            ("r.csv:9", "a,b,c", ["price: bad"])
        ]
        assert con.execute("SELECT count(*) FROM commissions").fetchone() == (1,)


def test_money_is_decimal_per_currency_and_never_summed_across_currencies(db):
    upsert(
        db,
        batch(
            line("u", "0.10", network="awin", account="acct"),
            line("u2", "0.20", network="awin", account="acct"),
            line("e", "0.30", currency="EUR", network="awin", account="acct"),
        ),
        network="awin",
    )
    with ledger(db, read_only=True) as con:
        assert con.execute(
            "SELECT currency, commission, typeof(commission) FROM revenue_monthly ORDER BY 1"
        ).fetchall() == [
            ("EUR", Decimal("0.3000"), "DECIMAL(38,4)"),
            ("USD", Decimal("0.3000"), "DECIMAL(38,4)"),
        ]


def test_views_keep_the_contract_columns(db):
    with ledger(db) as con:
        for view, first in (("revenue_daily", "day"), ("revenue_monthly", "month")):
            cols = [r[0] for r in con.execute(f"DESCRIBE {view}").fetchall()]
            assert cols == [
                first,
                "network",
                "account",
                "currency",
                "status",
                "sales",
                "commission",
                "lines",
            ]


def test_migrations_are_recorded_once_and_reopening_applies_nothing(db):
    from warehouse.connection import migrate

    with ledger(db) as con:
        assert migrate(con) == []
        names = [r[0] for r in con.execute("SELECT name FROM _migrations ORDER BY 1").fetchall()]
    assert names[0] == "001_create_ledger.sql"


def _hold_read_only(db: Path, seconds: float) -> subprocess.Popen[str]:
    code = (
        "import duckdb, sys, time\n"
        f"con = duckdb.connect({str(db)!r}, read_only=True)\n"
        "print('held', flush=True)\n"
        f"time.sleep({seconds})\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_a_locked_ledger_fails_with_a_message_naming_the_holder(db):
    open_ledger(db).close()
    holder = _hold_read_only(db, 60)
    try:
        with pytest.raises(LedgerLockedError, match=rf"PID {holder.pid}.*Close that program"):
            open_ledger(db, timeout=0.5)
    finally:
        holder.kill()
        holder.wait()


def test_a_writer_waits_for_a_reader_to_close_the_file(db):
    open_ledger(db).close()
    holder = _hold_read_only(db, 1.5)
    try:
        con = open_ledger(db, timeout=120)
        con.close()
        assert holder.wait() == 0  # the reader finished on its own; we only waited
    finally:
        holder.kill()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    pulls=st.lists(
        st.lists(
            st.tuples(
                st.sampled_from(["i1", "i2", "i3", "i4"]),
                st.sampled_from(["pending", "approved", "paid", "reversed"]),
                st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False),
            ),
            min_size=1,
            max_size=5,
        ),
        min_size=1,
        max_size=4,
    )
)
def test_repeating_any_pull_changes_nothing(tmp_path_factory, snapshot, pulls):
    db = tmp_path_factory.mktemp("h") / "ledger.duckdb"
    for records in pulls:
        b = batch(
            *(line(k, str(a), status=s, network="impact", account="acct") for k, s, a in records)
        )
        upsert(db, b)
        once = snapshot(db)
        upsert(db, b)
        assert snapshot(db) == once
        assert_ledger_keys_unique(db)
