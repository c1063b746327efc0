-- DuckDB's default again: bulk appends written ahead of the commit.
SET SESSION enable_optimistic_write = true;
