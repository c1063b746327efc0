"""`passive pull amazon` against the Creators API sandbox, over loopback, into DuckDB files."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from connectors.amazon.api import AccessRevokedError, IntegrityError
from flows import amazon_pull
from flows.cli import app
from sandbox.amazon_api import ApiReport
from sandbox.server import SandboxHandle
from tests.conftest import assert_ledger_keys_unique, ledger_snapshot


@pytest.fixture
def sandbox(amazon_sandbox: SandboxHandle) -> SandboxHandle:
    return amazon_sandbox


def pull(db: Path, tmp_path: Path, account: str = "me-us", marketplace: str = "US", **kw: Any):
    folder = tmp_path / f"downloads-{account}"
    folder.mkdir(exist_ok=True)
    return amazon_pull.pull(account=account, marketplace=marketplace, db=db, folder=folder, **kw)


def months(db: Path, account: str) -> dict[date, tuple[Decimal, Decimal, int]]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "SELECT month, sum(sales), sum(commission), sum(lines)::INT FROM revenue_monthly"
            " WHERE network = 'amazon' AND account = ? GROUP BY ALL",
            [account],
        ).fetchall()
    return {m: (s, c, n) for m, s, c, n in rows}


def state(db: Path) -> dict[str, Any]:
    """Every ledger table, the Creators API bookkeeping and the run log's length."""
    snapshot: dict[str, Any] = dict(ledger_snapshot(db))
    with duckdb.connect(str(db), read_only=True) as con:
        snapshot["amazon_api_reports"] = con.execute(
            "SELECT * FROM amazon_api_reports ORDER BY ALL"
        ).fetchall()
        snapshot["runs"] = con.execute("SELECT count(*) FROM ingest_runs").fetchone()
    return snapshot


def downloads(sandbox: SandboxHandle) -> list[dict[str, Any]]:
    return sandbox.requests("amazon-download")


def test_a_first_pull_loads_every_earnings_report_to_the_sandboxs_tallies(sandbox, db, tmp_path):
    summary = pull(db, tmp_path)
    assert summary.exit_code == 0, summary.reports
    assert summary.count("loaded") == 3 and summary.count("refused") == 0
    assert months(db, "me-us") == sandbox.amazon.data.expected_months("US")
    assert_ledger_keys_unique(db)


def test_a_second_pull_downloads_nothing_and_changes_nothing(sandbox, db, tmp_path):
    pull(db, tmp_path)
    before, fetched = state(db), len(downloads(sandbox))
    summary = pull(db, tmp_path)
    assert summary.listed.offered == 5 and summary.listed.new == ()
    assert summary.reports == [] and summary.exit_code == 0
    assert len(downloads(sandbox)) == fetched
    after = state(db)
    assert after.pop("runs") != before.pop("runs")  # the pull itself is logged
    assert after == before


def test_a_reissued_report_replaces_its_month_exactly(sandbox, db, tmp_path):
    pull(db, tmp_path)
    before = months(db, "me-us")
    again = sandbox.amazon.data.reissue("US", "passive-20-earnings-2025-11.tsv.gz")
    summary = pull(db, tmp_path)
    assert [(r.report, r.status) for r in summary.reports] == [(again.filename, "loaded")]
    expected = sandbox.amazon.data.expected_months("US")
    assert months(db, "me-us") == expected
    november = date(2025, 11, 1)
    assert expected[november] != before[november]
    assert {m: t for m, t in before.items() if m != november} == {
        m: t for m, t in expected.items() if m != november
    }
    assert len(downloads(sandbox)) == 6  # five first, then only the re-issued one
    with duckdb.connect(str(db), read_only=True) as con:
        md5s = con.execute(
            "SELECT md5 FROM amazon_api_reports WHERE file_name = ? ORDER BY seen_at",
            [again.filename],
        ).fetchall()
    assert [m for (m,) in md5s][-1] == again.md5 and len(md5s) == 2


def test_reports_of_other_types_are_seen_and_skipped_never_in_commissions(sandbox, db, tmp_path):
    summary = pull(db, tmp_path)
    skipped = {
        (r.report_type, r.status) for r in summary.reports if r.report_type != "Fee-Earnings"
    }
    assert skipped == {("Fee-Orders", "skipped"), ("Fee-Tracking", "skipped")}
    with duckdb.connect(str(db), read_only=True) as con:
        seen = con.execute(
            "SELECT report_type, lines FROM source_files WHERE report_type <> 'Fee-Earnings'"
            " ORDER BY ALL"
        ).fetchall()
        ordered = con.execute(
            "SELECT count(*) FROM commissions WHERE product_id LIKE 'B0ORDER%'"
            " OR product_name LIKE 'Ordered gadget%'"
        ).fetchone()
    assert seen == [("Fee-Orders", 0), ("Fee-Tracking", 0)]
    assert ordered == (0,)


def test_two_stores_under_one_credential_are_two_accounts_with_their_own_currencies(
    sandbox, db, tmp_path
):
    pull(db, tmp_path, "me-us", "US")
    pull(db, tmp_path, "me-uk", "UK")
    with duckdb.connect(str(db), read_only=True) as con:
        currencies = con.execute(
            "SELECT account, list(DISTINCT currency) FROM commissions GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    assert currencies == [("me-uk", ["GBP"]), ("me-us", ["USD"])]
    assert months(db, "me-uk") == sandbox.amazon.data.expected_months("UK")
    assert months(db, "me-us") == sandbox.amazon.data.expected_months("US")
    marketplaces = {r["marketplace"] for r in sandbox.requests("amazon")}
    assert marketplaces == {"www.amazon.com", "www.amazon.co.uk"}


def test_an_expired_token_is_refreshed_once_mid_run(sandbox, db, tmp_path):
    armed: list[str] = []

    def expire_once(listing: Any) -> None:
        # After listReports went through: the first getReport finds its token expired.
        if not armed:
            armed.append(listing.filename)
            sandbox.set_fault("amazon", "expire_token")

    summary = pull(db, tmp_path, on_download=expire_once)
    assert summary.exit_code == 0
    assert sandbox.amazon.issued == 2
    assert months(db, "me-us") == sandbox.amazon.data.expected_months("US")


@pytest.mark.parametrize("fault", ["revoked", "md5"])
def test_a_revoked_account_or_a_bad_md5_fails_in_one_line_and_changes_nothing(
    sandbox, db, tmp_path, fault
):
    pull(db, tmp_path)
    sandbox.amazon.data.reissue()
    before = state(db)
    if fault == "revoked":
        sandbox.amazon.revoked = True
        expected: type[Exception] = AccessRevokedError
    else:
        sandbox.set_fault("amazon-download", "md5_mismatch", count=2)  # this pull and the CLI's
        expected = IntegrityError
    with pytest.raises(expected) as caught:
        pull(db, tmp_path)
    assert "\n" not in str(caught.value) and "nothing was changed" in str(caught.value)
    assert state(db) == before
    result = CliRunner().invoke(
        app, ["pull", "amazon", "--account", "me-us", "--db", str(db)], catch_exceptions=False
    )
    assert result.exit_code == 2
    assert state(db) == before
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    failure = [line for line in lines if "pull amazon failed" in line]
    assert len(failure) == 1 and "Traceback" not in result.output
    if fault == "revoked":
        assert "10 qualifying sales in 30 days" in failure[0]
    else:
        assert "md5" in failure[0]


def test_the_token_never_reaches_the_download_host_a_log_an_exception_or_a_table(
    sandbox, db, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG)
    sandbox.set_fault("amazon", "429")
    pull(db, tmp_path)
    sandbox.amazon.revoked = True
    with pytest.raises(AccessRevokedError) as caught:
        pull(db, tmp_path)
    tokens = list(sandbox.amazon.tokens)
    assert tokens
    assert downloads(sandbox) and all(d["authorization"] is None for d in downloads(sandbox))
    text = "\n".join(r.getMessage() for r in caplog.records) + str(caught.value)
    text += repr(caught.value)
    with duckdb.connect(str(db), read_only=True) as con:
        for (table,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
        ).fetchall():
            text += repr(con.execute(f'SELECT * FROM "{table}"').fetchall())
    assert all(token not in text for token in tokens)
    assert "sandbox-amazon-client-secret" not in text


def test_since_and_until_filter_reports_by_their_last_modified_day(sandbox, db, tmp_path):
    summary = pull(db, tmp_path, since=date(2025, 12, 1), until=date(2025, 12, 31))
    assert summary.listed.in_range == 1
    assert [r.report for r in summary.reports] == ["passive-20-earnings-2025-11.tsv.gz"]
    assert set(months(db, "me-us")) == {date(2025, 11, 1)}


def test_an_earnings_report_without_a_period_is_refused_and_tried_again_next_pull(
    sandbox, db, tmp_path
):
    text = (
        "Category,Name,ASIN,Seller,Tracking ID,Date Shipped,Price($),Items Shipped,Returns,"
        "Revenue($),Ad Fees($),Device Type Group\n"
        "Books,A book,B000000001,Amazon.com,blog-20,2025-10-03,10.00,1,0,10.00,0.45,PHONE\n"
    )
    sandbox.amazon.data.reports[("US", "undated-earnings.csv")] = ApiReport(
        "US", "undated-earnings.csv", "earnings", text.encode(), datetime(2026, 1, 5, tzinfo=UTC)
    )
    first = pull(db, tmp_path)
    refused = [r for r in first.reports if r.status == "refused"]
    assert [r.report for r in refused] == ["undated-earnings.csv"]
    assert "no title line gives the period" in refused[0].note
    assert first.exit_code == 2 and first.count("loaded") == 3
    second = pull(db, tmp_path)
    assert [(r.report, r.status) for r in second.reports] == [("undated-earnings.csv", "refused")]


def test_pull_amazon_on_the_command_line_prints_each_report_and_needs_an_account(
    sandbox, db, tmp_path
):
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["pull", "amazon", "--account", "me-uk", "--marketplace", "uk", "--db", str(db)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "loaded passive-21-earnings-2025-11.csv.gz" in result.stdout
    assert "skipped passive-21-orders-2025-12.csv.gz: a Fee-Orders report" in result.stdout
    assert months(db, "me-uk") == sandbox.amazon.data.expected_months("UK")
    missing = runner.invoke(app, ["pull", "amazon", "--db", str(db)], catch_exceptions=False)
    assert missing.exit_code == 2 and "--account" in missing.stderr


def test_a_download_holding_two_reports_for_one_period_is_refused_naming_both(
    sandbox, db, tmp_path
):
    """Issue 10: one archive is one input; loaded in turn, its second report erased the first."""
    from sandbox.amazon_reports import write_earnings_report, zip_report

    made = []
    for seed in (1, 2):
        path = tmp_path / f"january-{seed}.csv"
        write_earnings_report(
            path, marketplace="US", period_start=date(2024, 1, 1),
            period_end=date(2024, 1, 31), lines=20, seed=seed,
        )  # fmt: skip
        made.append(path)
    archive = zip_report(made[0], archive=tmp_path / "two.zip", extra=[made[1]])
    sandbox.amazon.data.reports[("US", "two-earnings.zip")] = ApiReport(
        "US", "two-earnings.zip", "earnings", archive.read_bytes(), datetime(2026, 1, 6, tzinfo=UTC)
    )
    summary = pull(db, tmp_path)
    refused = [r for r in summary.reports if r.status == "refused"]
    assert sorted(r.report for r in refused) == [
        "two-earnings.zip:january-1.csv",
        "two-earnings.zip:january-2.csv",
    ]
    assert "'two-earnings.zip:january-1.csv', 'two-earnings.zip:january-2.csv'" in refused[0].note
    assert summary.exit_code == 2
    with duckdb.connect(str(db), read_only=True) as con:
        january = con.execute(
            "SELECT count(*) FROM commissions WHERE event_date < DATE '2024-02-01'"
        ).fetchone()
    assert january == (0,)
