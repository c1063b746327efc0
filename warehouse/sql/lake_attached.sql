-- Whether the database in use is a DuckLake (warehouse/lake.py attaches one) or a DuckDB file.
SELECT count(*) > 0 FROM duckdb_databases()
WHERE database_name = current_database() AND type = 'ducklake';
