"""Amazon Fee-Earnings reader: every file shape users download parses to the right lines."""

from __future__ import annotations

import codecs
import tempfile
import zipfile
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.amazon import (
    MARKETPLACES,
    AmazonReportError,
    ReportFile,
    iter_raw_batches,
    open_reports,
)
from connectors.amazon.marketplaces import number_normaliser, parse_title_date
from flows.amazon_validation import validate_earnings_batch
from sandbox.amazon_reports import (
    format_amount,
    format_title_date,
    write_earnings_report,
    zip_report,
)
from schemas.commission import CommissionLine
from schemas.validation import Reject

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "amazon"


def load(
    path: Path, marketplace: str, *, batch_size: int = 50_000, **period: date
) -> tuple[list[ReportFile], list[CommissionLine], list[int], list[Reject], int]:
    """Open, stream and validate every report in `path` the way the ingest flow does."""
    reports = open_reports(path, marketplace=marketplace, **period)
    lines: list[CommissionLine] = []
    line_nos: list[int] = []
    rejects: list[Reject] = []
    read = 0
    for report in reports:
        for batch in iter_raw_batches(report, batch_size):
            validated = validate_earnings_batch(batch, report, account="acct")
            lines += validated.lines
            line_nos += validated.source_lines
            rejects += validated.rejects
            read += validated.records_read
    return reports, lines, line_nos, rejects, read


def total(lines: list[CommissionLine]) -> tuple[Decimal, Decimal]:
    return (
        sum((line.sale_amount for line in lines), Decimal(0)),
        sum((line.commission_amount for line in lines), Decimal(0)),
    )


@pytest.mark.parametrize(
    ("fixture", "marketplace", "count", "sales", "commission", "currency", "period"),
    [
        ("us_earnings.csv", "US", 5, "1111.48", "49.37", "USD", ("2020-12-01", "2020-12-31")),
        ("us_direct_crlf_bom.csv", "US", 3, "79.98", "2.81", "USD", ("2020-12-01", "2020-12-31")),
        ("uk_earnings.csv", "UK", 3, "274.48", "8.73", "GBP", ("2023-11-01", "2023-11-30")),
        ("it_earnings.csv", "IT", 4, "1258.56", "38.72", "EUR", ("2024-03-01", "2024-03-31")),
        ("us_legacy.tsv", "US", 2, "43.97", "2.64", "USD", ("2012-09-01", "2012-09-30")),
    ],
)
def test_each_report_variant_parses_to_the_cent(
    fixture: str,
    marketplace: str,
    count: int,
    sales: str,
    commission: str,
    currency: str,
    period: tuple[str, str],
) -> None:
    reports, lines, _, rejects, read = load(FIXTURES / fixture, marketplace)
    assert rejects == []
    assert len(lines) == read == count
    assert total(lines) == (Decimal(sales), Decimal(commission))
    assert {line.currency for line in lines} == {currency}
    (report,) = reports
    assert (report.period_start.isoformat(), report.period_end.isoformat()) == period
    assert report.report_type == "Fee-Earnings"
    assert report.currency == currency


def test_us_row_maps_every_ledger_field() -> None:
    _, lines, line_nos, _, _ = load(FIXTURES / "us_earnings.csv", "US")
    first = lines[0]
    assert line_nos[0] == 3  # title is line 1, header line 2
    assert first.network == "amazon"
    assert first.account == "acct"
    assert first.event_date == date(2020, 12, 3)
    assert first.event_at is None
    assert first.status == "approved"
    assert first.sale_amount == Decimal("25.98")
    assert first.commission_amount == Decimal("1.04")
    assert first.quantity == 2
    assert first.program == "Electronics"
    assert first.product_id == "B07ABCDE01"
    assert first.product_name == "USB-C Cable, 2-Pack"
    assert first.tracking_id == "myblog-20"
    assert len(first.line_id) == 32


def test_quoted_names_keep_commas_doubled_quotes_and_non_ascii() -> None:
    _, lines, _, _, _ = load(FIXTURES / "us_earnings.csv", "US")
    names = [line.product_name for line in lines]
    assert 'Lodge 12" Cast Iron Skillet' in names
    assert "Café Crème — L'été à Paris, 日本語版" in names


def test_thousands_separators_and_currency_signs_are_stripped() -> None:
    _, lines, _, _, _ = load(FIXTURES / "us_earnings.csv", "US")
    assert lines[1].sale_amount == Decimal("1049.99")  # "1,049.99", quoted
    assert lines[4].sale_amount == Decimal("39.00")  # "$39.00"


def test_return_row_is_kept_with_negative_money_and_quantity() -> None:
    _, lines, _, _, _ = load(FIXTURES / "us_earnings.csv", "US")
    returned = lines[3]
    assert (returned.sale_amount, returned.commission_amount) == (
        Decimal("-12.99"),
        Decimal("-0.52"),
    )
    assert returned.quantity == -1


def test_it_localized_header_and_comma_decimals() -> None:
    reports, lines, _, _, _ = load(FIXTURES / "it_earnings.csv", "IT")
    assert reports[0].columns[-2:] == ("device_type_group", "direct")
    tv = lines[1]
    assert tv.sale_amount == Decimal("1234.56")  # "1.234,56"
    assert tv.commission_amount == Decimal("37.04")
    assert tv.event_date == date(2024, 3, 18)  # "2024-03-18 00:00:00"
    assert tv.product_name == 'Televisore 55" 4K Ultra HD'
    assert lines[3].sale_amount == Decimal("-29.90")


def test_uk_13_column_header_with_spaces_after_commas() -> None:
    reports, lines, _, _, _ = load(FIXTURES / "uk_earnings.csv", "UK")
    assert reports[0].columns == (
        "category",
        "name",
        "asin",
        "seller",
        "tracking_id",
        "date_shipped",
        "price",
        "items_shipped",
        "returns",
        "revenue",
        "ad_fees",
        "device_type_group",
        "direct",
    )
    assert lines[0].product_name == "Dyson V8, Cordless"
    assert lines[2].product_name == 'Brontë: "Jane Eyre"'


def test_tab_separated_report_is_sniffed_and_legacy_dates_parse() -> None:
    reports, lines, _, _, _ = load(FIXTURES / "us_legacy.tsv", "US")
    assert reports[0].delimiter == "\t"
    assert [line.event_date for line in lines] == [date(2012, 9, 25), date(2012, 9, 3)]
    assert lines[0].product_name == 'Lodge 12" Skillet'  # a bare quote inside a TSV cell


def test_bom_crlf_blank_lines_and_totals_line_are_not_data() -> None:
    reports, lines, line_nos, rejects, read = load(FIXTURES / "us_direct_crlf_bom.csv", "US")
    assert rejects == []
    assert read == 3
    assert line_nos == [3, 5, 8]  # line 4 blank, 5-6 one record, 7 only commas, 9 Total
    assert reports[0].columns[0] == "category"  # the BOM is not part of the first header
    assert lines[1].product_name == 'Throw Pillow "Cozy"\r\n(2 lines in the name)'


def test_raw_text_of_a_row_is_its_original_line() -> None:
    (report,) = open_reports(FIXTURES / "us_earnings.csv", marketplace="US")
    (batch,) = iter_raw_batches(report)
    text = (FIXTURES / "us_earnings.csv").read_text(encoding="utf-8").splitlines()
    assert [line.raw for line in batch] == text[2:]
    assert batch[1].fields["price"] == "1049.99"


def make_zip(path: Path, *members: Path) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member in members:
            archive.write(member, member.name)
    return path


def test_zip_with_one_member_reads_like_the_plain_file(tmp_path: Path) -> None:
    plain = load(FIXTURES / "us_earnings.csv", "US")
    archive = make_zip(tmp_path / "download.zip", FIXTURES / "us_earnings.csv")
    zipped = load(archive, "US")
    (report,) = zipped[0]
    assert report.name == "download.zip:us_earnings.csv"
    assert report.member == "us_earnings.csv"
    assert report.source == archive
    assert report.content_hash == plain[0][0].content_hash
    assert [line.line_id for line in zipped[1]] == [line.line_id for line in plain[1]]


def test_zip_with_two_members_gives_two_reports(tmp_path: Path) -> None:
    november = tmp_path / "us_november.csv"
    november.write_text(
        (FIXTURES / "us_earnings.csv")
        .read_text(encoding="utf-8")
        .replace("from 12-01-2020 to 12-31-2020", "from 11-01-2020 to 11-30-2020", 1),
        encoding="utf-8",
    )
    archive = make_zip(tmp_path / "two.zip", FIXTURES / "us_direct_crlf_bom.csv", november)
    reports = open_reports(archive, marketplace="US")
    assert [r.name for r in reports] == [
        "two.zip:us_direct_crlf_bom.csv",
        "two.zip:us_november.csv",
    ]


def test_zip_with_two_reports_for_one_period_is_refused_naming_both(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "two.zip", FIXTURES / "us_earnings.csv", FIXTURES / "us_direct_crlf_bom.csv"
    )
    with pytest.raises(AmazonReportError) as raised:
        open_reports(archive, marketplace="US")
    message = str(raised.value)
    assert message.startswith("two.zip: members 'us_earnings.csv' (2020-12-01 to 2020-12-31)")
    assert "'us_direct_crlf_bom.csv'" in message and "second would erase" in message


def test_zip_with_the_same_report_twice_opens_both(tmp_path: Path) -> None:
    copy = tmp_path / "copy.csv"
    copy.write_bytes((FIXTURES / "us_earnings.csv").read_bytes())
    archive = make_zip(tmp_path / "twice.zip", FIXTURES / "us_earnings.csv", copy)
    assert len(open_reports(archive, marketplace="US")) == 2


def test_zip_junk_members_are_skipped(tmp_path: Path) -> None:
    archive = tmp_path / "mac.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(FIXTURES / "uk_earnings.csv", "reports/uk.csv")
        zf.writestr("__MACOSX/reports/._uk.csv", b"\x00\x05junk")
        zf.writestr(".DS_Store", b"junk")
    assert [r.name for r in open_reports(archive, marketplace="UK")] == ["mac.zip:reports/uk.csv"]


def test_zip_member_errors_name_archive_and_member(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "a.zip", FIXTURES / "us_earnings.csv", FIXTURES / "bad_header.csv"
    )
    with pytest.raises(AmazonReportError, match=r"^a\.zip:bad_header\.csv:2: "):
        open_reports(archive, marketplace="US")


def test_excel_workbook_is_refused(tmp_path: Path) -> None:
    workbook = tmp_path / "report.xlsx"
    with zipfile.ZipFile(workbook, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(
        AmazonReportError, match="Excel workbook; expected the report downloaded as CSV"
    ):
        open_reports(workbook, marketplace="US")


def test_same_content_plain_or_zipped_has_the_same_hash(tmp_path: Path) -> None:
    renamed = tmp_path / "other-name.csv"
    renamed.write_bytes((FIXTURES / "it_earnings.csv").read_bytes())
    archive = zip_report(renamed)
    hashes = {
        r.content_hash
        for path in (FIXTURES / "it_earnings.csv", renamed, archive)
        for r in open_reports(path, marketplace="IT")
    }
    assert len(hashes) == 1


def test_no_title_line_uses_the_explicit_period() -> None:
    reports, lines, line_nos, rejects, _ = load(
        FIXTURES / "no_title.csv",
        "US",
        period_start=date(2021, 1, 1),
        period_end=date(2021, 1, 31),
    )
    assert reports[0].header_line == 1
    assert (reports[0].period_start, reports[0].period_end) == (date(2021, 1, 1), date(2021, 1, 31))
    assert line_nos == [2, 3]
    assert rejects == []
    assert total(lines) == (Decimal("99.98"), Decimal("4.00"))


def test_no_title_and_no_period_is_an_error() -> None:
    with pytest.raises(AmazonReportError, match=r"^no_title\.csv:1: no title line .* period_start"):
        open_reports(FIXTURES / "no_title.csv", marketplace="US")


def test_explicit_period_overrides_the_title_and_rejects_rows_outside_it() -> None:
    reports, lines, _, rejects, _ = load(
        FIXTURES / "us_earnings.csv", "US", period_end=date(2020, 12, 15)
    )
    assert reports[0].period_end == date(2020, 12, 15)
    assert len(lines) == 3
    assert [r.locator for r in rejects] == ["us_earnings.csv:6", "us_earnings.csv:7"]
    assert rejects[0].reasons == (
        "date_shipped: 2020-12-20 is outside the report period 2020-12-01 to 2020-12-15",
    )


def test_bad_header_names_file_line_missing_and_unexpected_columns() -> None:
    with pytest.raises(AmazonReportError) as caught:
        open_reports(FIXTURES / "bad_header.csv", marketplace="US")
    message = str(caught.value)
    assert message.startswith("bad_header.csv:2: not a Fee-Earnings header")
    assert "missing columns Ad Fees (ad_fees)" in message
    assert "unexpected columns 'Clicks'" in message
    assert "; expected the columns Category, Name, ASIN" in message


def test_header_with_a_repeated_column_is_an_error(tmp_path: Path) -> None:
    text = (FIXTURES / "us_earnings.csv").read_text(encoding="utf-8")
    path = tmp_path / "twice.csv"
    path.write_text(text.replace("Device Type Group", "Price"), encoding="utf-8")
    with pytest.raises(AmazonReportError, match="repeated columns 'Price'"):
        open_reports(path, marketplace="US")


def test_fee_orders_report_is_refused() -> None:
    with pytest.raises(AmazonReportError) as caught:
        open_reports(FIXTURES / "fee_orders.csv", marketplace="US")
    assert str(caught.value).startswith(
        "fee_orders.csv:1: this is a Fee-Orders report: "
        "only Fee-Earnings reports go into the ledger"
    )


def test_unknown_marketplace_lists_the_known_ones() -> None:
    with pytest.raises(AmazonReportError) as caught:
        open_reports(FIXTURES / "us_earnings.csv", marketplace="MX")
    assert "unknown Amazon marketplace 'MX'" in str(caught.value)
    assert "US, CA, UK, DE, FR, IT, ES, JP, IN" in str(caught.value)


@pytest.mark.parametrize(
    ("marketplace", "token", "expected"),
    [
        ("US", "12-01-2020", date(2020, 12, 1)),
        ("CA", "12/31/2020", date(2020, 12, 31)),
        ("UK", "01-12-2020", date(2020, 12, 1)),
        ("IT", "31-03-2024", date(2024, 3, 31)),
        ("IN", "02.01.2025", date(2025, 1, 2)),
        ("JP", "2020-12-01", date(2020, 12, 1)),
        ("US", "2020-12-31", date(2020, 12, 31)),
        ("DE", "2020-12-31", date(2020, 12, 31)),
    ],
)
def test_title_dates_follow_the_marketplace_order(
    marketplace: str, token: str, expected: date
) -> None:
    market = MARKETPLACES[marketplace]
    assert parse_title_date(token, market, name="r.csv", line=1) == expected


def test_title_date_in_the_wrong_order_for_the_marketplace_is_an_error() -> None:
    with pytest.raises(AmazonReportError, match=r"us_earnings\.csv:1: .*'12-31-2020'.*DD-MM-YYYY"):
        open_reports(FIXTURES / "us_earnings.csv", marketplace="UK")


def test_period_that_ends_before_it_starts_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "backwards.csv"
    text = (FIXTURES / "us_earnings.csv").read_text(encoding="utf-8")
    path.write_text(text.replace("from 12-01-2020 to 12-31-2020", "from 12-31-2020 to 12-01-2020"))
    with pytest.raises(AmazonReportError, match=r"starts .* after it ends"):
        open_reports(path, marketplace="US")


def test_bad_rows_become_located_rejects_and_the_rest_of_the_batch_is_kept() -> None:
    _, lines, line_nos, rejects, read = load(FIXTURES / "bad_rows.csv", "US")
    assert read == 8
    assert line_nos == [3, 9, 10]
    source = (FIXTURES / "bad_rows.csv").read_text(encoding="utf-8").splitlines()
    by_line = {int(r.locator.rsplit(":", 1)[1]): r for r in rejects}
    assert sorted(by_line) == [4, 5, 6, 7, 8]
    for number, reject in by_line.items():
        assert reject.locator == f"bad_rows.csv:{number}"
        assert reject.raw == source[number - 1]
    assert by_line[4].reasons == ("revenue: Input should be a valid decimal (got '49.99x')",)
    assert by_line[5].reasons[0].startswith("date_shipped: ")
    assert "2020-12-01 to 2020-12-31" in by_line[6].reasons[0]
    assert "price: Field required" in by_line[7].reasons
    assert by_line[8].reasons == (
        "unexpected_cells: Extra inputs are not permitted (got 'surprise')",
    )
    assert len(lines) == 3


def test_identical_lines_get_identical_line_ids_and_are_both_kept() -> None:
    _, lines, line_nos, _, _ = load(FIXTURES / "bad_rows.csv", "US")
    dune = [line for line in lines if line.product_id == "0441172717"]
    assert len(dune) == 2
    assert dune[0].line_id == dune[1].line_id
    assert line_nos[-2:] == [9, 10]
    assert lines[0].line_id != dune[0].line_id


def test_the_same_line_in_csv_and_tsv_has_the_same_line_id(tmp_path: Path) -> None:
    tsv = tmp_path / "same.tsv"
    write_earnings_report(
        tsv,
        marketplace="UK",
        period_start=date(2024, 5, 1),
        period_end=date(2024, 5, 31),
        lines=40,
        seed=7,
        fmt="tsv",
    )
    csv_path = tmp_path / "same.csv"
    write_earnings_report(
        csv_path,
        marketplace="UK",
        period_start=date(2024, 5, 1),
        period_end=date(2024, 5, 31),
        lines=40,
        seed=7,
        bom=True,
    )
    ids_tsv = [line.line_id for line in load(tsv, "UK")[1]]
    ids_csv = [line.line_id for line in load(csv_path, "UK")[1]]
    assert ids_tsv == ids_csv


def test_batches_hold_at_most_batch_size_rows_with_running_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    write_earnings_report(
        path,
        marketplace="US",
        period_start=date(2024, 1, 1),
        period_end=date(2024, 1, 31),
        lines=1000,
        seed=1,
    )
    (report,) = open_reports(path, marketplace="US")
    batches = list(iter_raw_batches(report, batch_size=64))
    assert [len(b) for b in batches] == [64] * 15 + [40]
    assert [line.line_no for b in batches for line in b] == list(range(3, 1003))


def test_utf16_re_save_is_read(tmp_path: Path) -> None:
    path = tmp_path / "unicode.txt"
    text = (FIXTURES / "us_legacy.tsv").read_text(encoding="utf-8")
    path.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    _, lines, _, rejects, _ = load(path, "US")
    assert rejects == []
    assert total(lines) == (Decimal("43.97"), Decimal("2.64"))


def test_bytes_that_are_not_utf8_are_an_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    text = (FIXTURES / "us_earnings.csv").read_text(encoding="utf-8")
    path.write_bytes(text.replace("Café", "Caf\udce9").encode("utf-8", "surrogateescape"))
    with pytest.raises(AmazonReportError, match=r"^latin1\.csv:5: byte 0xe9 is not valid"):
        open_reports(path, marketplace="US")


def test_semicolon_re_save_is_sniffed(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_text(
        "Fee-Earnings reports from 01-03-2024 to 31-03-2024\n"
        "Categoria;Prodotto;ASIN;Venditore;TrackingID;Data Spedizione;Prezzo (€);"
        "Prodotti spediti;Resi;Ricavi (€);Commissioni pubblicitarie (€)\n"
        "Libri;Dune, ed. 2;B0ITLIBR02;Amazon.it;news0d-21;2024-03-02;16,39;1;0;16,39;1,15\n",
        encoding="utf-8",
    )
    _, lines, _, rejects, _ = load(path, "IT")
    assert rejects == []
    assert total(lines) == (Decimal("16.39"), Decimal("1.15"))


def test_empty_file_and_missing_file_are_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(AmazonReportError, match=r"^empty\.csv:1: the file ends before a header"):
        open_reports(empty, marketplace="US")
    with pytest.raises(AmazonReportError, match="no such file"):
        open_reports(tmp_path / "nope.csv", marketplace="US")


# --- properties ---------------------------------------------------------------------------

MARKETS = sorted(MARKETPLACES)


@settings(deadline=None, max_examples=200)
@given(
    minor=st.integers(min_value=-(10**15), max_value=10**15),
    marketplace=st.sampled_from(MARKETS),
    grouped=st.booleans(),
)
def test_locale_amounts_round_trip_through_the_normaliser(
    minor: int, marketplace: str, grouped: bool
) -> None:
    market = MARKETPLACES[marketplace]
    digits = 0 if market.currency == "JPY" else 2
    text = format_amount(minor, market, grouped=grouped)
    assert Decimal(number_normaliser(market)(text)) == Decimal(minor).scaleb(-digits)


@settings(deadline=None, max_examples=100)
@given(day=st.dates(min_value=date(1990, 1, 1)), marketplace=st.sampled_from(MARKETS))
def test_title_dates_round_trip(day: date, marketplace: str) -> None:
    market = MARKETPLACES[marketplace]
    assert parse_title_date(format_title_date(day, market), market, name="r", line=1) == day


@settings(deadline=None, max_examples=40)
@given(
    marketplace=st.sampled_from(MARKETS),
    start=st.dates(min_value=date(2015, 1, 1), max_value=date(2030, 1, 1)),
    days=st.integers(min_value=0, max_value=120),
    lines=st.integers(min_value=0, max_value=150),
    seed=st.integers(min_value=0, max_value=2**32),
    returns_ratio=st.sampled_from([0.0, 0.03, 0.5]),
    duplicate_ratio=st.sampled_from([0.0, 0.01, 0.3]),
    fmt=st.sampled_from(["csv", "tsv"]),
    bom=st.booleans(),
    crlf=st.booleans(),
    title=st.booleans(),
    zipped=st.booleans(),
)
def test_any_generated_report_round_trips_to_its_totals(
    marketplace: str,
    start: date,
    days: int,
    lines: int,
    seed: int,
    returns_ratio: float,
    duplicate_ratio: float,
    fmt: str,
    bom: bool,
    crlf: bool,
    title: bool,
    zipped: bool,
) -> None:
    end = date.fromordinal(start.toordinal() + days)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"report.{fmt}"
        totals = write_earnings_report(
            path,
            marketplace=marketplace,
            period_start=start,
            period_end=end,
            lines=lines,
            seed=seed,
            returns_ratio=returns_ratio,
            duplicate_ratio=duplicate_ratio,
            fmt="tsv" if fmt == "tsv" else "csv",
            bom=bom,
            title=title,
            crlf=crlf,
        )
        if zipped:
            path = zip_report(path)
        period = {} if title else {"period_start": start, "period_end": end}
        _, ledger, _, rejects, read = load(path, marketplace, batch_size=37, **period)
    assert rejects == []
    assert read == len(ledger) == totals.lines == lines
    months: dict[date, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for line in ledger:
        month = months[line.event_date.replace(day=1)]
        month[0] += line.sale_amount
        month[1] += line.commission_amount
    assert {m: (s, c) for m, (s, c) in months.items()} == {
        m: (t.sales, t.commission) for m, t in totals.months.items()
    }
    assert sum(line.quantity or 0 for line in ledger) == sum(
        t.quantity for t in totals.months.values()
    )


def test_a_file_that_is_not_a_report_says_so_before_asking_for_a_period(tmp_path: Path) -> None:
    path = tmp_path / "bank.csv"
    path.write_text("Date,Description,Amount\n2024-01-02,Coffee,-3.50\n", encoding="utf-8")
    with pytest.raises(AmazonReportError, match=r"^bank\.csv:1: not a Fee-Earnings header"):
        open_reports(path, marketplace="US")
