"""DuckDB ledger: ordered migrations, atomic loads, stable views, connection handling."""
