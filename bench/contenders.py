"""The peers we race, each run as its own process: dlt's pyarrow merge and DuckDB's read_csv.

`python -m bench.contenders dlt|duckdb REPORT DB` loads REPORT into the DuckDB file DB.
Both read the same Fee-Earnings CSV our `passive ingest` reads, skip its title line, and type
the columns as the ledger does (money DECIMAL(18,4), dates DATE, counts INTEGER). Neither
validates a line, numbers repeats, records rejects or keeps a period slice: they are the
fastest peer path and the physical limit, not equivalents.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Column names and types of a US Fee-Earnings report (the generator's layout), in file order.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("category", "VARCHAR"),
    ("name", "VARCHAR"),
    ("asin", "VARCHAR"),
    ("seller", "VARCHAR"),
    ("tracking_id", "VARCHAR"),
    ("date_shipped", "DATE"),
    ("price", "DECIMAL(18,4)"),
    ("items_shipped", "INTEGER"),
    ("returns", "INTEGER"),
    ("revenue", "DECIMAL(18,4)"),
    ("ad_fees", "DECIMAL(18,4)"),
    ("device_type_group", "VARCHAR"),
)


def load_with_duckdb(report: Path, db: Path) -> int:
    """DuckDB's own typed CSV reader straight into a table: the limit for this file."""
    import duckdb

    types = ", ".join(f"'{name}': '{kind}'" for name, kind in COLUMNS)
    con = duckdb.connect(str(db))
    try:
        con.execute(
            f"CREATE TABLE earnings AS SELECT * FROM read_csv(?, skip = 1, header = true,"
            f" delim = ',', quote = '\"', columns = {{{types}}})",
            [str(report)],
        )
        row = con.execute("SELECT count(*) FROM earnings").fetchone()
    finally:
        con.close()
    return int(row[0]) if row else 0


def load_with_dlt(report: Path, db: Path) -> int:
    """dlt 1.31's fastest path: a typed pyarrow table, merged on a key into DuckDB."""
    import dlt
    import pyarrow as pa
    from pyarrow import csv

    arrow_types = {
        "VARCHAR": pa.string(),
        "DATE": pa.date32(),
        "DECIMAL(18,4)": pa.decimal128(18, 4),
        "INTEGER": pa.int32(),
    }
    table = csv.read_csv(
        report,
        read_options=csv.ReadOptions(skip_rows=2, column_names=[n for n, _ in COLUMNS]),
        convert_options=csv.ConvertOptions(
            column_types={name: arrow_types[kind] for name, kind in COLUMNS}
        ),
    )
    # The report has no id; the line number is the only key a generic loader can merge on.
    table = table.append_column("line_no", pa.array(range(3, 3 + table.num_rows), pa.int64()))
    pipeline = dlt.pipeline(
        pipeline_name="bench_dlt",
        destination=dlt.destinations.duckdb(str(db)),
        dataset_name="bench",
        pipelines_dir=str(db.parent / f"{db.stem}-dlt"),
    )
    pipeline.run(table, table_name="earnings", write_disposition="merge", primary_key="line_no")
    return int(table.num_rows)


def main(argv: list[str]) -> int:
    """Entry point of one contender process."""
    if len(argv) != 3 or argv[0] not in ("dlt", "duckdb"):
        print("usage: python -m bench.contenders dlt|duckdb REPORT DB", file=sys.stderr)
        return 2
    kind, report, db = argv[0], Path(argv[1]), Path(argv[2])
    rows = load_with_dlt(report, db) if kind == "dlt" else load_with_duckdb(report, db)
    print(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
