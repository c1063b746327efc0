"""Reports opened ahead (while `passive ingest` imports) are what open_reports would give."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from connectors.amazon import AmazonReportError, open_reports
from connectors.amazon import reports as reports_module
from connectors.amazon.reports import open_reports_ahead

FIXTURES = Path(__file__).parents[1] / "fixtures" / "amazon"


@pytest.fixture(autouse=True)
def _no_leftover_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reports_module, "_AHEAD", [])


def _copy(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    target.write_bytes((FIXTURES / name).read_bytes())
    return target


def test_a_report_opened_ahead_is_served_from_the_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _copy(tmp_path, "us_earnings.csv")
    expected = open_reports(path, marketplace="US")
    open_reports_ahead([path], marketplace="US")
    reports_module._AHEAD[0].join()

    def not_again(*args: object, **kwargs: object) -> None:
        raise AssertionError("opened a second time")

    monkeypatch.setattr(reports_module, "_open_reports", not_again)
    assert open_reports(path, marketplace="US") == expected


def test_an_error_found_ahead_is_raised_by_open_reports(tmp_path: Path) -> None:
    path = tmp_path / "not-a-report.csv"
    path.write_text("hello\n", encoding="utf-8")
    open_reports_ahead([path], marketplace="US")
    with pytest.raises(AmazonReportError, match=r"^not-a-report\.csv"):
        open_reports(path, marketplace="US")


def test_other_arguments_or_a_changed_file_are_opened_again(tmp_path: Path) -> None:
    path = _copy(tmp_path, "us_earnings.csv")
    # No `Amazon.com` seller: nothing then says it is not a CA report (a US one opened as CA
    # is refused, issue 10).
    path.write_text(path.read_text(encoding="utf-8").replace("Amazon.com", "ToyShop LLC"))
    before = open_reports(path, marketplace="US")
    open_reports_ahead([path], marketplace="US")
    reports_module._AHEAD[0].join()
    # Another store: not what was opened ahead.
    assert open_reports(path, marketplace="CA")[0].currency == "CAD"
    # The file changed since: its new content, not the result opened ahead.
    text = path.read_text(encoding="utf-8")
    path.write_text(text + text.splitlines()[-1] + "\n", encoding="utf-8")
    os.utime(path, ns=(1, 1))
    after = open_reports(path, marketplace="US")
    assert after[0].content_hash != before[0].content_hash
