"""The ledger's `network` values, defined once (light: the CLI's quick re-ingest imports it)."""

from __future__ import annotations

AMAZON = "amazon"
IMPACT = "impact"
AWIN = "awin"
CJ = "cj"
