"""Reading the ECB's rate files in their real shapes: wide CSV, zip, the 90-day and daily XML."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.ecb import RatesFileError, parse_rates, read_rates_file
from flows.fx_steps import FxInputError, validated
from schemas.fx import FxFixing, FxFixingError, validate_fixing

FIXTURES = Path(__file__).parents[1] / "fixtures" / "ecb"


def _fixings(path: Path) -> dict[tuple[date, str], Decimal]:
    return {(f.day, f.currency): f.per_eur for _, f in validated(read_rates_file(path))}


def test_wide_csv_skips_trailing_column_and_na_cells():
    fixings = _fixings(FIXTURES / "eurofxref-hist.csv")
    # 6 days x 10 currencies, less CYP (all N/A) and RUB's 3 suspended days.
    assert len(fixings) == 6 * 10 - 6 - 3
    assert fixings[(date(2022, 3, 4), "USD")] == Decimal("1.0929")
    assert fixings[(date(2022, 3, 1), "RUB")] == Decimal("117.2966")
    assert (date(2022, 3, 2), "RUB") not in fixings
    assert not any(currency in ("CYP", "") for _, currency in fixings)
    assert all(rate > 0 for rate in fixings.values())


def test_csv_keeps_the_published_decimal_string():
    fixings = _fixings(FIXTURES / "eurofxref-hist.csv")
    assert str(fixings[(date(2022, 3, 4), "CZK")]) == "25.620"
    assert str(fixings[(date(2022, 3, 4), "IDR")]) == "15723.79"


def test_zip_of_the_csv_reads_like_the_csv(tmp_path: Path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(FIXTURES / "eurofxref-hist.csv", "eurofxref-hist.csv")
    path = tmp_path / "eurofxref-hist.zip"
    path.write_bytes(buffer.getvalue())
    assert _fixings(path) == _fixings(FIXTURES / "eurofxref-hist.csv")


def test_90_day_xml_reads_every_day_and_currency():
    fixings = _fixings(FIXTURES / "eurofxref-hist-90d.xml")
    assert len(fixings) == 8
    assert fixings[(date(2024, 1, 5), "GBP")] == Decimal("0.86008")
    assert fixings[(date(2024, 1, 8), "IDR")] == Decimal("17013.86")


def test_daily_xml_and_daily_csv_agree():
    xml = _fixings(FIXTURES / "eurofxref-daily.xml")
    csv = _fixings(FIXTURES / "eurofxref.csv")
    assert (
        xml
        == csv
        == {
            (date(2024, 1, 8), "USD"): Decimal("1.0946"),
            (date(2024, 1, 8), "JPY"): Decimal("158.16"),
            (date(2024, 1, 8), "GBP"): Decimal("0.85913"),
        }
    )


def test_a_file_that_is_not_rates_names_its_first_line():
    with pytest.raises(RatesFileError, match=r"report\.csv:1: expected the ECB's CSV header"):
        list(parse_rates(b"Date;Amount\n2024-01-01;3\n", "report.csv"))


def test_broken_xml_names_the_line():
    with pytest.raises(RatesFileError, match=r"rates\.xml:2:"):
        list(parse_rates(b"<Cube>\n<Cube time='2024-01-05'>", "rates.xml"))


def test_a_zero_rate_is_refused_with_its_place():
    content = b"Date,USD,\n2024-01-05,0,\n"
    with pytest.raises(FxInputError, match=r"rates\.csv:2 USD: not a fixing .*greater than 0"):
        list(validated(_rates(content, "rates.csv")))


def test_a_rate_with_more_than_six_decimals_is_refused():
    with pytest.raises(FxFixingError, match="more than 6 decimal places"):
        validate_fixing({"day": "2024-01-05", "currency": "USD", "per_eur": "1.0000001"}, where="x")


def test_a_float_rate_is_refused():
    with pytest.raises(FxFixingError, match="binary float"):
        validate_fixing({"day": "2024-01-05", "currency": "USD", "per_eur": 1.09}, where="x")


def test_fixing_model_reads_the_strings_as_published():
    fixing = validate_fixing(
        {"day": "2024-01-05", "currency": "JPY", "per_eur": "158.48"}, where="x"
    )
    assert fixing == FxFixing(day=date(2024, 1, 5), currency="JPY", per_eur=Decimal("158.48"))


def _rates(content: bytes, name: str):
    from connectors.ecb import RatesFile

    return RatesFile(name, content)


def test_a_eur_column_at_one_is_the_implied_euro_and_lowercase_codes_are_read():
    content = b"Date,eur,usd,\n2024-01-05,1.0000,1.0921,\n"
    fixings = [(f.currency, f.per_eur) for _, f in validated(_rates(content, "hand.csv"))]
    assert fixings == [("USD", Decimal("1.0921"))]


def test_a_eur_rate_other_than_one_is_refused():
    with pytest.raises(FxInputError, match="EUR is the reference currency"):
        list(validated(_rates(b"Date,EUR,\n2024-01-05,1.1,\n", "hand.csv")))
