-- Bulk appends kept out of the file until the commit (DuckDB 1.5.6+; warehouse/publish.py).
SET SESSION enable_optimistic_write = false;
