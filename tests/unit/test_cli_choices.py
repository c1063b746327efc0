"""The CLI's fixed choices are the tables they stand for, and a bad one is one clear line."""

from __future__ import annotations

from typing import get_args

import pytest
from typer.testing import CliRunner

from connectors import known_networks
from connectors.amazon.marketplaces import MARKETPLACES, MarketplaceCode
from flows.cli import app
from schemas.networks import AMAZON, AWIN, CJ, IMPACT, Network
from warehouse.tally import GROUPS, TallyBy


def test_the_marketplace_choices_are_the_marketplace_table_in_its_order():
    assert [code.value for code in MarketplaceCode] == list(MARKETPLACES)


def test_the_network_choices_are_every_network_the_connectors_know():
    assert sorted(n.value for n in Network) == list(known_networks())
    assert {AMAZON, AWIN, CJ, IMPACT} == {n.value for n in Network}
    assert all(type(name) is str for name in (AMAZON, AWIN, CJ, IMPACT))  # plain, for SQL


def test_the_group_choices_are_the_tally_groups():
    assert list(get_args(TallyBy)) == list(GROUPS)


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["tally", "--by", "weekly"], ["'weekly' is not one of month, day, network"]),
        (["tally", "--format", "xml"], ["'xml' is not one of table, csv, json"]),
        (["tally", "--network", "amazn"], ["'amazn' is not one of amazon, awin, cj, impact"]),
        (["pull", "nope"], ["'nope' is not one of amazon, awin, cj, impact", "pull --help"]),
        (["ingest", "a.csv", "--account", "me", "--marketplace", "XX"], ["'XX' is not one of"]),
        (["ingest", "a.csv"], ["Missing option '--account'"]),
        (["rejects", "--bogus"], ["No such option: --bogus"]),
    ],
)
def test_a_usage_mistake_is_one_error_line_naming_the_choices(args, fragments):
    result = CliRunner().invoke(app, args)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def test_a_marketplace_is_taken_in_any_case(tmp_path):
    # Validation passes (a lowercase store is the store); the missing file is what stops it.
    db = str(tmp_path / "l.duckdb")
    result = CliRunner().invoke(
        app, ["ingest", "no-such.csv", "--account", "me", "--marketplace", "uk", "--db", db]
    )
    assert "no-such.csv: no such file" in result.stderr
    assert not (tmp_path / "l.duckdb").exists()
