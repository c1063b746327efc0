"""Bench inputs: seeded Amazon earnings reports of any size and a large generated ledger."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from bench.harness import OUT
from sandbox.amazon_reports import write_earnings_report

PERIOD = (date(2025, 1, 1), date(2025, 12, 31))  # a year: twelve monthly slices of one report
TRACKING_IDS = ("passiveblog-20", "passivenews-20", "passivevideo-20", "deals-20", "yt-20")


def report_path(lines: int, seed: int) -> Path:
    """Where the report of `lines` lines and `seed` is cached."""
    return OUT / "data" / f"Fee-Earnings-US-{lines}-seed{seed}.csv"


def ensure_report(lines: int, seed: int) -> Path:
    """Write (once) a US Fee-Earnings report for 2025 with `lines` data lines.

    sandbox.amazon_reports writes it: names with commas, quotes and non-ASCII letters,
    returns as negative lines, repeated identical lines, several tracking ids, dates over the
    whole year, streamed to disk so any size fits in memory.
    """
    path = report_path(lines, seed)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    write_earnings_report(
        partial,
        marketplace="US",
        period_start=PERIOD[0],
        period_end=PERIOD[1],
        lines=lines,
        seed=seed,
        tracking_ids=TRACKING_IDS,
    )
    partial.rename(path)
    return path


def ensure_ledger(lines: int, seed: int) -> Path:
    """Build (once) a ledger holding `lines` commission lines, generated in SQL inside DuckDB.

    The rows are made by DuckDB from `range()`, not by our parser: this input exists to time
    queries over a big ledger, and building 10M lines through validation would only measure
    the ingest again. Three accounts, two currencies, all four statuses, a year of dates.
    """
    path = OUT / "data" / f"ledger-{lines}-seed{seed}.duckdb"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    from warehouse.connection import open_ledger

    con = open_ledger(partial)
    try:
        con.execute(
            """
            INSERT INTO commission_lines BY NAME
            SELECT
                'amazon' AS network,
                'bench-' || (i % 3) AS account,
                md5((i + $seed)::VARCHAR) AS line_id,
                DATE '2025-01-01' + CAST(hash(i + $seed) % 365 AS INTEGER) AS event_date,
                NULL::TIMESTAMPTZ AS event_at,
                ['pending', 'approved', 'paid', 'reversed'][1 + (i % 4)::INTEGER] AS status,
                ((hash(i * 7 + $seed) % 100000) / 100.0)::DECIMAL(18, 4) AS sale_amount,
                ((hash(i * 13 + $seed) % 5000) / 100.0)::DECIMAL(18, 4) AS commission_amount,
                CASE WHEN i % 3 = 2 THEN 'EUR' ELSE 'USD' END AS currency,
                1 AS quantity,
                'Books' AS program,
                'B0' || (i % 100000) AS product_id,
                'Product ' || (i % 100000) AS product_name,
                'tag-' || (i % 5) || '-20' AS tracking_id,
                'bench' AS first_run_id,
                'bench' AS last_run_id,
                TIMESTAMPTZ '2026-01-01 00:00:00+00' AS updated_at
            FROM range($lines) AS t(i)
            """,
            {"lines": lines, "seed": seed},
        )
    finally:
        con.close()
    partial.rename(path)
    return path
