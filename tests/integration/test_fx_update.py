"""`passive fx update|load|show`, `tally --currency` and the fx-update flow against the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from flows.commands import app
from sandbox.server import SandboxHandle, run_sandbox
from tests.fx_rule import convert

FIXTURES = Path(__file__).parents[1] / "fixtures" / "ecb"
runner = CliRunner()


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[SandboxHandle]:
    with run_sandbox(7, warm=False) as handle:
        yield handle


@pytest.fixture
def sandbox(sandbox_server: SandboxHandle, monkeypatch: pytest.MonkeyPatch) -> SandboxHandle:
    monkeypatch.setenv("PASSIVE_FX_BASE_URL", sandbox_server.base_url)
    monkeypatch.delenv("PASSIVE_BASE_CURRENCY", raising=False)
    return sandbox_server


def _rows(db: Path, query: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(query).fetchall()


def _add_line(db: Path, day: date, currency: str, commission: str) -> None:
    from warehouse.connection import ledger

    with ledger(db) as con:
        con.execute(
            "INSERT INTO commission_lines (network, account, line_id, event_date, status,"
            " sale_amount,"
            " commission_amount, currency, first_run_id, last_run_id, updated_at)"
            " VALUES ('cj', 'me', ?, ?, 'approved', 0, ?, ?, 'r', 'r', now())",
            [f"{day}-{currency}", day, commission, currency],
        )


def test_fx_update_takes_history_first_then_the_90_days_and_twice_changes_nothing(
    sandbox: SandboxHandle, db: Path
):
    first = runner.invoke(app, ["fx", "update", "--db", str(db)])
    assert first.exit_code == 0, first.output
    assert "eurofxref-hist.zip" in first.output
    days = sandbox.ecb.days()
    assert _rows(db, "SELECT min(day), max(day) FROM fx_rates") == [(days[0], days[-1])]
    # RUB is N/A after its suspension, never a zero rate.
    assert _rows(db, "SELECT max(day) FROM fx_rates WHERE currency = 'RUB'") == [
        (date(2022, 3, 1),)
    ]
    assert _rows(db, "SELECT count(*) FROM fx_rates WHERE per_eur <= 0") == [(0,)]
    before = _rows(db, "SELECT * FROM fx_rates ORDER BY ALL")
    second = runner.invoke(app, ["fx", "update", "--db", str(db)])
    assert second.exit_code == 0, second.output
    assert "eurofxref-hist-90d.xml" in second.output and " 0 new, 0 re-published" in second.output
    assert _rows(db, "SELECT * FROM fx_rates ORDER BY ALL") == before
    assert _rows(db, "SELECT count(*) FROM fx_rate_changes") == [(0,)]
    sources = _rows(
        db, "SELECT file_name, source FROM ingest_runs WHERE network = 'ecb' ORDER BY started_at"
    )
    assert [s.rsplit("/", 1)[-1] for s, _ in sources] == [
        "eurofxref-hist.zip",
        "eurofxref-hist-90d.xml",
    ]


def test_a_republished_fixing_updates_converted_lines_and_is_recorded(
    sandbox: SandboxHandle, db: Path
):
    day = sandbox.ecb.days()[-3]
    _add_line(db, day, "USD", "25.0000")
    assert runner.invoke(app, ["fx", "update", "--db", str(db)]).exit_code == 0
    old = sandbox.ecb.rate(day, "USD")
    assert old is not None
    query = "SELECT commission_base FROM commissions_in('EUR')"
    assert _rows(db, query) == [(convert(Decimal(25), old, Decimal(1)),)]
    new = (old + Decimal("0.0123")).quantize(Decimal("0.0001"))
    sandbox.ecb.republish(day, "USD", new)
    result = runner.invoke(app, ["fx", "update", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "1 re-published" in result.output
    assert _rows(db, query) == [(convert(Decimal(25), new, Decimal(1)),)]
    assert _rows(db, "SELECT day, currency, old_per_eur, new_per_eur FROM fx_rate_changes") == [
        (day, "USD", old, new)
    ]


def test_fx_load_show_and_tally_in_one_currency(db: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("PASSIVE_BASE_CURRENCY", raising=False)
    _add_line(db, date(2022, 2, 26), "USD", "10.0000")  # Saturday: Friday's fixing
    _add_line(db, date(2022, 2, 25), "EUR", "1.0000")
    _add_line(db, date(2022, 2, 25), "CHF", "5.0000")  # not in the file: unconverted
    hist = FIXTURES / "eurofxref-hist.csv"
    loaded = runner.invoke(app, ["fx", "load", str(hist), "--db", str(db)])
    assert loaded.exit_code == 0, loaded.output
    assert "51 fixings 2022-02-25 to 2022-03-04, 51 new" in loaded.output
    shown = runner.invoke(
        app, ["fx", "show", "-c", "usd", "--days", "2", "--db", str(db), "-f", "csv"]
    )
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines()[1:] == [
        f"2022-03-04,USD,1.092900,{hist}",
        f"2022-03-03,USD,1.104500,{hist}",
    ]
    tallied = runner.invoke(app, ["tally", "--by", "month", "--currency", "eur", "--db", str(db)])
    assert tallied.exit_code == 0, tallied.output
    total = convert(Decimal(10), Decimal("1.1216"), Decimal(1)) + 1
    assert str(total) in tallied.output  # 8.9158 + 1
    assert "1 lines at a fixing up to 7 days before" in tallied.output
    assert "1 lines unconverted" in tallied.output
    monkeypatch.setenv("PASSIVE_BASE_CURRENCY", "EUR")
    as_json = runner.invoke(app, ["tally", "--db", str(db), "-f", "json"])
    assert as_json.exit_code == 0, as_json.output
    assert f'"net": "{total}"' in as_json.stdout


def test_fx_load_of_a_file_that_is_not_rates_loads_nothing(db: Path, tmp_path: Path):
    _add_line(db, date(2024, 1, 5), "USD", "1.0000")
    bad = tmp_path / "report.csv"
    bad.write_text("Date,USD,GBP,\n2024-01-05,1.0921,0.86,\n2024-01-04,abc,0.86,\n")
    result = runner.invoke(app, ["fx", "load", str(bad), "--db", str(db)])
    assert result.exit_code == 2
    assert f"{bad}:3 USD: not a fixing" in result.output
    assert _rows(db, "SELECT count(*) FROM fx_rates") == [(0,)]


def test_fx_daily_deployment_runs_the_update_flow_on_weekday_evenings_in_frankfurt():
    from prefect.flows import load_flow_from_entrypoint

    from flows.deployments import load_specs

    spec = {s.name: s for s in load_specs()}["fx-daily"]
    assert spec.schedules[0]["cron"] == "0 17 * * 1-5"
    assert spec.schedules[0]["timezone"] == "Europe/Berlin"
    assert load_flow_from_entrypoint(spec.entrypoint).name == "fx-update"


def test_fx_update_flow_under_prefect(sandbox: SandboxHandle, db: Path, prefect_harness: None):
    from flows.fx import fx_update

    result = fx_update(db=str(db))
    assert result.source.endswith("eurofxref-hist.zip")
    assert result.inserted == result.read > 0
    run = _rows(db, "SELECT status, flow_run_id FROM ingest_runs WHERE network = 'ecb'")
    assert run[0][0] == "completed" and run[0][1]


def test_ledger_summary_shows_the_month_in_the_base_currency(
    db: Path, prefect_harness: None, monkeypatch: pytest.MonkeyPatch
):
    from flows.summary import ledger_summary

    monkeypatch.setenv("PASSIVE_BASE_CURRENCY", "USD")
    _add_line(db, date(2022, 3, 4), "EUR", "10.0000")
    _add_line(db, date(2022, 3, 4), "USD", "2.5000")
    assert "No ECB rates in the ledger yet" in ledger_summary(db=str(db))
    assert (
        runner.invoke(
            app, ["fx", "load", str(FIXTURES / "eurofxref-hist.csv"), "--db", str(db)]
        ).exit_code
        == 0
    )
    markdown = ledger_summary(db=str(db))
    # 10 EUR at 1.0929 USD per EUR = 10.929, plus 2.50 USD.
    assert "**2022-03: net 13.43 USD**" in markdown


def test_a_ledger_from_before_fx_says_to_fetch_rates(db: Path, monkeypatch: pytest.MonkeyPatch):
    from warehouse.fx import latest_fixing_day

    monkeypatch.delenv("PASSIVE_BASE_CURRENCY", raising=False)
    _add_line(db, date(2024, 1, 5), "USD", "1.0000")
    with duckdb.connect(str(db)) as con:  # as a ledger written before migration 004 was
        con.execute("DROP MACRO TABLE revenue_monthly_in")
        con.execute("DROP MACRO TABLE revenue_daily_in")
        con.execute("DROP MACRO TABLE commissions_in")
        con.execute("DROP TABLE fx_rates")
    with duckdb.connect(str(db), read_only=True) as con:
        assert latest_fixing_day(con) is None
    result = runner.invoke(app, ["tally", "--currency", "EUR", "--db", str(db)])
    assert result.exit_code == 2
    assert "no ECB rates in the ledger yet: run `passive fx update`" in result.output
