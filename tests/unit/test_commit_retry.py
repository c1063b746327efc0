"""publish.transaction: a DuckLake commit conflict runs the step again, bounded, with backoff."""

from __future__ import annotations

import logging

import duckdb
import pytest

from warehouse import lake, publish
from warehouse.lake import lake_variant

LOCKED = "TransactionContext Error: Failed to commit: Failed to commit DuckLake transaction.\n"
LOCKED += "Failed to flush changes into DuckLake: database is locked"


def _conflicting(times: int, con: duckdb.DuckDBPyConnection, calls: list[int]):
    def step() -> None:
        calls.append(1)
        con.execute("INSERT INTO t VALUES (?)", [len(calls)])
        if len(calls) <= times:
            raise duckdb.TransactionException(LOCKED)

    return step


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("CREATE TABLE t (attempt INTEGER)")
    return connection


def test_a_conflicting_commit_is_retried_until_it_lands_once_with_growing_logged_waits(
    con, caplog, monkeypatch
):
    monkeypatch.setattr(lake.random, "uniform", lambda low, high: high)  # the longest wait
    calls: list[int] = []
    waits: list[float] = []
    with caplog.at_level(logging.WARNING, logger="warehouse.publish"):
        publish.transaction(con, _conflicting(3, con, calls), what="test", sleep=waits.append)
    assert len(calls) == 4
    # Only the attempt that committed left its row: the others were rolled back.
    assert con.execute("SELECT attempt FROM t").fetchall() == [(4,)]
    assert waits == [0.05, 0.1, 0.2]
    assert [r.getMessage().split(";")[0] for r in caplog.records] == [
        "test: commit conflict with another writer (Failed to flush changes into DuckLake:"
        " database is locked)"
    ] * 3


def test_a_writer_that_keeps_conflicting_gives_up_after_the_retries_with_one_line(con, monkeypatch):
    monkeypatch.setenv("PASSIVE_COMMIT_RETRIES", "2")
    calls: list[int] = []
    with pytest.raises(publish.CommitConflictError, match=r"^test: other writers .* 3 attempts"):
        publish.transaction(con, _conflicting(99, con, calls), what="test", sleep=lambda _: None)
    assert len(calls) == 3
    assert con.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_an_error_that_is_no_conflict_is_not_retried(con):
    calls: list[int] = []

    def step() -> None:
        calls.append(1)
        raise duckdb.ConstraintException("NOT NULL constraint failed: t.attempt")

    with pytest.raises(duckdb.ConstraintException):
        publish.transaction(con, step, what="test", sleep=lambda _: None)
    assert calls == [1]


def test_backoff_doubles_from_50_ms_and_stops_growing_at_2_s(monkeypatch):
    monkeypatch.setattr(lake.random, "uniform", lambda low, high: high)
    assert [publish.backoff(n) for n in (1, 2, 3, 6, 7, 12)] == [0.05, 0.1, 0.2, 1.6, 2.0, 2.0]


def test_the_lake_variant_drops_keys_and_checks_and_keeps_key_columns_not_null():
    text = """CREATE TABLE a (
    id VARCHAR PRIMARY KEY,
    status VARCHAR NOT NULL CHECK (status IN ('x', 'y') AND length(status) = 1),
    n INTEGER CHECK (n > 0),
    PRIMARY KEY (id, status)
);"""
    assert (
        lake_variant(text)
        == """CREATE TABLE a (
    id VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    n INTEGER
);"""
    )
