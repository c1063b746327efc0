"""The whole-file text check can wait until a report is loaded; the hash never changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.amazon import AmazonReportError, check_report_text, open_reports
from connectors.amazon.reports import _Utf8Check

FIXTURES = Path(__file__).parents[1] / "fixtures" / "amazon"


def latin1_report(tmp_path: Path, good_rows: int = 0) -> Path:
    """The US fixture with one Latin-1 byte on line 5 + good_rows (good rows come first)."""
    path = tmp_path / "latin1.csv"
    lines = (FIXTURES / "us_earnings.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    text = "".join([*lines[:2], *[lines[2]] * good_rows, *lines[2:]])
    path.write_bytes(text.replace("Café", "Caf\udce9").encode("utf-8", "surrogateescape"))
    return path


def test_the_hash_is_the_same_with_or_without_the_text_check() -> None:
    for name in ("us_earnings.csv", "us_direct_crlf_bom.csv", "us_legacy.tsv"):
        checked = open_reports(FIXTURES / name, marketplace="US")
        hashed = open_reports(FIXTURES / name, marketplace="US", check_text=False)
        assert hashed == checked


def test_a_deferred_text_check_still_names_the_line(tmp_path: Path) -> None:
    # Past the first read-ahead: bad bytes there already fail the title and header read.
    path = latin1_report(tmp_path, good_rows=5_000)
    [report] = open_reports(path, marketplace="US", check_text=False)
    with pytest.raises(AmazonReportError, match=r"^latin1\.csv:5005: byte 0xe9 is not valid"):
        check_report_text(report)


def test_the_title_and_header_are_checked_even_without_the_text_check(tmp_path: Path) -> None:
    path = tmp_path / "latin1-header.csv"
    text = (FIXTURES / "us_earnings.csv").read_text(encoding="utf-8")
    path.write_bytes(text.replace("Category", "Cat\udce9gory").encode("utf-8", "surrogateescape"))
    with pytest.raises(AmazonReportError, match=r"^latin1-header\.csv:2: byte 0xe9"):
        open_reports(path, marketplace="US", check_text=False)


def test_a_good_report_passes_the_deferred_check() -> None:
    for report in open_reports(FIXTURES / "us_earnings.csv", marketplace="US", check_text=False):
        check_report_text(report)


@settings(max_examples=300)
@given(
    lines=st.lists(
        st.one_of(
            st.text(max_size=40).map(lambda s: s.encode("utf-8", "surrogatepass")),
            st.binary(max_size=40),
        ),
        max_size=12,
    ),
    chunk=st.integers(min_value=1, max_value=64),
)
def test_the_fast_utf8_check_agrees_with_pythons_decoder(lines: list[bytes], chunk: int) -> None:
    """Arrow's check, fed line-aligned in chunks of any size, accepts exactly what Python
    decodes (surrogates, overlong forms, cut characters and stray continuation bytes too)."""
    data = b"\n".join(lines)
    check = _Utf8Check()
    for start in range(0, len(data), chunk):
        check.feed(data[start : start + chunk])
    try:
        data.decode("utf-8")
        decodes = True
    except UnicodeDecodeError:
        decodes = False
    assert check.finish() == decodes


def test_a_hash_only_open_finds_the_same_content_and_counts_no_lines() -> None:
    for name in ("us_earnings.csv", "us_direct_crlf_bom.csv", "us_legacy.tsv"):
        [checked] = open_reports(FIXTURES / name, marketplace="US")
        [hashed] = open_reports(
            FIXTURES / name, marketplace="US", check_text=False, count_lines=False
        )
        assert hashed.content_hash == checked.content_hash
        assert checked.data_lines > 0
        assert hashed.data_lines == -1  # unknown: such a report is never loaded
