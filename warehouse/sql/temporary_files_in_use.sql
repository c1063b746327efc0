-- Whether this database (every connection of this process shares it) has spilled to disk.
SELECT count(*) > 0 FROM duckdb_temporary_files();
