"""Benchmarks against peers (dlt) and the physical limit (DuckDB's own reader); not tests."""
