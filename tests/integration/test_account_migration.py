"""Migration 007: a ledger written when accounts were raw ids (SIDs, publisher ids) is renamed
to named accounts, the old ids kept in `account_aliases`, and later pulls continue it."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from connectors.settings import NetworkSettings
from flows import pull_steps
from sandbox.server import SANDBOX_AWIN_PUBLISHER_ID, SANDBOX_CJ_PUBLISHER_ID, SANDBOX_IMPACT_SID
from warehouse import connection

OLD_IDS = {
    "impact": SANDBOX_IMPACT_SID,
    "awin": SANDBOX_AWIN_PUBLISHER_ID,
    "cj": SANDBOX_CJ_PUBLISHER_ID,
}
# Every table with an `account` column that an API pull writes.
ACCOUNT_TABLES = (
    "commission_lines",
    "commission_change_rows",
    "ingest_runs",
    "ingest_state",
    "rejects",
    "payments",
    "payment_items",
    "payment_changes",
    "payout_settings",
    "commission_terms",
)
TOTALS = (
    "SELECT network, account, currency, status, count(*), sum(sale_amount), "
    "sum(commission_amount) FROM commissions GROUP BY ALL ORDER BY ALL"
)


def _old_ledger(db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pull every API network into a ledger the way the code before issue 16 did: every
    migration but 007 (today's load code needs the others' tables), each line filed under its
    login's id."""
    old_migrations = tmp_path / "migrations-without-007"
    old_migrations.mkdir()
    for script in sorted(connection.MIGRATIONS_DIR.glob("*.sql")):
        if not script.name.startswith("007"):
            shutil.copy(script, old_migrations / script.name)
    ids = {"impact": "account_sid", "awin": "publisher_id", "cj": "publisher_id"}
    with monkeypatch.context() as old:
        old.setattr(connection, "MIGRATIONS_DIR", old_migrations)
        old.setattr(
            NetworkSettings, "ledger_account", lambda self: self.credential(ids[self.network])
        )
        for network in ids:
            assert pull_steps.pull(network, db=db).status == "completed"
    with duckdb.connect(str(db)) as con:
        assert con.execute(
            "SELECT count(*) FROM _migrations WHERE name LIKE '007%'"
        ).fetchone() == (0,)
        # A second, older SID whose pulls the variables no longer name: it keeps its own
        # account, `impact-<sid>`, rather than being merged into the current one.
        con.execute(
            "INSERT INTO commission_lines SELECT * REPLACE ('IROLDSID' AS account, "
            "'old-' || line_id AS line_id) FROM commission_lines WHERE network = 'impact' LIMIT 5"
        )
        con.execute(
            "INSERT INTO ingest_runs SELECT * REPLACE ('IROLDSID' AS account, 'old-run' AS run_id,"
            " started_at - INTERVAL 30 DAY AS started_at) FROM ingest_runs "
            "WHERE network = 'impact' LIMIT 1"
        )


def test_migration_007_names_the_accounts_after_their_networks_and_keeps_the_old_ids(
    sandbox, db, tmp_path, monkeypatch
):
    _old_ledger(db, tmp_path, monkeypatch)
    with duckdb.connect(str(db)) as con:
        before = con.execute(TOTALS).fetchall()
        cursors_before = con.execute(
            "SELECT network, cursor FROM ingest_state ORDER BY network"
        ).fetchall()
    assert {row[1] for row in before} == {*OLD_IDS.values(), "IROLDSID"}

    with connection.ledger(db) as con:  # the first open by today's code migrates
        after = con.execute(TOTALS).fetchall()
        aliases = con.execute(
            "SELECT network, account, alias FROM account_aliases ORDER BY ALL"
        ).fetchall()
        leftovers = {
            table: con.execute(
                f"SELECT count(*) FROM {table} WHERE account IN (SELECT alias FROM account_aliases)"
            ).fetchone()[0]
            for table in ACCOUNT_TABLES
        }
        cursors_after = con.execute(
            "SELECT network, account, cursor FROM ingest_state ORDER BY network"
        ).fetchall()
        payments = con.execute(
            "SELECT DISTINCT network, account FROM payments ORDER BY ALL"
        ).fetchall()

    renamed = {**{old: net for net, old in OLD_IDS.items()}, "IROLDSID": "impact-iroldsid"}
    assert after == sorted((n, renamed[a], *rest) for n, a, *rest in before)
    assert aliases == sorted(
        [(net, net, old) for net, old in OLD_IDS.items()]
        + [("impact", "impact-iroldsid", "IROLDSID")]
    )
    assert leftovers == dict.fromkeys(ACCOUNT_TABLES, 0)
    assert cursors_after == [(net, net, cursor) for net, cursor in cursors_before]
    assert payments == [("awin", "awin"), ("impact", "impact")]

    # The same variables continue the same account: from the saved cursor minus the
    # lookback (not a year back), and nothing the ledger already has is new.
    again = pull_steps.pull("impact", db=db)
    assert again.plan.account == "impact"
    impact_cursor = dict(cursors_before)["impact"]
    assert again.plan.start == impact_cursor - timedelta(days=90)
    assert again.result.inserted == 0
    with connection.ledger(db, read_only=True) as con:
        assert con.execute(TOTALS).fetchall() == after
        # Opening again applies nothing more: the aliases are recorded once.
        assert con.execute("SELECT count(*) FROM account_aliases").fetchone() == (4,)
