-- The DuckLake catalog of the database in use ("sqlite:/abs/ledger.sqlite", "postgres:..."),
-- no row for a DuckDB file (warehouse/lake.py attaches a lake as `ledger`).
SELECT path FROM duckdb_databases()
WHERE database_name = current_database() AND type = 'ducklake';
