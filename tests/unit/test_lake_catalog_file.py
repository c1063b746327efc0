"""lake.parse on a SQLite catalog file: a file another writer is creating is waited for, not
refused; an empty or foreign file is still refused in one line."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from warehouse import lake


def test_a_catalog_file_whose_header_comes_while_we_look_is_accepted(tmp_path: Path) -> None:
    catalog = tmp_path / "ledger.sqlite"
    catalog.write_bytes(b"")
    writer = threading.Timer(0.3, lambda: catalog.write_bytes(b"SQLite format 3\x00" + b"\0" * 84))
    writer.start()
    try:
        spec = lake.parse(f"ducklake:sqlite:{catalog}")
    finally:
        writer.join()
    assert spec.catalog == f"sqlite:{catalog}"


def test_a_catalog_file_that_stays_empty_is_refused_as_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lake, "_CREATING_GRACE", 0.2)
    catalog = tmp_path / "ledger.sqlite"
    catalog.write_bytes(b"")
    with pytest.raises(lake.LakeSpecError, match="an empty file, not a DuckLake catalog"):
        lake.parse(f"ducklake:sqlite:{catalog}")


def test_a_catalog_file_of_other_bytes_is_refused_at_once(tmp_path: Path) -> None:
    catalog = tmp_path / "ledger.sqlite"
    catalog.write_bytes(b"not a database\n")
    with pytest.raises(lake.LakeSpecError, match="not a SQLite database"):
        lake.parse(f"ducklake:sqlite:{catalog}")
