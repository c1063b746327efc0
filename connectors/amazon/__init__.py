"""Amazon Associates Fee-Earnings reports: open, check and stream them as raw rows."""

from .columns import CANONICAL_COLUMNS, HEADER_ALIASES, OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from .errors import AmazonReportError
from .marketplaces import MARKETPLACES, Marketplace, get_marketplace
from .reports import (
    EARNINGS_REPORT,
    ParsedChunk,
    RawBatch,
    RawChunk,
    RawLine,
    ReportFile,
    check_report_text,
    iter_raw_batches,
    open_reports,
    parse_chunk,
)

__all__ = [
    "CANONICAL_COLUMNS",
    "EARNINGS_REPORT",
    "HEADER_ALIASES",
    "MARKETPLACES",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "AmazonReportError",
    "Marketplace",
    "ParsedChunk",
    "RawBatch",
    "RawChunk",
    "RawLine",
    "ReportFile",
    "check_report_text",
    "get_marketplace",
    "iter_raw_batches",
    "open_reports",
    "parse_chunk",
]
