"""impact.com bulk validation: one pass per page, and the same verdicts as the per-model path."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import httpx
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import StringConstraints, TypeAdapter

from connectors.base import DateWindow
from connectors.http import ManualClock
from connectors.impact import API, fetch_actions, make_impact_client
from connectors.settings import ImpactSettings
from flows import pull_loop
from sandbox.dataset import Dataset, render_impact_action
from schemas.impact import (
    _VALIDATOR,
    ImpactAction,
    read_actions_json,
    to_commission_line,
    validate_action_rows,
    validate_page,
)
from schemas.raw_models import raw_model
from schemas.raw_types import validate_records
from schemas.validation import lines_to_table

FIXTURES = Path(__file__).parents[1] / "fixtures" / "impact"
SID = "IRxSID123"
MISSING = object()  # a key left out of the record


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def per_model(records: list[Any], *, account: str, page: int) -> tuple[list[dict], list[tuple]]:
    """The reference: ImpactAction then CommissionLine for each record (the pre-bulk path)."""
    batch = validate_records(
        _VALIDATOR, partial(to_commission_line, account=account), records, page=page
    )
    rows = lines_to_table(batch.lines, batch.source_lines).to_pylist()
    return rows, [(r.locator, r.raw, r.reasons) for r in batch.rejects]


def bulk(records: list[Any], *, account: str, page: int) -> tuple[list[dict], list[tuple]]:
    batch = validate_page(records, account=account, page=page)
    rows = batch.table.to_pylist()
    return rows, [(r.locator, r.raw, r.reasons) for r in batch.rejects]


def test_plain_page_is_read_and_validated_in_one_pass_with_the_models_values():
    content = fixture_bytes("actions_page1.json")
    page = read_actions_json(content)
    assert page is not None and len(page.actions) == 2
    assert page.next_uri == json.loads(content)["@nextpageuri"] and page.page_label == "1"
    table = validate_action_rows(page.actions, account=SID, page=1).table
    records = json.loads(content, parse_float=Decimal)["Actions"]
    assert table.to_pylist() == per_model(records, account=SID, page=1)[0]


def test_page_with_a_bad_record_is_not_taken_in_one_pass():
    body = json.loads(fixture_bytes("actions_page2.json"))
    body["Actions"].append({"Id": "1000.9", "State": "PENDING", "Payout": "abc"})
    assert read_actions_json(json.dumps(body).encode()) is None


def test_answers_that_are_not_a_plain_actions_object_are_not_taken_in_one_pass():
    for content in (b"[]", b'{"Records": []}', b'{"Actions": [', b"\xef\xbb\xbf{}", b"\xff"):
        assert read_actions_json(content) is None


def test_bad_record_is_rejected_with_page_index_and_the_models_reasons_among_good_ones():
    records = json.loads(fixture_bytes("actions_page1.json"), parse_float=Decimal)["Actions"]
    records.insert(1, {**records[0], "Id": "1000.9", "Payout": "abc"})
    rows, rejects = bulk(records, account=SID, page=4)
    assert (rows, rejects) == per_model(records, account=SID, page=4)
    assert [r["source_line"] for r in rows] == [0, 2]
    ((locator, raw, reasons),) = rejects
    assert locator == "page 4:1" and json.loads(raw)["Id"] == "1000.9"
    assert reasons[0].startswith("Payout")


def test_odd_shapes_the_model_accepts_are_kept_with_the_models_values():
    (record,) = json.loads(fixture_bytes("actions_page2.json"), parse_float=Decimal)["Actions"]
    odd = {
        **record,
        "State": " approved ",
        "Payout": "1,234.50",
        "Amount": Decimal("99.123456"),
        "Currency": " usd ",
        "Id": 1000777,
        "SubId1": "  ",
    }
    rows, rejects = bulk([record, odd], account=SID, page=1)
    assert rejects == [] and len(rows) == 2
    assert (rows, rejects) == per_model([record, odd], account=SID, page=1)
    assert rows[1]["commission_amount"] == Decimal("1234.5000")
    assert rows[1]["sale_amount"] == Decimal("99.1235")  # CommissionLine rounds half-even


def test_account_that_commission_line_would_strip_takes_the_per_model_path():
    content = fixture_bytes("actions_page1.json")
    page = read_actions_json(content)
    assert page is not None
    records = json.loads(content, parse_float=Decimal)["Actions"]
    for account in (f" {SID} ", ""):
        batch = validate_action_rows(page.actions, account=account, page=3)
        rows = batch.table.to_pylist()
        rejects = [(r.locator, r.raw, r.reasons) for r in batch.rejects]
        assert (rows, rejects) == per_model(records, account=account, page=3)


def test_pydantic_strip_removes_only_characters_str_isspace_calls_blank():
    # The bulk path strips ledger text with pydantic and then treats what is left blank by
    # str.isspace() as unset; that equals ImpactAction's blank check only if pydantic never
    # strips a character str.isspace() keeps.
    strip = TypeAdapter(list[Annotated[str, StringConstraints(strip_whitespace=True)]])
    chars = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    stripped = strip.validate_python(chars)
    assert [c for c, s in zip(chars, stripped, strict=True) if s == "" and not c.isspace()] == []


MONEY = [
    "12.50", "0", "-3.125", "-0.0001", "99999999999999.9999", "100000000000000", "0.00001",
    "1,234.50", " 7.5 ", "", "  ", "abc", "1e3", "5.", ".5", "+5", "NaN", "Infinity", "１２",
    "1_000", 4.8, 12, True, None, Decimal("1.5"), Decimal("NaN"), [],
]  # fmt: skip
TIMESTAMPS = [
    "2024-09-10T22:42:38-07:00", "2024-09-10T22:42:38Z", "2024-09-10T23:30:00.123456+05:30",
    "2024-09-10T22:42:38", "2024-09-10", "2024-02-30T00:00:00Z", "", " ", "soon", 1700000000,
    None,
]  # fmt: skip
TEXT = ["x", "", " ", " padded ", "\x1c", "\x1cA", "\u00a0", "a\u2028", "é", 123, None, True, []]
STATES = ["PENDING", "APPROVED", "REVERSED", "pending", " APPROVED ", "NA", "", 1, None]
CURRENCIES = ["USD", "GBP", "usd", " EUR ", "US", "USDX", "€UR", "", None, 840]
IDS = ["1000.4636.158133", " 1000.2 ", "", " ", "\x1c", 123, None]
FIELDS: dict[str, list[Any]] = {
    "Id": IDS,
    "State": STATES,
    "CampaignId": TEXT,
    "CampaignName": TEXT,
    "ActionTrackerName": TEXT,
    "Payout": MONEY,
    "Amount": MONEY,
    "Currency": CURRENCIES,
    "DeltaPayout": MONEY,
    "IntendedPayout": MONEY,
    "IntendedAmount": MONEY,
    "EventDate": TIMESTAMPS,
    "CreationDate": TIMESTAMPS,
    "LockingDate": TIMESTAMPS,
    "ClearedDate": TIMESTAMPS,
    "Oid": TEXT,
    "SubId1": TEXT,
    "SubId2": TEXT,
    "SubId3": TEXT,
    "SharedId": TEXT,
}
assert set(FIELDS) == {f.alias for f in ImpactAction.model_fields.values()}
PLAIN = json.loads(fixture_bytes("actions_page1.json"), parse_float=Decimal)["Actions"][0]


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    """A plain record with a few fields swapped for edge values (or left out)."""
    record = dict(PLAIN)
    for name in draw(st.lists(st.sampled_from(sorted(FIELDS)), max_size=4, unique=True)):
        value = draw(st.sampled_from([MISSING, *FIELDS[name]]))
        if value is MISSING:
            record.pop(name, None)
        else:
            record[name] = value
    return record


@settings(max_examples=400, deadline=None)
@given(st.lists(records(), min_size=1, max_size=4), st.sampled_from([SID, f" {SID}", ""]))
def test_bulk_and_per_model_paths_agree_on_every_record(page, account):
    assert bulk(page, account=account, page=2) == per_model(page, account=account, page=2)


def _json_safe(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


@settings(max_examples=400, deadline=None)
@given(st.lists(records(), min_size=1, max_size=4))
def test_a_page_taken_in_one_pass_is_one_the_models_accept_with_the_same_values(page):
    body = {"@page": "1", "Actions": [{k: _json_safe(v) for k, v in r.items()} for r in page]}
    content = json.dumps(body).encode()
    decoded = json.loads(content, parse_float=Decimal)["Actions"]  # what the models would see
    expected_rows, expected_rejects = per_model(decoded, account=SID, page=1)
    read = read_actions_json(content)
    if read is None:
        return
    assert expected_rejects == []
    table = validate_action_rows(read.actions, account=SID, page=1).table
    assert table.to_pylist() == expected_rows
    assert table.schema == pa.Table.from_pylist(expected_rows, schema=table.schema).schema


def test_sandbox_actions_in_every_phase_are_taken_in_one_pass():
    # The demo and bench/ pull the sandbox: its Actions must stay in the plain shape, or the
    # pull silently falls back to the per-model path.
    dataset = Dataset(3, impact_actions=300, awin_transactions=1, cj_commissions=1)
    for _ in range(3):
        actions = ",".join(render_impact_action(a) for a in dataset.impact)
        page = read_actions_json(f'{{"@nextpageuri":"","Actions":[{actions}]}}'.encode())
        assert page is not None and len(page.actions) == len(dataset.impact)
        dataset.advance()


def test_fetch_falls_back_to_decoded_records_when_a_page_is_not_plain():
    body = json.loads(fixture_bytes("actions_page2.json"))
    body["Actions"].append({**body["Actions"][0], "Id": "1000.8", "Payout": "1,250.00"})

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=body)

    settings = ImpactSettings(
        _env_file=None, account_sid=SID, auth_token="t0ken-abcdef", base_url="https://i.test"
    )
    api = make_impact_client(settings, clock=ManualClock(), transport=httpx.MockTransport(handler))
    window = DateWindow(datetime(2024, 9, 1, tzinfo=UTC), datetime(2024, 10, 1, tzinfo=UTC))
    model = raw_model(API.raw_model)
    (page,) = fetch_actions(api, settings, window, read=model.read_bytes)
    assert page.validated is None and page.size == 2
    assert page.records == json.loads(json.dumps(body), parse_float=Decimal)["Actions"]
    batch = pull_loop.validate(model, page, account=SID, number=1)
    assert batch.rejects == [] and batch.table.column("commission_amount").to_pylist()[1] == (
        Decimal("1250.0000")
    )
