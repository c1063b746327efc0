"""Bench inputs: seeded Amazon earnings reports of any size and a large generated ledger."""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

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


# The three shapes of report the ingest is raced on (issue 17):
#   repeats   the sandbox generator's report: a 60-product catalogue, so lines repeat a lot
#             (617k distinct texts per million lines);
#   distinct  every line distinct (unique names and ASINs), CRLF line ends, same columns;
#   real      like a real report: mostly distinct lines, a few percent repeated exactly.
Case = Literal["repeats", "distinct", "real"]
CASES: tuple[Case, ...] = ("repeats", "distinct", "real")
_REAL_REPEATS = 0.03  # a line repeating the one before it (two identical sales of one item)
_WORDS = ("USB-C Cable", "Cast Iron Skillet", "Crème Brûlée Torch", '"The Martian": A Novel',
          "Kindle Paperwhite — 16 GB", "Wooden Train Set", "日本茶 Sencha", "Yoga Mat (6 mm)",
          "Throw Pillow, 18\"x18\"", "Ñandú Shea Butter")  # fmt: skip
_CATEGORIES = ("Electronics", "Kitchen", "Books", "Toys", "Home", "Sports", "Beauty", "Grocery")
_SELLERS = ("Amazon.com", "Amazon.com", "ToyShop LLC", 'Bob\'s "Best" Deals', "")
_DEVICES = ("DESKTOP", "PHONE", "PHONE", "TABLET", "OTHER")
_PRICES = (499, 999, 1299, 1999, 2990, 4999, 8999, 12999, 24999, 123456)


def case_path(case: Case, lines: int, seed: int) -> Path:
    """Where the report of one bench case is cached."""
    if case == "repeats":
        return report_path(lines, seed)
    return OUT / "data" / f"Fee-Earnings-US-{case}-{lines}-seed{seed}.csv"


def ensure_case(case: Case, lines: int, seed: int) -> Path:
    """Write (once) the report of one bench case (see CASES) and return its path."""
    if case == "repeats":
        return ensure_report(lines, seed)
    path = case_path(case, lines, seed)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    _write_mostly_distinct(
        partial, lines, seed, repeats=0.0 if case == "distinct" else _REAL_REPEATS,
        crlf=case == "distinct",
    )  # fmt: skip
    partial.rename(path)
    return path


def _money(minor: int) -> str:
    whole, cents = divmod(abs(minor), 100)
    return f"{'-' if minor < 0 else ''}{whole}.{cents:02d}"


def _write_mostly_distinct(
    path: Path, lines: int, seed: int, *, repeats: float, crlf: bool
) -> None:
    """A US report whose lines are distinct unless repeated on purpose (`repeats` of them).

    Each line names its own product (a unique name and ASIN drawn from the line's number), so
    no two lines share a text by chance; 3% are returns (negative amounts, Items Shipped 0).
    Streamed to disk, so any size fits in memory.
    """
    rng = random.Random(f"bench-{seed}")
    newline = "\r\n" if crlf else "\n"
    days = (PERIOD[1] - PERIOD[0]).days + 1
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator=newline)
        out.write(f"Fee-Earnings reports from 01-01-2025 to 12-31-2025{newline}")
        writer.writerow(("Category", "Name", "ASIN", "Seller", "Tracking ID", "Date Shipped",
                         "Price($)", "Items Shipped", "Returns", "Revenue($)", "Ad Fees($)",
                         "Device Type Group"))  # fmt: skip
        row: list[str] = []
        for number in range(lines):
            if row and rng.random() < repeats:
                writer.writerow(row)
                continue
            day = PERIOD[0] + timedelta(days=number * days // lines)
            price = rng.choice(_PRICES)
            returned = rng.random() < 0.03
            quantity = -1 if returned else rng.choice((1, 1, 1, 1, 2, 3))
            sales = price * quantity
            fee = round(abs(sales) * rng.choice((1, 3, 4, 7)) / 100) * (-1 if returned else 1)
            row = [
                rng.choice(_CATEGORIES),
                f"{rng.choice(_WORDS)} #{number:08d}",
                f"B{seed % 10}{number:08X}",
                rng.choice(_SELLERS),
                rng.choice(TRACKING_IDS),
                day.isoformat(),
                _money(price),
                "0" if returned else str(quantity),
                "1" if returned else "0",
                _money(sales),
                _money(fee),
                rng.choice(_DEVICES),
            ]
            writer.writerow(row)


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
