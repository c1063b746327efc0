"""Append-then-publish on real ledger files: hidden until published, swept after a dead writer."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tests.integration.test_warehouse_load import JAN, batch, line, load_report, upsert
from warehouse.connection import MIGRATIONS_DIR, ledger, open_ledger
from warehouse.load import new_run_id
from warehouse.publish import begin_load, live_runs, mark_done
from warehouse.runs import RunInfo, finish_run, start_run
from warehouse.sql import split_statements

STAMP = datetime(2026, 1, 2, tzinfo=UTC)


def lines_of(db: Path) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT * FROM commissions ORDER BY ALL").fetchall()


def audit_of(db: Path) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT * FROM commission_changes ORDER BY ALL").fetchall()


def dead_writer(db: Path, *, lines: int) -> str:
    """What a process killed mid-load leaves: a `running` run and an unpublished load's rows."""
    run_id = new_run_id()
    con = open_ledger(db)
    try:
        start_run(con, RunInfo(run_id=run_id, source="file", network="amazon", account="site-us"))
        seq = begin_load(con, run_id)
        con.execute(
            "INSERT INTO commission_lines BY NAME SELECT 'amazon' AS network,"
            " 'site-us' AS account, 'ghost-' || i AS line_id, DATE '2026-01-05' AS event_date,"
            " 'approved' AS status, 100 AS sale_amount, 7 AS commission_amount,"
            " 'USD' AS currency, $run AS first_run_id, $run AS last_run_id,"
            " $now AS updated_at, $seq AS load_seq FROM range($n) r(i)",
            {"run": run_id, "now": STAMP, "seq": seq, "n": lines},
        )
        con.execute(
            "INSERT INTO commission_change_rows SELECT $run, 'amazon', 'site-us', 'ghost-' || i,"
            " 'inserted', NULL, 'approved', NULL, 100, NULL, 7, 'USD', DATE '2026-01-05', $now,"
            " $seq FROM range($n) r(i)",
            {"run": run_id, "now": STAMP, "seq": seq, "n": lines},
        )
    finally:
        con.close()
    # This process plays the dead one: forget that it owned the run (start_run, begin_load).
    mark_done(run_id)
    mark_done(run_id)
    return run_id


def test_an_unpublished_load_is_invisible_and_swept_on_the_next_open(db, tmp_path):
    load_report(db, batch(line("a", "1.10"), line("b", "2.25")))
    before_lines, before_audit = lines_of(db), audit_of(db)
    run_id = dead_writer(db, lines=200_000)
    scratch = Path(f"{db}.tmp")
    scratch.mkdir()
    (scratch / "duckdb_temp_storage_DEFAULT-0.tmp").write_bytes(b"x" * 1024)

    # A plain reader, before any writer came back: the dead load's rows are not there.
    assert lines_of(db) == before_lines
    assert audit_of(db) == before_audit

    open_ledger(db).close()
    with duckdb.connect(str(db), read_only=True) as con:
        status, found = con.execute(
            "SELECT status, finished_at FROM ingest_runs WHERE run_id = ?", [run_id]
        ).fetchone()
        leftovers = con.execute(
            "SELECT (SELECT count(*) FROM commission_lines WHERE line_id LIKE 'ghost-%'),"
            " (SELECT count(*) FROM commission_change_rows WHERE line_id LIKE 'ghost-%'),"
            " (SELECT count(*) FROM ledger_loads WHERE NOT published)"
        ).fetchone()
    assert status == "interrupted" and found is not None
    assert leftovers == (0, 0, 0)
    assert not scratch.exists()
    assert lines_of(db) == before_lines and audit_of(db) == before_audit


def test_a_second_connection_of_the_same_process_leaves_a_live_run_alone(db):
    load_report(db, batch(line("a", "1.10")))
    run = RunInfo(run_id=new_run_id(), source="file", network="amazon", account="site-us")
    with ledger(db) as first:
        start_run(first, run)
        assert run.run_id in live_runs()
        # The same process opens the ledger again (DuckDB shares the open database, no lock).
        open_ledger(db).close()
        status = first.execute(
            "SELECT status FROM ingest_runs WHERE run_id = ?", [run.run_id]
        ).fetchone()
        assert status == ("running",)
        finish_run(first, run.run_id, status="completed")
    assert run.run_id not in live_runs()


def test_a_load_that_fails_at_its_publish_leaves_the_ledger_as_it_was(db):
    from warehouse.load import load_batches

    load_report(db, batch(line("a", "1.10"), line("b", "2.25")))
    before_lines, before_audit = lines_of(db), audit_of(db)

    def refuse(con: duckdb.DuckDBPyConnection) -> None:
        raise RuntimeError("the verdict came back: no")

    with ledger(db) as con, pytest.raises(RuntimeError, match="verdict"):
        load_batches(
            con,
            [batch(line("c", "3.00"))],
            run_id=new_run_id(),
            network=JAN.network,
            account=JAN.account,
            mode="replace_slice",
            replace=JAN,
            before_commit=refuse,
        )
    assert lines_of(db) == before_lines and audit_of(db) == before_audit
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM commission_lines").fetchone() == (2,)
        assert con.execute("SELECT count(*) FROM ledger_loads WHERE NOT published").fetchone() == (
            0,
        )


def test_a_changed_line_keeps_its_first_run_and_one_version(db):
    upsert(db, batch(line("x", "1.00", network="impact", account="acct")))
    with duckdb.connect(str(db), read_only=True) as con:
        first = con.execute("SELECT first_run_id FROM commissions").fetchone()
    upsert(db, batch(line("x", "1.50", network="impact", account="acct", status="reversed")))
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "SELECT first_run_id, last_run_id <> first_run_id, status, commission_amount"
            " FROM commission_lines"
        ).fetchall()
    assert rows == [(first[0], True, "reversed", Decimal("1.50"))]


def test_a_ledger_made_before_the_views_reads_the_same_after_migrating(db):
    con = duckdb.connect(str(db))
    con.execute(
        "CREATE TABLE _migrations (name VARCHAR PRIMARY KEY, sha256 VARCHAR NOT NULL,"
        " applied_at TIMESTAMPTZ NOT NULL)"
    )
    text = (MIGRATIONS_DIR / "001_create_ledger.sql").read_text(encoding="utf-8")
    for statement in split_statements(text):
        con.execute(statement)
    con.execute(
        "INSERT INTO _migrations VALUES ('001_create_ledger.sql', ?, now())",
        [hashlib.sha256(text.encode()).hexdigest()],
    )
    con.execute(
        "INSERT INTO commissions BY NAME SELECT 'amazon' AS network, 'old' AS account,"
        " 'line-' || i AS line_id, DATE '2025-03-01' + i::INT AS event_date, 'paid' AS status,"
        " i AS sale_amount, i / 10 AS commission_amount, 'EUR' AS currency, 'r1' AS first_run_id,"
        " 'r1' AS last_run_id, TIMESTAMPTZ '2025-04-01 00:00:00+00' AS updated_at,"
        " 'o-' || i AS order_id FROM range(300) r(i)"
    )
    con.execute(
        "INSERT INTO commission_changes SELECT 'r1', 'amazon', 'old', 'line-' || i, 'inserted',"
        " NULL, 'paid', NULL, i, NULL, i / 10, 'EUR', DATE '2025-03-01' + i::INT,"
        " TIMESTAMPTZ '2025-04-01 00:00:00+00' FROM range(300) r(i)"
    )
    shape = {
        t: con.execute(f"DESCRIBE {t}").fetchall() for t in ("commissions", "commission_changes")
    }
    con.close()
    old_lines, old_audit = lines_of(db), audit_of(db)

    open_ledger(db).close()
    assert lines_of(db) == old_lines and audit_of(db) == old_audit
    with duckdb.connect(str(db), read_only=True) as con:
        for table, columns in shape.items():
            described = con.execute(f"DESCRIBE {table}").fetchall()
            assert [c[:2] for c in described] == [c[:2] for c in columns]
    # The migrated ledger keeps loading.
    load_report(db, batch(line("a", "1.10")))
    assert len(lines_of(db)) == 301
