"""Amazon Associates earnings, declared: report files (dropped in, or downloaded from the
Creators API) whose period replaces its slice of the ledger."""

from __future__ import annotations

from connectors.source import Source

SOURCE = Source(
    name="amazon",
    label="Amazon Associates",
    raw_model="amazon.earnings",
    # Earnings rows carry no order or transaction id and identical rows repeat (section 1.5):
    # a report replaces its whole period, and the warehouse numbers repeated lines.
    primary_key=(),
    disposition="replace_slice",
)
"""What `passive ingest` and `passive pull amazon` load; the model is schemas.amazon's."""
