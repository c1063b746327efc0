"""`income_monthly` equals hand sums, and the README's SQL runs on a real ledger file."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warehouse.connection import ledger

README = Path(__file__).parents[2] / "README.md"
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
D = Decimal

# (network, account, line_id, event_date, status, commission, currency): every network and
# status, a refund, a CJ restatement pair, and two currencies in one network and month.
LINES = [
    ("amazon", "us", "a1", date(2026, 10, 3), "approved", D("10.00"), "USD"),
    ("amazon", "us", "a2", date(2026, 10, 9), "approved", D("-2.50"), "USD"),  # a return
    ("impact", "S1", "i1", date(2026, 10, 4), "pending", D("5.00"), "USD"),
    ("impact", "S1", "i2", date(2026, 10, 5), "approved", D("7.00"), "USD"),
    ("impact", "S1", "i3", date(2026, 10, 6), "paid", D("3.00"), "USD"),
    ("impact", "S1", "i4", date(2026, 10, 7), "reversed", D("12.50"), "USD"),
    ("impact", "S1", "i5", date(2026, 11, 1), "reversed", D("1.25"), "USD"),
    ("awin", "P9", "w1", date(2026, 10, 30), "reversed", D("4.00"), "GBP"),
    ("awin", "P9", "w2", date(2026, 10, 31), "pending", D("1.10"), "GBP"),
    ("awin", "P9", "w3", date(2026, 10, 31), "paid", D("2.20"), "EUR"),
    ("cj", "C7", "c1", date(2026, 10, 2), "paid", D("7.781"), "USD"),
    ("cj", "C7", "c2", date(2026, 10, 2), "pending", D("-7.781"), "USD"),  # restatement
    ("cj", "C7", "c3", date(2026, 10, 2), "pending", D("3.000"), "USD"),
]
# month, network, account, currency -> earned, pending, reversed, net, lines (by hand)
EXPECTED = {
    (date(2026, 10, 1), "amazon", "us", "USD"): (D("7.50"), D(0), D(0), D("7.50"), 2),
    (date(2026, 10, 1), "impact", "S1", "USD"): (D("10.00"), D("5.00"), D("12.50"), D("15.00"), 4),
    (date(2026, 11, 1), "impact", "S1", "USD"): (D(0), D(0), D("1.25"), D(0), 1),
    (date(2026, 10, 1), "awin", "P9", "GBP"): (D(0), D("1.10"), D("4.00"), D("1.10"), 2),
    (date(2026, 10, 1), "awin", "P9", "EUR"): (D("2.20"), D(0), D(0), D("2.20"), 1),
    (date(2026, 10, 1), "cj", "C7", "USD"): (D("7.781"), D("-4.781"), D(0), D("3.000"), 3),
}
STATUSES = ("pending", "approved", "paid", "reversed")


def insert(con: duckdb.DuckDBPyConnection, lines: list[tuple], run_id: str = "run-1") -> None:
    con.executemany(
        "INSERT INTO commission_lines (network, account, line_id, event_date, status,"
        " sale_amount,"
        " commission_amount, currency, program, tracking_id, first_run_id, last_run_id,"
        " updated_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?, 'Acme', 'tag-20', ?, ?, ?)",
        [(*line, run_id, run_id, NOW) for line in lines],
    )


def income(con: duckdb.DuckDBPyConnection) -> dict[tuple, tuple]:
    rows = con.execute(
        "SELECT month, network, account, currency, earned, pending, reversed, net, lines"
        " FROM income_monthly"
    ).fetchall()
    return {tuple(row[:4]): tuple(row[4:]) for row in rows}


@pytest.fixture
def fixture_ledger(tmp_path: Path) -> Path:
    db = tmp_path / "ledger.duckdb"
    with ledger(db) as con:
        insert(con, LINES)
    return db


def test_income_monthly_equals_the_hand_sums_for_every_network_and_status(fixture_ledger):
    with duckdb.connect(str(fixture_ledger), read_only=True) as con:
        got = income(con)
        columns = [c[0] for c in con.execute("DESCRIBE income_monthly").fetchall()]
    assert columns == [
        "month", "network", "account", "currency", "earned", "pending", "reversed", "net", "lines"
    ]  # fmt: skip
    assert got == EXPECTED


def test_a_reversed_amount_is_never_in_net_whatever_it_is(fixture_ledger):
    with duckdb.connect(str(fixture_ledger), read_only=True) as con:
        before = income(con)
        con.close()
    with ledger(fixture_ledger) as con:
        con.execute("UPDATE commission_lines SET commission_amount = 999 WHERE status = 'reversed'")
        after = income(con)
    assert {key: row[3] for key, row in after.items()} == {
        key: row[3] for key, row in before.items()
    }
    assert after[(date(2026, 10, 1), "impact", "S1", "USD")][2] == D("999.0000")


MONEY = st.decimals(min_value=-10_000, max_value=10_000, places=4, allow_nan=False)
LINE = st.tuples(
    st.sampled_from(["amazon", "impact", "awin", "cj"]),
    st.sampled_from(["A", "B"]),
    st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 12, 31)),
    st.sampled_from(STATUSES),
    MONEY,
    st.sampled_from(["USD", "EUR", "GBP"]),
)


@pytest.fixture(scope="module")
def scratch_ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("income") / "ledger.duckdb"
    with ledger(db):
        pass
    return db


@settings(max_examples=40, deadline=None)
@given(lines=st.lists(LINE, min_size=1, max_size=40))
def test_income_monthly_equals_sums_by_status_on_any_ledger(scratch_ledger, lines):
    rows = [(n, a, f"l{i}", d, s, m, c) for i, (n, a, d, s, m, c) in enumerate(lines)]
    want: dict[tuple, list] = defaultdict(lambda: [D(0), D(0), D(0), D(0), 0])
    for network, account, _, day, status, money, currency in rows:
        slot = want[(day.replace(day=1), network, account, currency)]
        column = {"approved": 0, "paid": 0, "pending": 1, "reversed": 2}[status]
        slot[column] += money
        if status != "reversed":
            slot[3] += money
        slot[4] += 1
    with ledger(scratch_ledger) as con:
        con.execute("DELETE FROM commission_lines")
        insert(con, rows)
        assert income(con) == {key: tuple(value) for key, value in want.items()}


def readme_sql() -> list[str]:
    """The fenced ```sql blocks of README's "Ask the ledger in SQL" section."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### Ask the ledger in SQL", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sql\n(.*?)```", section, flags=re.DOTALL)


def test_the_readme_shows_the_five_first_questions():
    assert len(readme_sql()) == 5


@pytest.mark.parametrize("number", range(5))
def test_each_readme_query_runs_on_a_real_ledger_and_answers(fixture_ledger, number):
    today = datetime.now(UTC).date()
    with ledger(fixture_ledger) as con:
        insert(con, [("impact", "S1", "today", today, "approved", D("4.20"), "USD")], "run-2")
        con.execute(
            "INSERT INTO ingest_runs (run_id, source, network, account, status, started_at)"
            " VALUES ('run-1', 'api', 'impact', 'S1', 'completed', ?),"
            " ('run-2', 'api', 'impact', 'S1', 'completed', ?)",
            [datetime(2026, 1, 1, tzinfo=UTC), NOW],
        )
        con.execute(
            "INSERT INTO commission_change_rows VALUES ('run-2', 'impact', 'S1', 'today',"
            " 'inserted',"
            " NULL, 'approved', NULL, 0, NULL, 4.20, 'USD', ?, ?, 0)",
            [today, NOW],
        )
    query = readme_sql()[number]
    with duckdb.connect(str(fixture_ledger), read_only=True) as con:
        rows = con.execute(query).fetchall()
    assert rows, f"README query {number + 1} answered nothing:\n{query}"
    if number == 0:
        assert ("impact", "USD", D("4.2000"), D(0), D(0), D("4.2000"), 1) in rows
    if number == 4:
        assert [row[:3] for row in rows] == [("inserted", "impact", "today")]
